"""The affine map of ``nn.Linear``: ``y = x @ W.T + b`` as one node (one matmul forward, two backward)."""

from __future__ import annotations

import math
from typing import Any

from nnrun.autograd.function import Function
from nnrun.ops._broadcast import promote


class Linear(Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        if x.ndim == 0 or weight.ndim == 0:
            raise RuntimeError(
                f"both arguments to linear need to be at least 1D, but they are {x.ndim}D and {weight.ndim}D"
            )
        if weight.ndim != 2:
            raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got {weight.ndim}-D")
        if x.shape[-1] != weight.shape[1]:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({_as_matrix(x.shape)} and "
                f"{weight.shape[1]}x{weight.shape[0]})"
            )
        ctx.dtypes = (x.dtype, weight.dtype, None if bias is None else bias.dtype)
        ctx.x_ndim = x.ndim
        x, weight = promote(x, weight)
        y = _fold_matmul(x, weight.T)
        if bias is not None:
            y, bias = promote(y, bias)
            y += bias
        ctx.save_for_backward(x, weight)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad
        x_dtype, w_dtype, b_dtype = ctx.dtypes
        rows = math.prod(x.shape[:-1])
        grad_rows = grad_out.reshape(rows, weight.shape[0])  # (N, out) with every leading dim folded into N
        grad_x = grad_w = grad_b = None
        if needs_x:
            grad_x = _fold_matmul(grad_out, weight).astype(x_dtype, copy=False)  # dL/dx = g W
        if needs_w:
            grad_w = (grad_rows.T @ x.reshape(rows, weight.shape[1])).astype(
                w_dtype, copy=False
            )  # dL/dW = g^T x
        if needs_b:
            grad_b = grad_rows.sum(axis=0).astype(b_dtype, copy=False)  # dL/db = sum over rows of g
        return grad_x, grad_w, grad_b

    # torch computes linear as addmm (mm without a bias) on the input folded to rows and views the result
    # back; this one node stands for that chain, named as torch names its last step. Its inputs are listed
    # in addmm's order, (bias, input, weight), where torch has a TBackward0 node before the weight.
    def name(self) -> str:
        has_bias = self.dtypes[2] is not None
        if self.x_ndim == 2:
            return "AddmmBackward0" if has_bias else "MmBackward0"
        if not has_bias:
            return "SqueezeBackward4" if self.x_ndim == 1 else "UnsafeViewBackward0"
        return "ViewBackward0"

    @property
    def _edge_slots(self) -> tuple[int, ...]:
        return (0, 1) if self.dtypes[2] is None else (2, 0, 1)


def _fold_matmul(a: Any, b: Any) -> Any:
    """``a @ b`` for a matrix ``b``; a contiguous ``a`` of more than 2 dims goes as one ``(rows, k)`` GEMM
    (NumPy's matmul runs one small GEMM per leading index: ~1.4x slower at (32, 64, 128) @ (128, 384))."""
    if a.ndim <= 2 or a.size == 0 or not a.flags.c_contiguous:
        return a @ b
    return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])


def _as_matrix(shape: tuple[int, ...]) -> str:
    """How torch names an input in its shape error: leading dims folded into rows."""
    if len(shape) == 1:
        return f"1x{shape[0]}"
    rows = 1
    for size in shape[:-1]:
        rows *= size
    return f"{rows}x{shape[-1]}"


def linear(input: Any, weight: Any, bias: Any = None) -> Any:
    """``input @ weight.T + bias``.

    Shapes: input ``(*, in)``, weight ``(out, in)``, bias ``(out,)`` or None; output ``(*, out)``.
    """
    return Linear.apply(input, weight, bias)


def bilinear(input1: Any, input2: Any, weight: Any, bias: Any = None) -> Any:
    """``y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]``.

    Shapes: input1 ``(*, in1)``, input2 ``(*, in2)`` (the same ``*``), weight ``(out, in1, in2)``, bias
    ``(out,)`` or None; output ``(*, out)``.
    """
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    for axis in range(input1.ndim - 1):
        if input1.shape[axis] != input2.shape[axis]:
            raise RuntimeError(
                f"bilinear(): input batch dimensions do not match at dim {axis}: got {input1.shape[axis]} "
                f"and {input2.shape[axis]}"
            )
    out_features, in1, in2 = weight.shape
    for name, size, expected in (("input1", input1.shape[-1], in1), ("input2", input2.shape[-1], in2)):
        if size != expected:
            raise RuntimeError(
                f"bilinear(): {name} size does not match weight size: got {size} but expected {expected}"
            )
    if bias is not None and bias.shape[-1] != out_features:
        raise RuntimeError(
            f"bilinear(): bias size does not match weight size: got {bias.shape[-1]} but expected "
            f"{out_features}"
        )
    batch = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    # (B, in1) @ (in1, out·in2) → (B, out, in2), then the sum over in2 against input2
    left = (x1 @ weight.permute(1, 0, 2).reshape(in1, out_features * in2)).reshape(-1, out_features, in2)
    out = (left * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*batch, out_features)
