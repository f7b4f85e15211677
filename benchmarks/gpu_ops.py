"""How many array operations (each at least one GPU kernel launch) a train step and an inference of nnrun's
reference models issue on the CUDA code path, counted without a GPU.

Run by hand: ``python benchmarks/gpu_ops.py``. It uses the tests' CuPy stand-in (``tests/device/_fake_cupy``,
NumPy arrays that count operations), so the count is exact for nnrun's code and independent of the machine.
On a GPU every launch costs a few microseconds of Python and driver time whatever its size, so for small
models this count, not the arithmetic, bounds the step time.
"""

from __future__ import annotations

import collections
import os
import sys
import types
from typing import Any

from train_step import MODELS, nnrun_model, steps

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "tests", "device"))
import _fake_cupy


def count(nnrun: Any, fake: Any, name: str) -> list[collections.Counter[str]]:
    """Operations of one train step (SGD with momentum), of its optimizer step alone, and of one inference."""
    shape, batch, _ = MODELS[name]
    model = nnrun_model(name).to("cuda")
    train, infer = steps(nnrun, model, shape, batch, device="cuda")
    optimizer = nnrun.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)  # as the train step's own
    counts = []
    for fn in (train, optimizer.step, infer):
        fn()  # the first calls create the optimizer state (train leaves gradients for optimizer.step)
        fake.operations.clear()
        fn()
        counts.append(fake.operations.copy())
    return counts


def main() -> None:
    import nnrun
    from nnrun import _backend

    fake = _fake_cupy.FakeCupy()
    _backend._cupy, _backend._cupy_error = fake, None
    sys.modules["cupyx"] = types.SimpleNamespace(scatter_add=_fake_cupy.scatter_add)
    _fake_cupy.ndarray.recorder = fake
    header = ("model", "batch", "params", "train step", "optimizer", "inference")
    print(f"{header[0]:10s} " + " ".join(f"{h:>10s}" for h in header[1:]))
    for name in MODELS:
        counts = count(nnrun, fake, name)
        params = len(list(nnrun_model(name).parameters()))
        cells = [MODELS[name][1], params, *(sum(c.values()) for c in counts)]
        print(f"{name:10s} " + " ".join(f"{cell:10d}" for cell in cells))
        print("    train step, most frequent:", ", ".join(f"{op} {n}" for op, n in counts[0].most_common(8)))


if __name__ == "__main__":
    main()
