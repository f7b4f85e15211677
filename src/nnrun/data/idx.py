"""Reader for the IDX format of MNIST and Fashion-MNIST (``*-ubyte`` files, gzipped or not).

The header announces the array's shape; it is checked against the real size of the data before anything is
allocated (the file's size, or for a ``.gz`` file the most that deflate can expand it to), and the data is
then read up to that size only, so a lying header or a gzip bomb is refused with the file's name.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nnrun._memory import format_bytes, too_large

# IDX type codes (third byte of the magic number) and the big-endian dtypes they stand for
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
#: deflate expands its input at most 1032-fold (RFC 1951: a 258-byte match per 2 bits, at best).
MAX_DEFLATE_RATIO = 1032


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``.gz`` is decompressed), in native byte order.

    Raises ``ValueError`` naming the file when it is not a well-formed IDX file, its header does not match
    its data, or the data would not fit in memory.
    """
    path = Path(path)
    compressed = path.suffix == ".gz"
    try:
        with (gzip.open if compressed else open)(path, "rb") as stream:
            return _read(path, stream, compressed)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: cannot read IDX data ({error})") from error


def _read(path: Path, stream: BinaryIO, compressed: bool) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {magic.hex()})")
    ndim = magic[3]
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header")
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = np.dtype(_IDX_DTYPES[magic[2]])
    expected = math.prod(shape) * dtype.itemsize
    on_disk = os.path.getsize(path)
    if not compressed and on_disk != header + expected:
        raise ValueError(f"{path}: IDX data has {on_disk} bytes, the header announces {header + expected}")
    if compressed and expected > on_disk * MAX_DEFLATE_RATIO:
        raise ValueError(
            f"{path}: the IDX header announces shape {list(shape)} ({format_bytes(expected)}), more than "
            f"{format_bytes(on_disk)} of gzip data can hold"
        )
    problem = too_large(expected)
    if problem:
        raise ValueError(f"{path}: the IDX header announces shape {list(shape)}: {problem}")
    data, got = bytearray(expected), 0
    while got < expected:
        more = stream.readinto(memoryview(data)[got:])
        if not more:
            raise ValueError(
                f"{path}: IDX data has {header + got} bytes, the header announces {header + expected}"
            )
        got += more
    if stream.read(1):
        raise ValueError(f"{path}: IDX data goes on past the {header + expected} bytes its header announces")
    return np.frombuffer(data, dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=False)
