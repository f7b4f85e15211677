"""Data files that lie: gzip bombs, IDX headers announcing more (or less) than the data, lying .npz members,
CIFAR-10 batches of the wrong size. Each is refused before its announced size is allocated, quickly, with
the file named; and config options that would allocate absurd memory are refused at their YAML line."""

import gzip
import io
import time
import zipfile

import numpy as np
import pytest

from nnrun import _memory
from nnrun.config import ConfigError, load_training
from nnrun.data import DatasetError, load_dataset, read_idx
from nnrun.data.datasets import read_cifar_binary
from nnrun.data.datasets.npz import load_npz


def _idx_header(shape, code=0x08):
    return bytes([0, 0, code, len(shape)]) + b"".join(int(d).to_bytes(4, "big") for d in shape)


def _gzip_of_zeros(header, megabytes):
    """A gzip stream of ``header`` then ``megabytes`` MB of zeros, compressed chunk by chunk (~1000:1)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as stream:
        stream.write(header)
        chunk = bytes(1 << 20)
        for _ in range(megabytes):
            stream.write(chunk)
    return out.getvalue()


IDX_CASES = {  # file name, bytes, what the error says
    "header announces 10^9 images, tiny gzip": (
        "train-images-idx3-ubyte.gz",
        gzip.compress(_idx_header((10**9, 28, 28)) + bytes(100)),
        "more than .* of gzip data can hold",
    ),
    "gzip bomb past its header": (
        "train-images-idx3-ubyte.gz",
        _gzip_of_zeros(_idx_header((10, 28, 28)), 64),
        "goes on past the 7856 bytes its header announces",
    ),
    "header announces 2^32-1 per dimension": (
        "images.idx",
        _idx_header((2**32 - 1, 2**32 - 1, 2**32 - 1)) + bytes(64),
        "IDX data has 80 bytes, the header announces 792281624",
    ),
    "255 dimensions of 2^32-1 each, gzipped": (
        "images.gz",
        gzip.compress(_idx_header((2**32 - 1,) * 255)),
        r"announces shape \[4294967295, .* \(about 10\^2456 bytes\), more than",
    ),
    "truncated raw data": ("images.idx", _idx_header((10, 28, 28)) + bytes(100), "has 116 bytes"),
    "truncated gzip data": (
        "images.gz",
        gzip.compress(_idx_header((10, 28, 28)) + bytes(100)),
        "IDX data has 116 bytes, the header announces 7856",
    ),
    "corrupt deflate stream": (
        "images.gz",
        gzip.compress(_idx_header((10, 28, 28)) + bytes(7840))[:20] + b"\xff" * 40,
        "cannot read IDX data",
    ),
    "not gzip at all": ("images.gz", b"PK\x03\x04 a zip file", "cannot read IDX data"),
    "header cut short": ("images.idx", bytes([0, 0, 8, 3, 0, 0]), "truncated IDX header"),
    "empty file": ("images.idx", b"", "bad magic number"),
}


@pytest.mark.parametrize("name", IDX_CASES)
def test_lying_idx_files_are_refused_quickly_with_their_name(tmp_path, name):
    filename, content, message = IDX_CASES[name]
    path = tmp_path / filename
    path.write_bytes(content)
    started = time.perf_counter()
    with pytest.raises(ValueError, match=rf"{path}: .*{message}"):
        read_idx(path)
    assert time.perf_counter() - started < 2.0


def test_an_idx_file_larger_than_memory_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "images.idx"
    path.write_bytes(_idx_header((10, 28, 28)) + bytes(7840))
    monkeypatch.setattr(_memory, "available_memory", lambda: 5000)
    with pytest.raises(ValueError, match=r"announces shape \[10, 28, 28\]: 7.8 kB, more than the 5.0 kB"):
        read_idx(path)


def test_mnist_with_a_gzip_bomb_is_a_dataset_error_naming_the_file(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(_gzip_of_zeros(_idx_header((10, 28, 28)), 8))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_header((10,)) + bytes(10))
    with pytest.raises(
        DatasetError, match=r"MNIST in .* is unreadable: .*train-images-idx3-ubyte.gz: IDX data"
    ):
        load_dataset("mnist", tmp_path)


def test_mnist_labels_beyond_the_ten_digits_name_the_file(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_header((4, 28, 28)) + bytes(4 * 784))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_header((4,)) + bytes([1, 2, 255, 3]))
    with pytest.raises(
        DatasetError, match=r"train-labels-idx1-ubyte: MNIST labels are 0-9, this file holds 1..255"
    ):
        load_dataset("mnist", tmp_path)


def _npy_header(shape, descr="<f4"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _npz(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


NPZ_CASES = {
    "x announces 10^12 floats": (
        {"x.npy": _npy_header((10**12,)) + bytes(64), "y.npy": _npy(np.arange(4))},
        r"x.npy announces shape \[1000000000000\] of float32 \(4.0 TB\), but holds 64 bytes",
    ),
    "y announces fewer than it holds": (
        {"x.npy": _npy(np.zeros((4, 2), np.float32)), "y.npy": _npy_header((2,), "<i8") + bytes(32)},
        r"y.npy announces shape \[2\] of int64 \(16 bytes\), but holds 32 bytes",
    ),
    "garbage member": (
        {"x.npy": b"hello, not an array", "y.npy": _npy(np.arange(4))},
        "x.npy is not a plain .npy array",
    ),
    "pickled objects": (
        {"x.npy": _npy(np.array([{"a": 1}, None], dtype=object)), "y.npy": _npy(np.arange(2))},
        "cannot be read without unpickling",
    ),
}


@pytest.mark.parametrize("name", NPZ_CASES)
def test_lying_npz_files_are_refused_before_allocating(tmp_path, name):
    members, message = NPZ_CASES[name]
    path = tmp_path / "data.npz"
    _npz(path, members)
    with pytest.raises(DatasetError, match=rf"{path}: .*{message}"):
        load_npz(path)


def test_an_npz_member_whose_size_lies_about_its_compression(tmp_path):
    path = tmp_path / "data.npz"
    _npz(
        path, {"x.npy": _npy(np.zeros((4, 2), np.float32)), "y.npy": _npy(np.arange(4))}, zipfile.ZIP_DEFLATED
    )
    raw = bytearray(path.read_bytes())
    entry = raw.find(b"PK\x01\x02")  # the central directory entry of x.npy
    raw[entry + 24 : entry + 28] = (10**9).to_bytes(4, "little")  # its uncompressed size: 1 GB
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=rf"{path}: x.npy announces shape \[4, 2\] .* \(.* compressed\)"):
        load_npz(path)


@pytest.mark.parametrize(
    ("offset", "value", "message"),
    [
        (8, b"\x63\x00", "NotImplementedError: That compression method is not supported"),  # method 99
        (6, b"\x41\x00", "NotImplementedError: strong encryption"),  # flag bits 0 and 6
    ],
)
def test_a_damaged_npz_is_a_dataset_error(tmp_path, offset, value, message):
    path = tmp_path / "data.npz"
    _npz(path, {"x.npy": _npy(np.zeros((4, 2), np.float32)), "y.npy": _npy(np.arange(4))})
    raw = bytearray(path.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # the local and central headers of x.npy
        start = raw.find(header) + (2 if header == b"PK\x01\x02" else 0)
        raw[start + offset : start + offset + 2] = value
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=rf"{path}: not a readable .npz file \({message}"):
        load_npz(path)


def test_sizes_beyond_a_float_are_still_described():
    assert _memory.format_bytes(256**255) == "about 10^614 bytes"
    assert _memory.format_bytes(1536) == "1.5 kB" and _memory.format_bytes(999) == "999 bytes"


@pytest.mark.parametrize(("size", "message"), [(3073 * 2 + 5, "not a multiple of 3073"), (0, "0 bytes")])
def test_cifar_batches_of_the_wrong_size(tmp_path, size, message):
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(bytes(size))
    with pytest.raises(DatasetError, match=rf"{path}: not a CIFAR-10 binary batch .*{message}"):
        read_cifar_binary(path)


def test_a_cifar_batch_larger_than_memory(tmp_path, monkeypatch):
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(bytes(3073 * 4))
    monkeypatch.setattr(_memory, "available_memory", lambda: 3073)
    with pytest.raises(DatasetError, match=rf"{path}: the file takes 12.3 kB, more than the 3.1 kB"):
        read_cifar_binary(path)


ABSURD = {  # override, the YAML path and the message of the error
    "data.options.train_size=1000000000000": ("data.options.train_size", "would take 576.0 TB, more than"),
    "data.options.test_size=1000000000000": ("data.options.test_size", "would take"),
    "data.options.num_samples=100000000000": ("data.options.num_samples", "would take"),
    "data.options.shape=[100000, 100000]": ("data.options.shape", "would take"),
    "data.options.train_size=-1": ("data.options.train_size", "must be an int >= 0, got -1"),
    "data.options.train_size='many'": ("data.options.train_size", "must be an int >= 0, got 'many'"),
    "data.options.num_classes=0": ("data.options.num_classes", "must be a positive int, got 0"),
    "data.options.shape=[1, 0]": ("data.options.shape", "must be a non-empty list of positive ints"),
    "data.options.shape=seven": ("data.options.shape", "must be a non-empty list of positive ints"),
    "data.options.noise=[1]": ("data.options.noise", "must be a number, got [1]"),
    "input_shape=[100000, 100000, 100000]": ("input_shape", "one sample of shape [100000, 100000, 100000]"),
    "model.module.Sequential.1.Linear=[16, 1000000000000]": (
        "model.module.Sequential.1.Linear",
        "the model's parameters (and drawing their initial values) would take 272.0 TB, more than",
    ),
}


@pytest.mark.parametrize("override", ABSURD)
def test_absurd_sizes_are_refused_at_their_yaml_line(small_config, override):
    path = small_config()
    key, message = ABSURD[override]
    with pytest.raises(ConfigError) as info:
        load_training(path, [override])
    error = info.value.errors[0]
    assert error.path == key and message in error.message, str(info.value)
    assert error.file == "--set" and error.line == 1
