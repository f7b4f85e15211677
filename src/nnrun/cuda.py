"""``nnrun.cuda``: whether a CUDA GPU (through CuPy) can be used, and seeding its random numbers."""

from nnrun import _random
from nnrun._backend import cuda_device_count as device_count
from nnrun._backend import cuda_is_available as is_available

__all__ = ["device_count", "is_available", "manual_seed", "manual_seed_all"]


def manual_seed(seed: int) -> None:
    """Seed the random numbers drawn on the GPU; without a usable GPU silently ignored, as in torch.

    nnrun draws a GPU's random numbers from the default generator (each draw seeds CuPy's from it), so with
    a GPU this seeds the default generator, as ``nnrun.manual_seed`` does.
    """
    seed = int(seed)
    if is_available():
        _random.manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """``manual_seed`` for every GPU: they all draw from the one default generator."""
    manual_seed(seed)
