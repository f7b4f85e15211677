"""Random number generation: ``Generator``, the default generator, ``manual_seed`` and RNG state."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor

_STATE_BYTES = 40  # PCG64: 128-bit state, 128-bit increment, has_uint32 flag, cached uint32


class Generator:
    """A seedable stream of random numbers (PCG64); pass it as ``generator=`` to random functions."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = _backend.as_device(device) if device != "cpu" else _backend.CPU
        self._initial_seed = 67280421310721  # torch's default seed
        self._numpy = np.random.Generator(np.random.PCG64(self._initial_seed))

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        self._initial_seed = seed
        self._numpy = np.random.Generator(np.random.PCG64(seed & ((1 << 64) - 1)))
        return self

    def seed(self) -> int:
        """Re-seed from the operating system's entropy and return the seed."""
        seed = int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._initial_seed

    def get_state(self) -> Any:
        """The full generator state as a uint8 tensor (restore it with ``set_state``)."""
        state = self._numpy.bit_generator.state
        packed = (
            state["state"]["state"].to_bytes(16, "little")
            + state["state"]["inc"].to_bytes(16, "little")
            + int(state["has_uint32"]).to_bytes(4, "little")
            + int(state["uinteger"]).to_bytes(4, "little")
        )
        return Tensor._make(np.frombuffer(packed, dtype=np.uint8).copy())

    def set_state(self, new_state: Any) -> Generator:
        raw = bytes(np.asarray(new_state._data if hasattr(new_state, "_data") else new_state, dtype=np.uint8))
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(f"RNG state must be a uint8 tensor of {_STATE_BYTES} bytes, got {len(raw)}")
        bit_generator = np.random.PCG64()
        bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {
                "state": int.from_bytes(raw[:16], "little"),
                "inc": int.from_bytes(raw[16:32], "little"),
            },
            "has_uint32": int.from_bytes(raw[32:36], "little"),
            "uinteger": int.from_bytes(raw[36:40], "little"),
        }
        self._numpy = np.random.Generator(bit_generator)
        return self

    @property
    def numpy_generator(self) -> np.random.Generator:
        return self._numpy

    def array_generator(self, device: _backend.device) -> Any:
        """A generator for arrays on ``device``: this one on the CPU; on CUDA a CuPy generator seeded from it,
        so that all randomness still follows from this generator's state."""
        if device.type == "cpu":
            return self._numpy
        cupy = _backend.require_cupy()
        with cupy.cuda.Device(device.index):
            return cupy.random.default_rng(int(self._numpy.integers(0, 2**63 - 1)))


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, so every random function becomes reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Any:
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    default_generator.set_state(new_state)


def generator_or_default(generator: Generator | None) -> Generator:
    return default_generator if generator is None else generator
