"""What the normalisation layers share: an optional per-feature ``weight`` (ones) and ``bias`` (zeros)."""

from __future__ import annotations

from typing import Any

from nnrun import _creation
from nnrun.nn import init
from nnrun.nn.module import Module
from nnrun.nn.parameter import Parameter


class _AffineNorm(Module):
    """A normalisation layer whose output is scaled by ``weight`` and shifted by ``bias`` (each optional)."""

    weight: Parameter | None
    bias: Parameter | None

    def _register_affine(
        self, shape: tuple[int, ...], weight: bool, bias: bool, device: Any, dtype: Any
    ) -> None:
        """A ``weight`` and a ``bias`` parameter of ``shape``, each None where not wanted."""
        for name, wanted in (("weight", weight), ("bias", bias)):
            if wanted:
                self.register_parameter(name, Parameter(_creation.empty(shape, device=device, dtype=dtype)))
            else:
                self.register_parameter(name, None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)
