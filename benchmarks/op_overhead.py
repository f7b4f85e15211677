"""Per-op overhead and large-op throughput of nnrun against PyTorch, measured in the same run.

Run by hand on a quiet machine: ``python benchmarks/op_overhead.py [--rounds 7] [--threads 2]``.
Each case is written once against the shared tensor API and run with ``lib`` = nnrun and ``lib`` = torch,
each library in a worker process of its own; the two take turns, round after round (``_turns.py``), each turn
a batch of calls lasting about 50 ms, and the medians are compared.
Ratio = nnrun throughput / PyTorch throughput (above 1 means nnrun is faster).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
from collections.abc import Callable
from types import ModuleType

from _turns import LIBRARIES, Turns, set_thread_variables

Case = Callable[[ModuleType], Callable[[], object]]


def small_add(lib: ModuleType) -> Callable[[], object]:
    a, b = lib.randn(8, 8), lib.randn(8, 8)
    return lambda: a + b


def small_mul_scalar(lib: ModuleType) -> Callable[[], object]:
    a = lib.randn(8, 8)
    return lambda: a * 2.0


def small_matmul(lib: ModuleType) -> Callable[[], object]:
    a, b = lib.randn(8, 8), lib.randn(8, 8)
    return lambda: a @ b


def small_relu(lib: ModuleType) -> Callable[[], object]:
    a = lib.randn(8, 8)
    return lambda: a.relu()


def small_sum_dim(lib: ModuleType) -> Callable[[], object]:
    a = lib.randn(8, 8)
    return lambda: a.sum(dim=1)


def small_index(lib: ModuleType) -> Callable[[], object]:
    a = lib.randn(8, 8)
    return lambda: a[1:5, 2]


def small_view(lib: ModuleType) -> Callable[[], object]:
    a = lib.randn(8, 8)
    return lambda: a.view(4, 16)


def small_add_grad(lib: ModuleType) -> Callable[[], object]:
    a, b = lib.randn(8, 8, requires_grad=True), lib.randn(8, 8, requires_grad=True)
    return lambda: a + b


def small_mlp_fwd_bwd(lib: ModuleType) -> Callable[[], object]:
    """Ten ops forward and their backward on 8x8 tensors: the autograd engine's fixed cost."""
    x = lib.randn(8, 8)
    w1, w2 = lib.randn(8, 8, requires_grad=True), lib.randn(8, 8, requires_grad=True)

    def step() -> None:
        h = (x @ w1).relu()
        loss = ((h @ w2).tanh() * 0.5 - 1.0).pow(2).mean()
        loss.backward()

    return step


def large_add(lib: ModuleType) -> Callable[[], object]:
    a, b = lib.randn(1024, 1024), lib.randn(1024, 1024)
    return lambda: a + b


def large_exp(lib: ModuleType) -> Callable[[], object]:
    a = lib.randn(1024, 1024)
    return lambda: a.exp()


def large_sum(lib: ModuleType) -> Callable[[], object]:
    a = lib.randn(1024, 1024)
    return lambda: a.sum(dim=0)


def large_matmul(lib: ModuleType) -> Callable[[], object]:
    a, b = lib.randn(512, 512), lib.randn(512, 512)
    return lambda: a @ b


def large_fwd_bwd(lib: ModuleType) -> Callable[[], object]:
    """Linear + ReLU + mean forward and backward at batch 256, width 1024."""
    x = lib.randn(256, 1024)
    w = lib.randn(1024, 1024, requires_grad=True)

    def step() -> None:
        (x @ w).relu().mean().backward()

    return step


CASES: dict[str, Case] = {
    "small add": small_add,
    "small mul scalar": small_mul_scalar,
    "small matmul 8x8": small_matmul,
    "small relu": small_relu,
    "small sum(dim=1)": small_sum_dim,
    "small index [1:5, 2]": small_index,
    "small view": small_view,
    "small add (requires_grad)": small_add_grad,
    "small 2-layer fwd+bwd": small_mlp_fwd_bwd,
    "add 1024x1024": large_add,
    "exp 1024x1024": large_exp,
    "sum(dim=0) 1024x1024": large_sum,
    "matmul 512x512": large_matmul,
    "linear+relu fwd+bwd 256x1024": large_fwd_bwd,
}


def build_case(lib: ModuleType, name: str) -> Callable[[], object]:
    lib.manual_seed(0)
    return CASES[name](lib)


def format_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    return f"{seconds * 1e3:8.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating timing rounds per case")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/PyTorch threads for both libraries")
    parser.add_argument("--only", default="", help="run only cases whose name contains this text")
    args = parser.parse_args()

    set_thread_variables(args.threads)
    versions = {lib: importlib.metadata.version(lib) for lib in LIBRARIES}
    print(
        f"nnrun {versions['nnrun']} vs torch {versions['torch']}, {args.threads} threads, one process per "
        f"library taking turns, median of {args.rounds} rounds; ratio = nnrun throughput / torch throughput"
    )
    print(f"{'case':32s} {'nnrun':>11s} {'torch':>11s} {'ratio':>7s}")
    with Turns(build_case, args.threads) as turns:
        for name in CASES:
            if args.only not in name:
                continue
            calls = {lib: turns.calibrate(lib, name, 0.05) for lib in LIBRARIES}
            samples = turns.rounds([name], calls, args.rounds)
            ours, theirs = (statistics.median(samples[lib, name]) for lib in LIBRARIES)
            print(f"{name:32s} {format_time(ours)} {format_time(theirs)} {theirs / ours:7.2f}")


if __name__ == "__main__":
    main()
