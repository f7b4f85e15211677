"""``nnrun.cuda``: whether a CUDA GPU (through CuPy) can be used."""

from nnrun._backend import cuda_device_count as device_count
from nnrun._backend import cuda_is_available as is_available

__all__ = ["device_count", "is_available"]
