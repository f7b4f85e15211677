"""The repeat-token task, generated: does the flagged first token of a sequence appear again later?

A sequence of ``length`` tokens from a vocabulary of ``vocab`` comes one-hot with one extra feature that
flags the first token, the query: inputs ``(N, length, vocab + 1)``. The label is 1 when the query's token
appears again (one to three more times), else 0; half the samples each. A mean of per-token features read by
a linear layer cannot tell the two apart: tokens have to be compared with each other, as attention does.
"""

from __future__ import annotations

import numpy as np

from nnrun.data.dataset import ArrayDataset
from nnrun.data.errors import DatasetError
from nnrun.data.transforms import BatchTransform

_SPLIT_STREAM = {"train": 1, "test": 2}


def make_repeat_token(
    count: int, length: int = 12, vocab: int = 8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` samples: inputs ``(count, length, vocab + 1)`` float32 and labels ``(count,)`` int64."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    query = rng.integers(0, vocab, count)
    # the rest of the sequence: tokens other than the query's (shifted by 1 .. vocab-1, modulo vocab) ...
    tokens = (query[:, None] + rng.integers(1, vocab, (count, length))) % vocab
    tokens[:, 0] = query
    # ... and for label 1, the query's token again at one to three later places
    for i in np.flatnonzero(labels):
        places = rng.choice(np.arange(1, length), size=rng.integers(1, min(3, length - 1) + 1), replace=False)
        tokens[i, places] = query[i]
    x = np.zeros((count, length, vocab + 1), dtype=np.float32)
    np.put_along_axis(x, tokens[..., None], 1.0, axis=-1)
    x[:, 0, vocab] = 1.0
    return x, labels.astype(np.int64)


def load_repeat_token(
    split: str = "train",
    *,
    length: int = 12,
    vocab: int = 8,
    train_size: int = 4096,
    test_size: int = 1024,
    seed: int = 0,
    transform: BatchTransform | None = None,
) -> ArrayDataset:
    """The ``split`` ("train" or "test", drawn from separate streams of ``seed``) as an ``ArrayDataset``."""
    if split not in _SPLIT_STREAM:
        raise DatasetError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    for name, value, least in (("length", length, 2), ("vocab", vocab, 2), ("train_size", train_size, 1),
                               ("test_size", test_size, 1), ("seed", seed, 0)):  # fmt: skip
        if type(value) is not int or value < least:
            raise DatasetError(f"repeat_token: {name} must be an int >= {least}, got {value!r}")
    count = train_size if split == "train" else test_size
    if count * length * (vocab + 1) > 1 << 28:
        raise DatasetError(f"repeat_token: {count:,} sequences of {length} x {vocab + 1} are too many")
    x, y = make_repeat_token(count, length, vocab, seed=seed * 3 + _SPLIT_STREAM[split])
    return ArrayDataset(x, y, transform)
