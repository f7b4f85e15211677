"""Convolution and pooling throughput of nnrun against PyTorch at ResNet-20 and LeNet-5 layer shapes.

Run by hand: ``python benchmarks/conv.py [--rounds 7] [--threads 2] [--batch 128]``. Each case times
forward + backward (or forward only with ``--forward-only``) of one layer, nnrun and torch each in a worker
process of its own, taking turns round after round (``_turns.py``), and compares medians. Ratio = nnrun
throughput / PyTorch throughput (above 1 means nnrun is faster). Timings on a shared machine are noisy: rerun
and look at the spread before trusting a single number.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
from _turns import LIBRARIES, Turns, set_thread_variables

# Calls per timed turn
CALLS = 3

# (name, in_channels, out_channels, size, kernel, stride, padding, input needs grad)
CONV_CASES = [
    ("resnet20 16->16 32px", 16, 16, 32, 3, 1, 1, True),
    ("resnet20 16->32 32px s2", 16, 32, 32, 3, 2, 1, True),
    ("resnet20 32->32 16px", 32, 32, 16, 3, 1, 1, True),
    ("resnet20 32->64 16px s2", 32, 64, 16, 3, 2, 1, True),
    ("resnet20 64->64 8px", 64, 64, 8, 3, 1, 1, True),
    ("resnet20 stem 3->16 32px", 3, 16, 32, 3, 1, 1, False),
    ("lenet 1->6 5x5 pad2 28px", 1, 6, 28, 5, 1, 2, False),
    ("lenet 6->16 5x5 14px", 6, 16, 14, 5, 1, 0, True),
]
# (name, channels, size, kernel, stride, padding)
POOL_CASES = [
    ("max 2x2 lenet 6ch 28px", 6, 28, 2, 2, 0),
    ("max 2x2 lenet 16ch 10px", 16, 10, 2, 2, 0),
    ("max 2x2 16ch 32px", 16, 32, 2, 2, 0),
    ("max 3x3/2 pad1 64ch 32px", 64, 32, 3, 2, 1),
]


def conv_case(lib: ModuleType, batch: int, case: tuple, forward_only: bool) -> Callable[[], Any]:
    _, cin, cout, size, kernel, stride, padding, input_grad = case
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, cin, size, size), dtype=np.float32), requires_grad=input_grad)
    w = lib.tensor(
        rng.standard_normal((cout, cin, kernel, kernel), dtype=np.float32) * 0.1, requires_grad=True
    )
    b = lib.tensor(np.zeros(cout, dtype=np.float32), requires_grad=True)
    conv2d = lib.nn.functional.conv2d

    def step() -> None:
        y = conv2d(x, w, b, stride=stride, padding=padding)
        if not forward_only:
            y.sum().backward()
            w.grad = b.grad = x.grad = None

    return step


def pool_case(lib: ModuleType, batch: int, case: tuple, forward_only: bool) -> Callable[[], Any]:
    _, channels, size, kernel, stride, padding = case
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, channels, size, size), dtype=np.float32), requires_grad=True)
    max_pool2d = lib.nn.functional.max_pool2d

    def step() -> None:
        y = max_pool2d(x, kernel, stride, padding)
        if not forward_only:
            y.sum().backward()
            x.grad = None

    return step


def build_case(lib: ModuleType, key: str) -> Callable[[], Any]:
    """The step of case ``key`` ("NAME@BATCH@forward" or "NAME@BATCH@both")."""
    name, batch, mode = key.split("@")
    cases = {case[0]: (case, conv_case) for case in CONV_CASES}
    cases.update({case[0]: (case, pool_case) for case in POOL_CASES})
    case, make = cases[name]
    return make(lib, int(batch), case, mode == "forward")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--forward-only", action="store_true")
    args = parser.parse_args()
    set_thread_variables(args.threads)
    mode = "forward" if args.forward_only else "forward+backward"
    print(
        f"batch {args.batch}, {mode}, {args.threads} threads, one process per library taking turns, median "
        f"of {args.rounds} rounds of {CALLS} calls (noisy if shared)"
    )
    print(f"{'case':30s} {'nnrun ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    with Turns(build_case, args.threads) as turns:
        for case in CONV_CASES + POOL_CASES:
            key = f"{case[0]}@{args.batch}@{'forward' if args.forward_only else 'both'}"
            times = turns.rounds([key], dict.fromkeys(LIBRARIES, CALLS), args.rounds)
            ours, theirs = (statistics.median(times[lib, key]) for lib in LIBRARIES)
            print(f"{case[0]:30s} {ours * 1e3:9.2f} {theirs * 1e3:9.2f} {theirs / ours:6.2f}")


if __name__ == "__main__":
    main()
