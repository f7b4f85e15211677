"""Where nnrun's train step and inference spend their time, per op family, for the four reference models.

Run by hand on a quiet machine: ``python benchmarks/profile_ops.py [--models resnet20] [--steps 4]``.
Same models, batches and steps as ``train_step.py``. Times are cProfile's own time per function (NumPy calls,
GEMMs included, are charged to the nnrun function that makes them: operators and ufuncs are not profiled
apart, built-ins such as ``np.zeros`` or ``ndarray.reshape`` are handed to their callers), grouped by family,
in ms per step; cProfile slows Python-heavy code, so read the shares, and the totals next to the unprofiled
step time.
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import functools
import os
import pstats
import re
import time
from collections import defaultdict

from train_step import MODELS, nnrun_model, steps

# (family, pattern matched against "path/file.py:function"); the first match wins.
FAMILIES = [
    (
        "conv GEMMs, gradient grid, row sums",
        r"_block_gemm$|conv_backward$|kept_weight_gradient$|rows_backward$|_RowPatches\.convolve$|fill_gradient_grid$"
        r"|channels_last_(forward|backward)$",
    ),
    (
        "patch copies",
        r"_Workspace\.(im2col|kernel_view|padded|flipped_patches)$|_RowPatches\.patch_matrix$|:shifted_copies$"
        r"|:interior$|_Block\.(patch_rows|padded)$",
    ),
    ("col2im", r"_Workspace\.col2im$|_store_input_gradient$"),
    (
        "conv output layout + setup",
        r"ops/_conv_\w+\.py:|ops/conv\.py:|stride_tricks",  # the dispatcher and geometry too
    ),
    ("BatchNorm", r"ops/normalization\.py:|modules/batchnorm\.py:"),
    ("ReLU", r"relu|unary\.py:Relu"),
    ("pooling", r"ops/pooling\.py:|modules/pooling\.py:"),
    ("linear", r"ops/linear\.py:"),
    ("loss (cross-entropy)", r"cross_entropy\.py:|modules/loss\.py:"),
    ("element-wise arithmetic (residual add, …)", r"ops/arithmetic\.py:|_broadcast\.py:"),
    ("optimizer (step, zero_grad)", r"/optim/"),
]
OTHER = "autograd engine, modules, tensors"


@functools.cache
def _classes(path: str) -> list[tuple[int, int, str]]:
    """``(first line, last line, name)`` of every class in a source file."""
    try:
        with open(path, encoding="utf-8") as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError):
        return []
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    return [(node.lineno, node.end_lineno or node.lineno, node.name) for node in classes]


def family(path: str, line: int, function: str) -> str:
    """The family of a profiled function, matched as ``path:Class.function`` (or ``path:function``)."""
    owner = [name for first, last, name in _classes(path) if first <= line <= last]
    key = f"{path.replace(os.sep, '/')}:{owner[-1] + '.' if owner else ''}{function}"
    for name, pattern in FAMILIES:
        if re.search(pattern, key):
            return name
    return OTHER


def profile(fn, count: int) -> tuple[dict[str, float], float]:
    """ms per step by family under cProfile, and the unprofiled ms per step."""
    for _ in range(2):
        fn()
    start = time.perf_counter()
    for _ in range(count):
        fn()
    plain = (time.perf_counter() - start) / count * 1e3
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        fn()
    profiler.disable()
    totals: dict[str, float] = defaultdict(float)
    for (path, line, function), (_, _, own, _, callers) in pstats.Stats(profiler).stats.items():
        if path == "~" and callers:  # a built-in (np.zeros, ndarray.reshape, ...): charged to its callers
            for (c_path, c_line, c_function), (_, _, own_here, _) in callers.items():
                totals[family(c_path, c_line, c_function)] += own_here / count * 1e3
        else:
            totals[family(path, line, function)] += own / count * 1e3
    return totals, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    parser.add_argument("--steps", type=int, default=0, help="profiled steps (default: as train_step.py)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    import nnrun

    nnrun.utils.tune_malloc()  # profile the steps as a training run runs them (Trainer.fit tunes malloc)
    order = [name for name, _ in FAMILIES] + [OTHER]
    for name in args.models.split(","):
        shape, batch, count = MODELS[name]
        train, infer = steps(nnrun, nnrun_model(name), shape, batch)
        results = [profile(fn, args.steps or max(count, 2)) for fn in (train, infer)]
        print(f"\n{name} (batch {batch}): ms per step under cProfile (share)")
        print(f"{'family':44s} {'train':>16s} {'inference':>16s}")
        for fam in order:
            cells = [totals.get(fam, 0.0) for totals, _ in results]
            if max(cells) < 0.005:
                continue
            shares = [cell / sum(totals.values()) for cell, (totals, _) in zip(cells, results)]
            print(f"{fam:44s} " + " ".join(f"{c:9.2f} ({s:4.0%})" for c, s in zip(cells, shares)))
        for label, values in (
            ("total under cProfile", [sum(totals.values()) for totals, _ in results]),
            ("step without the profiler", [plain for _, plain in results]),
        ):
            print(f"{label:44s} " + " ".join(f"{value:9.2f}       " for value in values))


if __name__ == "__main__":
    main()
