"""Every reader of outside input fails only with its own error on damaged input: YAML configs (ConfigError),
IDX files (ValueError), .npz datasets (DatasetError) and checkpoints (CheckpointError). Hypothesis mutates
valid files; a longer run of the same idea over 350,000 files found the cases the readers now handle."""

import contextlib
import gzip
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnrun
from nnrun.config import ConfigError, load
from nnrun.data import DatasetError, read_idx
from nnrun.data.datasets.npz import load_npz
from nnrun.serialization import CheckpointError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

YAML_PIECES = [
    "&a ", "*a", "<<: *a", "[", "]", "{", "}", ": ", ", ", "\n", "  ", "- ", "!include x.yaml", "\x00", "\t",
    "!!python/name:os.system", "'", '"', "auto", "-1", ".nan", "1e999", "[]", "Repeat", "times: 99999999",
    "${n ** 99}", "x.y.Z",
]  # fmt: skip
CONFIG = (
    "input_shape: [1, 4, 4]\nmodule:\n  Sequential: [Flatten, {Linear: [16, 8]}, ReLU, {Linear: [8, 2]}]\n"
)


@st.composite
def mutated(draw, original, pieces=None):
    """``original`` with a few random insertions, deletions and overwrites."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        choice = draw(st.integers(0, 2))
        if choice == 0:
            insert = (
                draw(st.sampled_from(pieces)).encode() if pieces else draw(st.binary(min_size=1, max_size=8))
            )
            data[at:at] = insert
        elif choice == 1:
            del data[at : at + draw(st.integers(1, 16))]
        else:
            data[at : at + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\0\0\0\0"]))
    return bytes(data)


@FUZZ
@given(text=mutated(CONFIG.encode(), YAML_PIECES))
def test_configs(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text)
    with contextlib.suppress(ConfigError):
        load(path)


IMAGES = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
IDX = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in IMAGES.shape) + IMAGES.tobytes()


@FUZZ
@given(data=mutated(IDX), compress=st.booleans())
def test_idx_files(tmp_path, data, compress):
    path = tmp_path / ("images.gz" if compress else "images.idx")
    path.write_bytes(gzip.compress(data) if compress else data)
    with contextlib.suppress(ValueError):
        read_idx(path)


def _npz_bytes(compressed):
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, x=IMAGES[:, None], y=np.arange(3))
    return buffer.getvalue()


@FUZZ
@given(data=st.one_of(mutated(_npz_bytes(False)), mutated(_npz_bytes(True))))
def test_npz_files(tmp_path, data):
    path = tmp_path / "data.npz"
    path.write_bytes(data)
    with contextlib.suppress(DatasetError):
        load_npz(path)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "model.safetensors"
    nnrun.save({"weight": nnrun.randn(4, 3), "step": 3, "config": CONFIG}, path)
    return path.read_bytes()


@FUZZ
@given(data=st.data())
def test_checkpoints(tmp_path, checkpoint, data):
    path = tmp_path / "model.safetensors"
    path.write_bytes(data.draw(mutated(checkpoint)))
    with contextlib.suppress(CheckpointError):
        nnrun.load(path)
