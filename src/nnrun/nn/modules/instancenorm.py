"""Instance normalisation: ``InstanceNorm1d`` for (N, C, L) or (C, L), ``InstanceNorm2d`` for (N, C, H, W) or
(C, H, W) input."""

from __future__ import annotations

import warnings
from typing import Any

from nnrun._tensor import Tensor
from nnrun.nn import functional as F
from nnrun.nn.modules.batchnorm import _NormBase


class _InstanceNorm(_NormBase):
    """Normalise each channel of each sample over its spatial dimensions.

    Defaults differ from batch norm: no ``weight``/``bias`` (``affine=False``) and no running statistics
    (``track_running_stats=False``). With them, training updates ``running_mean``/``running_var`` (the
    batch average of the per-sample statistics) and evaluation uses them; ``num_batches_tracked`` is kept
    for the state_dict but not counted, and ``momentum=None`` leaves the running statistics unchanged.
    """

    _no_batch_dim: int

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _check_input_dim(self, input: Tensor) -> None:
        dims = (self._no_batch_dim, self._no_batch_dim + 1)
        if input.dim() not in dims:
            raise ValueError(f"expected {dims[0]}D or {dims[1]}D input (got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        feature_dim = input.dim() - self._no_batch_dim
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match num_features "
                    f"({self.num_features}), but got: {input.shape[feature_dim]}."
                )
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                "warning by not passing in num_features, which is not used because affine=False",
                stacklevel=2,
            )
        unbatched = input.dim() == self._no_batch_dim
        out = F.instance_norm(
            input.unsqueeze(0) if unbatched else input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over ``(N, C, L)`` or unbatched ``(C, L)`` input (statistics over L)."""

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over ``(N, C, H, W)`` or unbatched ``(C, H, W)`` input (statistics over H and W)."""

    _no_batch_dim = 3
