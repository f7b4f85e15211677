"""Stateless neural-network functions (``nnrun.nn.functional``, imported as ``F``)."""

from __future__ import annotations

from nnrun._tensor import Tensor
from nnrun.ops import linear as _linear


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``.

    Shapes: input ``(*, in)``, weight ``(out, in)``, bias ``(out,)`` or None; output ``(*, out)``.
    """
    return _linear.linear(input, weight, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` element-wise; ``inplace`` overwrites ``input``."""
    return input.relu_() if inplace else input.relu()
