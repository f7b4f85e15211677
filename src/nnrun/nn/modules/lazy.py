"""Lazy layers: ``LazyLinear``, ``LazyConv1d``, ``LazyConv2d``, ``LazyBatchNorm1d``, ``LazyBatchNorm2d``.

A lazy layer is built without its input size: its weights are ``UninitializedParameter`` (buffers
``UninitializedBuffer``) until the first call, which reads ``in_features`` / ``in_channels`` /
``num_features`` from the input, allocates and initialises them as the regular layer does, and turns the
module into that layer (``type(module)`` becomes ``Linear``, ``Conv2d``…). Loading a ``state_dict`` before
the first call takes the shapes from the checkpoint instead.
"""

from __future__ import annotations

from typing import Any

from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import no_grad
from nnrun.nn.module import Module
from nnrun.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d, _BatchNorm
from nnrun.nn.modules.conv import Conv1d, Conv2d, _ConvNd
from nnrun.nn.modules.linear import Linear
from nnrun.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy


def _infer_parameters(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> None:
    """Forward pre-hook: size the placeholders from the first input, then become the regular layer."""
    module.initialize_parameters(*args, **(kwargs or {}))
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
    module._lazy_handles_remove()
    module.__class__ = module.cls_to_become


def _lazy_load_hook(
    module: Any,
    state_dict: Any,
    prefix: str,
    local_metadata: Any,
    strict: bool,
    missing_keys: list[str],
    unexpected_keys: list[str],
    error_msgs: list[str],
) -> None:
    """Load pre-hook: a placeholder takes the shape of the checkpoint's (initialized) entry."""
    for name, value in [*module._parameters.items(), *module._buffers.items()]:
        key = prefix + name
        if value is not None and is_lazy(value) and key in state_dict:
            incoming = state_dict[key]
            if isinstance(incoming, Tensor) and not is_lazy(incoming):
                with no_grad():
                    value.materialize(incoming.shape)


class LazyModuleMixin:
    """What makes a layer lazy: the two hooks above and ``has_uninitialized_params``. A subclass lists the
    mixin first, then the regular layer, and sets ``cls_to_become`` to that layer."""

    cls_to_become: type[Module] | None = None

    def _lazy_setup(self) -> None:
        module: Any = self
        handles = (
            module.register_load_state_dict_pre_hook(_lazy_load_hook),
            module.register_forward_pre_hook(_infer_parameters, with_kwargs=True),
        )
        object.__setattr__(self, "_lazy_handles", handles)

    def _lazy_handles_remove(self) -> None:
        for handle in self.__dict__.pop("_lazy_handles", ()):
            handle.remove()

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        # a placeholder is saved as itself (it has no data to detach)
        module: Any = self
        Module._save_to_state_dict(module, destination, prefix, True)
        if not keep_vars:
            for name, value in [*module._parameters.items(), *module._buffers.items()]:
                key = prefix + name
                if value is not None and not is_lazy(value) and key in destination:
                    destination[key] = value.detach()

    def has_uninitialized_params(self) -> bool:
        """Whether this module still holds an uninitialized parameter or buffer (its own, not children's)."""
        module: Any = self
        return any(is_lazy(v) for v in [*module._parameters.values(), *module._buffers.values()])

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is read from the last dimension of the first input."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, 0, False)  # the regular constructor with nothing to allocate
        self.out_features = out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        self._lazy_setup()

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # sized by load_state_dict: take the width from the loaded weight
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(
                    f"The in_features inferred from input: {input.shape[-1]} is not equal to in_features "
                    f"from self.weight: {self.weight.shape[-1]}"
                )
            self.in_features = input.shape[-1]


class _LazyConvXdMixin(LazyModuleMixin):
    """``in_channels`` is the channel dimension of the first input: dim 0 unbatched, dim 1 batched."""

    _dims: int

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        # the regular constructor with in/out channels 0 and no bias allocates an empty weight only
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode)  # type: ignore[call-arg]
        conv: Any = self
        conv.out_channels = out_channels
        conv.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            conv.bias = UninitializedParameter(device=device, dtype=dtype)
        self._lazy_setup()

    def reset_parameters(self) -> None:
        conv: Any = self
        if not self.has_uninitialized_params() and conv.in_channels != 0:
            _ConvNd.reset_parameters(conv)

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        conv: Any = self
        if self.has_uninitialized_params():
            with no_grad():
                if input.dim() not in (self._dims + 1, self._dims + 2):
                    raise ValueError(
                        f"Expected {self._dims + 1}D (unbatched) or {self._dims + 2}D (batched) input to "
                        f"{self._get_name()}, but got input of size: {list(input.shape)}"  # type: ignore[attr-defined]
                    )
                conv.in_channels = input.shape[0 if input.dim() == self._dims + 1 else 1]
                if conv.in_channels % conv.groups != 0:
                    raise ValueError("in_channels must be divisible by groups")
                conv.weight.materialize(
                    (conv.out_channels, conv.in_channels // conv.groups, *conv.kernel_size)
                )
                if conv.bias is not None:
                    conv.bias.materialize((conv.out_channels,))
                self.reset_parameters()


class LazyConv1d(_LazyConvXdMixin, Conv1d):
    """``Conv1d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = Conv1d
    _dims = 1


class LazyConv2d(_LazyConvXdMixin, Conv2d):
    """``Conv2d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = Conv2d
    _dims = 2


class _LazyNormBase(LazyModuleMixin):
    """``num_features`` is the channel dimension (dim 1, or dim 0 for unbatched 1-d input)."""

    def _lazy_norm_init(self, device: Any, dtype: Any) -> None:
        norm: Any = self
        if norm.affine:
            norm.weight = UninitializedParameter(device=device, dtype=dtype)
            if norm.has_bias:
                norm.bias = UninitializedParameter(device=device, dtype=dtype)
        if norm.track_running_stats:
            norm.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            norm.running_var = UninitializedBuffer(device=device, dtype=dtype)
        self._lazy_setup()

    def reset_parameters(self) -> None:
        norm: Any = self
        if not self.has_uninitialized_params() and norm.num_features != 0:
            _BatchNorm.reset_parameters(norm)

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        norm: Any = self
        if self.has_uninitialized_params():
            norm.num_features = input.shape[1]
            with no_grad():
                for name in ("weight", "bias", "running_mean", "running_var"):
                    value = getattr(norm, name)
                    if value is not None and is_lazy(value):
                        value.materialize((norm.num_features,))
                self.reset_parameters()


class _LazyBatchNorm(_LazyNormBase):
    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        # the regular constructor with 0 features allocates empty state only
        super().__init__(0, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)  # type: ignore[call-arg]
        self._lazy_norm_init(device, dtype)


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` is read from the first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` is read from the first input."""

    cls_to_become = BatchNorm2d
