"""The repeat-token task, generated: does the flagged first token of a sequence appear again later?

A sequence of ``length`` tokens from a vocabulary of ``vocab`` comes one-hot with one extra feature that
flags the first token, the query: inputs ``(N, length, vocab + 1)``. The label is 1 when the query's token
appears again (one to three more times), else 0; half the samples each. A mean of per-token features read by
a linear layer cannot tell the two apart: tokens have to be compared with each other, as attention does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.data.dataset import ArrayDataset
from nnrun.data.datasets.synthetic import split_stream
from nnrun.data.errors import OptionError
from nnrun.data.transforms import BatchTransform


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
    stream = split_stream(split)
    check_repeat_token(length=length, vocab=vocab, train_size=train_size, test_size=test_size, seed=seed)
    count = train_size if split == "train" else test_size
    x, y = make_repeat_token(count, length, vocab, seed=seed * 3 + stream)
    return ArrayDataset(x, y, transform)


def check_repeat_token(
    *,
    length: Any = 12,
    vocab: Any = 8,
    train_size: Any = 4096,
    test_size: Any = 1024,
    seed: Any = 0,
    **_: Any,
) -> None:
    """Check :func:`load_repeat_token`'s options, so that ``nnrun validate`` reports a bad one at its line;
    raise :class:`OptionError` naming the first."""
    for name, value, least in (("length", length, 2), ("vocab", vocab, 2), ("train_size", train_size, 1),
                               ("test_size", test_size, 1), ("seed", seed, 0)):  # fmt: skip
        if type(value) is not int or value < least:
            raise OptionError(name, f"repeat_token: {name} must be an int >= {least}, got {value!r}")
    for name, count in (("train_size", train_size), ("test_size", test_size)):
        if count * length * (vocab + 1) > 1 << 28:
            raise OptionError(
                name, f"repeat_token: {count:,} sequences of {length} x {vocab + 1} are too many"
            )
