import gzip
from pathlib import Path

import numpy as np
import pytest

from nnrun.data import read_idx

MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


def write_idx(path, array, code=0x08, compress=False):
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as stream:
        stream.write(payload)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(("dtype", "code"), [(np.uint8, 0x08), (np.int32, 0x0C), (np.float32, 0x0D)])
def test_round_trip(tmp_path, dtype, code, compress):
    array = (np.arange(24).reshape(2, 3, 4) - (0 if dtype == np.uint8 else 5)).astype(dtype)
    path = tmp_path / ("data.idx.gz" if compress else "data.idx")
    write_idx(path, array, code, compress)
    loaded = read_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


def test_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "junk.idx"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match=r"junk\.idx: not an IDX file"):
        read_idx(path)


def test_truncated_data_is_an_error(tmp_path):
    path = tmp_path / "short.idx"
    write_idx(path, np.arange(10, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"short\.idx: IDX data has 15 bytes, the header announces 18"):
        read_idx(path)


@pytest.mark.skipif(not MNIST.is_dir(), reason=f"MNIST not found at {MNIST}")
def test_reads_real_mnist():
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels[:5].tolist() == [7, 2, 1, 0, 4]
