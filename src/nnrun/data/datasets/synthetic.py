"""Seeded synthetic classification sets for smoke tests: Gaussian clusters, one per class; and sequences whose
class is their first token, a task that needs memory."""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnrun._memory import too_large
from nnrun.data.dataset import ArrayDataset
from nnrun.data.errors import DatasetError, OptionError
from nnrun.data.transforms import BatchTransform

_SPLIT_STREAM = {"train": 1, "test": 2}


def split_stream(split: str) -> int:
    """The random stream a generated dataset draws ``split`` ("train" or "test") from."""
    if split not in _SPLIT_STREAM:
        raise DatasetError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    return _SPLIT_STREAM[split]


def make_classification(
    split: str = "train",
    *,
    num_samples: int | None = None,
    num_classes: int = 10,
    shape: Sequence[int] = (1, 8, 8),
    train_size: int = 2048,
    test_size: int = 512,
    separation: float = 2.0,
    noise: float = 1.0,
    seed: int = 0,
    transform: BatchTransform | None = None,
) -> ArrayDataset:
    """Float32 inputs (N, *shape) drawn around one centre per class, and balanced int64 labels (N,).

    Every split shares the class centres (drawn from ``seed``) and draws its own samples, so a model fitted
    on "train" generalises to "test". ``num_samples`` overrides the split's size.
    """
    stream = split_stream(split)
    check_classification(
        num_samples=num_samples, num_classes=num_classes, shape=shape, train_size=train_size,
        test_size=test_size, separation=separation, noise=noise, seed=seed,
    )  # fmt: skip
    n = num_samples if num_samples is not None else (train_size if split == "train" else test_size)
    shape = tuple(shape)
    features = math.prod(shape)
    centres = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    centres = separation * centres.standard_normal((num_classes, features))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))
    labels = rng.permutation(np.arange(n) % num_classes).astype(np.int64)
    x = centres[labels] + noise * rng.standard_normal((n, features))
    return ArrayDataset(x.astype(np.float32).reshape(n, *shape), labels, transform)


def check_classification(**options: Any) -> None:
    """Check :func:`make_classification`'s options (types, ranges, and that both splits fit in memory)
    before anything is drawn; raise :class:`OptionError` naming the first bad one."""
    values = inspect.signature(make_classification).bind("train", **options)
    values.apply_defaults()
    given = values.arguments
    for name in ("num_classes", "train_size", "test_size", "seed", "num_samples"):
        value = given[name]
        if value is None and name == "num_samples":
            continue
        if not _is_int(value) or value < (1 if name == "num_classes" else 0):
            least = "a positive int" if name == "num_classes" else "an int >= 0"
            raise OptionError(name, f"synthetic: {name} must be {least}, got {value!r}")
    for name in ("separation", "noise"):
        if isinstance(given[name], bool) or not isinstance(given[name], (int, float)):
            raise OptionError(name, f"synthetic: {name} must be a number, got {given[name]!r}")
    shape = given["shape"]
    if not (isinstance(shape, (list, tuple)) and shape and all(_is_int(d) and d > 0 for d in shape)):
        raise OptionError(
            "shape", f"synthetic: shape must be a non-empty list of positive ints, got {shape!r}"
        )
    sizes = (
        [given["num_samples"]] * 2
        if given["num_samples"] is not None
        else [given["train_size"], given["test_size"]]
    )
    features = math.prod(shape)
    # float32 samples of both splits, and float64 temporaries while the larger split is drawn
    needed = 4 * sum(sizes) * features + 32 * max(sizes) * features + 8 * given["num_classes"] * features
    problem = too_large(needed)
    if problem:
        name = (
            "num_samples"
            if given["num_samples"] is not None
            else ("train_size" if sizes[0] >= sizes[1] else "test_size")
        )
        name = "shape" if features > max(sizes) else name  # blame the larger factor
        raise OptionError(
            name,
            f"synthetic: {sizes[0]:,} + {sizes[1]:,} samples of shape {list(shape)} would take {problem}",
        )


def make_first_token(
    split: str = "train",
    *,
    steps: int = 8,
    tokens: int = 4,
    train_size: int = 1600,
    test_size: int = 400,
    seed: int = 0,
    transform: BatchTransform | None = None,
) -> ArrayDataset:
    """Float32 one-hot sequences (N, steps, tokens) of uniformly drawn tokens, labelled (int64) with the token
    of step 0: a model must carry it through ``steps - 1`` more steps (a recurrent layer's memory test)."""
    stream = split_stream(split)
    check_first_token(steps=steps, tokens=tokens, train_size=train_size, test_size=test_size, seed=seed)
    n = train_size if split == "train" else test_size
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))
    sequence = rng.integers(0, tokens, (n, steps))
    return ArrayDataset(
        np.eye(tokens, dtype=np.float32)[sequence], sequence[:, 0].astype(np.int64), transform
    )


def check_first_token(**options: Any) -> None:
    """Check :func:`make_first_token`'s options; raise :class:`OptionError` naming the first bad one."""
    values = inspect.signature(make_first_token).bind("train", **options)
    values.apply_defaults()
    given = values.arguments
    for name in ("steps", "tokens", "train_size", "test_size", "seed"):
        least = 1 if name in ("steps", "tokens") else 0
        if not _is_int(given[name]) or given[name] < least:
            raise OptionError(name, f"first_token: {name} must be an int >= {least}, got {given[name]!r}")
    size = given["train_size"] + given["test_size"]
    problem = too_large(
        4 * size * given["steps"] * given["tokens"]
        + 8 * max(given["train_size"], given["test_size"]) * given["steps"]
    )
    if problem:
        raise OptionError("train_size", f"first_token: {size:,} sequences would take {problem}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
