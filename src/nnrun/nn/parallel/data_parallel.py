"""``DataParallel``: a wrapper that runs its module on one device, as torch's does without several GPUs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nnrun import _backend
from nnrun.nn.module import Module


def _device_index(spec: int | str | _backend.device) -> int:
    """The CUDA index of ``0``, ``"cuda:1"`` or ``device("cuda", 1)``."""
    if isinstance(spec, int):
        return spec
    dev = _backend.as_device(spec)
    return 0 if dev.index is None else dev.index


class DataParallel(Module):
    """Wraps ``module`` (the child ``module``, so state_dict keys start with ``module.``) and calls it.

    Args:
        module: the module to run.
        device_ids: CUDA devices torch would replicate the module on (default: all of them); nnrun keeps
            the module on its own device and runs it there once. Without CUDA it is ``[]``, as torch's.
        output_device: where torch gathers the outputs (default: ``device_ids[0]``).
        dim: the dimension torch splits inputs along.

    Inputs and outputs are the module's own.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Sequence[int | str | _backend.device] | None = None,
        output_device: int | str | _backend.device | None = None,
        dim: int = 0,
    ) -> None:
        super().__init__()
        self.module = module
        if not _backend.cuda_is_available():
            self.device_ids: list[int] = []  # torch keeps only this when there is no GPU
            return
        if device_ids is None:
            device_ids = range(_backend.cuda_device_count())
        self.device_ids = [_device_index(d) for d in device_ids]
        self.output_device = self.device_ids[0] if output_device is None else _device_index(output_device)
        self.dim = dim
        self.src_device_obj = _backend.device("cuda", self.device_ids[0]) if self.device_ids else None

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(
    module: Module,
    inputs: Any,
    device_ids: Sequence[int | str | _backend.device] | None = None,
    output_device: int | str | _backend.device | None = None,
    dim: int = 0,
    module_kwargs: dict[str, Any] | None = None,
) -> Any:
    """``module(*inputs, **module_kwargs)`` on the module's device (``inputs``: a tensor or a tuple of
    them), the functional form of :class:`DataParallel`; nnrun does not split the batch across GPUs."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))
