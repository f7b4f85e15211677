"""Classification losses over a class dimension: ``cross_entropy`` (one fused node: log-softmax by
log-sum-exp, the loss, and the closed-form gradient ``softmax - target``) and ``nll_loss``.

Layout: input ``(N, C, d1, ...)`` (or ``(C,)`` for one sample), classes along dim 1. A target holds class
indices ``(N, d1, ...)`` (integers; ``ignore_index`` entries count for nothing) or, for cross-entropy,
class probabilities of the input's shape. With class indices, ``'mean'`` divides by the summed weight
of the counted targets (PyTorch's weighted mean); with probabilities it divides by ``N * d1 * ...``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun._tensor import Tensor
from nnrun.autograd.function import Function
from nnrun.ops.loss import check_reduction, resolve_reduction


# ----- helpers shared by both losses -----
def _check_weight(weight: Any, classes: int, name: str, ctx: Function, position: int) -> None:
    if weight is None:
        return
    if ctx.needs_input_grad[position]:
        raise RuntimeError(
            f"The function '{name}' is not differentiable with respect to argument 'weight'. "
            "This input cannot have requires_grad True."
        )
    if weight.ndim != 1 or weight.shape[0] != classes:
        raise RuntimeError(
            f"weight tensor should be defined either for all {classes} classes or no classes but got "
            f"weight tensor of shape: {list(weight.shape)}"
        )


def _as_batch(x: Any, target: Any) -> tuple[Any, Any]:
    """A ``(C,)`` input becomes a batch of one, ``(1, C)``, its target ``(1,)`` (or ``(1, C)``)."""
    if x.ndim == 1:
        return x.reshape(1, -1), target.reshape(1, -1) if target.ndim == 1 else target.reshape(1)
    return x, target


def _check_index_target(x_shape: tuple[int, ...], target: Any) -> None:
    if target.dtype.kind not in "iu":
        raise RuntimeError(
            f"expected target dtype to be an integer type (class indices), but got {target.dtype}; a "
            f"floating-point target holds class probabilities and must have the input's shape "
            f"{list(x_shape)}, got {list(target.shape)}"
        )
    if len(x_shape) == 0:
        raise RuntimeError("input must have at least 1 dimension (C,) or (N, C, ...), got a 0-d tensor")
    if len(x_shape) == 1:
        if target.size != 1 or target.ndim > 1:
            raise RuntimeError(f"Expected a 0-d target for a (C,) input, got size {list(target.shape)}")
        return
    if target.ndim == 0 or target.shape[0] != x_shape[0]:
        batch = target.shape[0] if target.ndim else 0
        raise ValueError(f"Expected input batch_size ({x_shape[0]}) to match target batch_size ({batch}).")
    expected = (x_shape[0], *x_shape[2:])
    if target.shape != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")


def _class_index(xp: Any, target: Any) -> tuple[Any, ...]:
    """Index that picks element ``[n, target[n, ...], ...]`` of an ``(N, C, d1, ...)`` array."""
    batch = target.shape[0]
    if target.ndim == 1:
        return (xp.arange(batch), target)
    rank = target.ndim
    grids = [
        xp.arange(size).reshape((1,) * i + (size,) + (1,) * (rank - i - 1))
        for i, size in enumerate(target.shape)
    ]
    return (grids[0], target, *grids[1:])


def _target_weights(xp: Any, target: Any, weight: Any, ignore_index: int, classes: int, dtype: Any):
    """``(index, w_t, counted)``: the class index, each target's weight (0 when ignored; None when every
    weight is 1) and the mask of counted targets (None when all count). A class index out of range is an
    IndexError on the CPU; on a GPU, checking it would stall every step on a device-to-host read, so its
    target's weight becomes NaN instead (PyTorch's device-side assert, without breaking the device)."""
    counted = bad = None
    on_gpu = xp is not np
    if on_gpu or (
        target.size and not (ignore_index < 0 and int(target.min()) >= 0 and int(target.max()) < classes)
    ):
        counted = target != ignore_index
        bad = counted & ((target < 0) | (target >= classes))
        if not on_gpu and bad.any():
            value = int(target[bad].ravel()[0])
            raise IndexError(
                f"Target {value} is out of bounds: expected a class index in [0, {classes}) "
                f"or ignore_index ({ignore_index})"
            )
        target = xp.where(counted & ~bad, target, 0)
    index = _class_index(xp, target)
    if weight is None:
        w_t = None if counted is None else counted.astype(dtype)
    else:
        w_t = weight[target]
        if counted is not None:
            w_t *= counted
    if on_gpu:
        w_t = xp.where(bad, np.nan, w_t).astype(dtype, copy=False)
    return index, w_t, counted


def _weight_total(w_t: Any, shape: tuple[int, ...]) -> Any:
    """What ``'mean'`` divides by: the summed target weights, or the target count when all are 1."""
    if w_t is not None:
        return w_t.sum()
    count = 1
    for size in shape:
        count *= size
    return count


def _per_target(coef: Any, target_shape: tuple[int, ...]) -> Any:
    """A coefficient shaped ``(N, 1, d1, ...)`` reshaped to ``(N, d1, ...)``; a scalar stays as is."""
    return coef.reshape(target_shape) if getattr(coef, "ndim", 0) else coef


def _reduce(xp: Any, loss: Any, reduction: str, denominator: Any) -> Any:
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / denominator  # NaN when nothing is counted, as torch
    return xp.asarray(total, dtype=loss.dtype)


def _scale(grad_out: Any, reduction: str, denominator: Any, shape: tuple[int, ...]) -> Any:
    """d loss / d (per-target loss), shaped ``(N, 1, d1, ...)`` to broadcast over classes."""
    if reduction == "none":
        return grad_out.reshape((*shape[:1], 1, *shape[1:]))
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return grad_out / denominator
    return grad_out


def _class_axis(w: Any, ndim: int) -> Any:
    """A ``(C,)`` weight shaped ``(1, C, 1, ...)`` to broadcast along dim 1 of an ``ndim`` array."""
    return w.reshape((1, -1) + (1,) * (ndim - 2))


# ----- cross-entropy -----
class CrossEntropy(Function):
    # torch runs log_softmax then nll_loss (named below) for class indices; this node fuses both. With
    # probabilities or label smoothing torch composes elementwise ops, and the node keeps its own name.
    def name(self) -> str:
        if self.probabilities or self.smoothing:
            return "CrossEntropyBackward0"
        return "NllLossBackward0" if len(self.in_shape) <= 2 else "NllLoss2DBackward0"

    @property
    def _edge_slots(self) -> tuple[int, ...] | None:
        return None if self.probabilities else (0,)

    @staticmethod
    def forward(ctx, input, target, weight, reduction, ignore_index, label_smoothing):
        xp = ctx.xp
        if input.dtype.kind != "f":
            raise RuntimeError(f"cross_entropy expects a floating-point input, got {input.dtype}")
        ctx.in_shape = input.shape
        probabilities = target.dtype.kind == "f" and target.shape == input.shape
        if not probabilities:
            _check_index_target(input.shape, target)
        x, target = _as_batch(input, target)
        classes = x.shape[1]
        _check_weight(weight, classes, "cross_entropy", ctx, 2)
        if weight is not None:
            weight = weight.astype(x.dtype, copy=False)
        ctx.smoothing = label_smoothing
        ctx.reduction = reduction
        ctx.needs_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        # log_softmax(x) = z - log(sum(exp(z))) with z = x - max(x): exp never overflows, the sum is >= 1
        z = x - x.max(axis=1, keepdims=True)
        if probabilities:
            if ignore_index >= 0:
                raise RuntimeError("ignore_index is not supported for floating point target")
            ctx.target_dtype = target.dtype
            return _forward_probabilities(ctx, xp, z, target.astype(x.dtype, copy=False), weight)
        return _forward_indices(ctx, xp, z, target, weight, ignore_index, input.ndim)

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.probabilities:
            return (*_backward_probabilities(ctx, grad_out), None, None, None, None)
        return _backward_indices(ctx, grad_out), None, None, None, None, None


def _forward_indices(ctx, xp, z, target, weight, ignore_index, input_ndim):
    ctx.probabilities = False
    classes, smoothing = z.shape[1], ctx.smoothing
    index, w_t, counted = _target_weights(xp, target, weight, ignore_index, classes, z.dtype)
    z_target = z[index]
    if smoothing:
        # sum_c w_c z_c per target, for the smoothing term sum_c w_c (lse - z_c)
        z_weighted = z.sum(axis=1) if weight is None else xp.tensordot(z, weight, axes=([1], [0]))
    exp_z = xp.exp(z, out=z)
    sums = exp_z.sum(axis=1)
    lse = xp.log(sums)
    # nll: w_t (lse - z_t); with smoothing eps: (1 - eps) nll + eps / C * sum_c w_c (lse - z_c)
    loss = lse - z_target
    if w_t is not None:
        loss *= w_t
    if smoothing:
        loss *= 1 - smoothing
        weight_sum = classes if weight is None else weight.sum()
        smooth = lse * weight_sum - z_weighted
        if counted is not None:
            smooth *= counted
        loss += (smoothing / classes) * smooth
    ctx.denominator = _weight_total(w_t, target.shape) if ctx.reduction == "mean" else None
    if ctx.needs_grad:
        exp_z /= sums[:, None]  # softmax, kept for backward
        ctx.save_for_backward(exp_z, w_t, counted, weight)
        ctx.index = index
        ctx.target_shape = target.shape
    out = _reduce(xp, loss, ctx.reduction, ctx.denominator)
    return out.reshape(()) if input_ndim == 1 and ctx.reduction == "none" else out


def _backward_indices(ctx, grad_out):
    # d/dz_j of w_t (lse - z_t) is w_t (p_j - [j = t]); the smoothing term adds eps/C (p_j sum_c w_c - w_j)
    softmax, w_t, counted, weight = ctx.saved_tensors
    smoothing, classes, target_shape = ctx.smoothing, softmax.shape[1], ctx.target_shape
    scale = _scale(grad_out, ctx.reduction, ctx.denominator, target_shape)  # scalar or (N, 1, d1, ...)
    target_coef = scale * (1 - smoothing) if smoothing else scale
    if w_t is not None:
        target_coef = _class_view(w_t) * target_coef
    coef = target_coef
    if smoothing:
        weight_sum = classes if weight is None else weight.sum()
        smooth_coef = scale * (smoothing / classes)
        if counted is not None:
            smooth_coef = _class_view(counted) * smooth_coef
        coef = target_coef + smooth_coef * weight_sum
    grad = softmax * coef
    grad[ctx.index] -= _per_target(target_coef, target_shape)
    if smoothing:
        grad -= smooth_coef if weight is None else smooth_coef * _class_axis(weight, grad.ndim)
    return grad.reshape(ctx.in_shape)


def _class_view(per_target: Any) -> Any:
    """``per_target`` ``(N, d1, ...)`` shaped ``(N, 1, d1, ...)`` to broadcast over the class dim."""
    return per_target.reshape((*per_target.shape[:1], 1, *per_target.shape[1:]))


def _forward_probabilities(ctx, xp, z, target, weight):
    ctx.probabilities = True
    classes, smoothing = z.shape[1], ctx.smoothing
    if smoothing:
        target = target * (1 - smoothing) + smoothing / classes
    weighted_target = target if weight is None else target * _class_axis(weight, z.ndim)
    exp_z = xp.exp(z)
    sums = exp_z.sum(axis=1, keepdims=True)
    log_softmax = z
    log_softmax -= xp.log(sums)
    loss = -(log_softmax * weighted_target).sum(axis=1)
    ctx.denominator = loss.size  # 'mean' divides by the number of targets, whatever their weights
    out = _reduce(xp, loss, ctx.reduction, ctx.denominator)
    if ctx.needs_grad:
        exp_z /= sums
        kept_log_softmax = log_softmax if ctx.needs_input_grad[1] else None
        ctx.save_for_backward(exp_z, kept_log_softmax, weighted_target, weight)
    return out.reshape(()) if len(ctx.in_shape) == 1 and ctx.reduction == "none" else out


def _backward_probabilities(ctx, grad_out):
    # loss = -sum_c w_c t_c log p_c: d/dz_j = p_j sum_c w_c t_c - w_j t_j and d/dt_c = -(1 - eps) w_c log p_c
    softmax, log_softmax, weighted_target, weight = ctx.saved_tensors
    scale = _scale(grad_out, ctx.reduction, ctx.denominator, softmax.shape[:1] + softmax.shape[2:])
    grad_input = grad_target = None
    if ctx.needs_input_grad[0]:
        grad = softmax * weighted_target.sum(axis=1, keepdims=True)
        grad -= weighted_target
        grad_input = (grad * scale).reshape(ctx.in_shape)
    if ctx.needs_input_grad[1]:
        grad = log_softmax * (-(1 - ctx.smoothing) * scale)
        if weight is not None:
            grad *= _class_axis(weight, grad.ndim)
        grad_target = grad.reshape(ctx.in_shape).astype(ctx.target_dtype, copy=False)
    return grad_input, grad_target


# ----- negative log-likelihood -----
class NLLLoss(Function):
    """``-w_t x[n, t]`` on log-probabilities ``x``: a gather forward, a scatter backward."""

    # torch's nll_loss: NllLoss for (N, C) or (C,) inputs, NllLoss2d for inputs with spatial dimensions
    _edge_slots = (0,)

    def name(self) -> str:
        return "NllLossBackward0" if len(self.in_shape) <= 2 else "NllLoss2DBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, reduction, ignore_index):
        xp = ctx.xp
        _check_index_target(input.shape, target)
        ctx.in_shape = input.shape
        x, target = _as_batch(input, target)
        _check_weight(weight, x.shape[1], "nll_loss", ctx, 2)
        if weight is not None:
            weight = weight.astype(x.dtype, copy=False)
        index, w_t, _ = _target_weights(xp, target, weight, ignore_index, x.shape[1], x.dtype)
        loss = -x[index]
        if w_t is not None:
            loss *= w_t
        ctx.reduction = reduction
        ctx.denominator = _weight_total(w_t, target.shape) if reduction == "mean" else None
        if ctx.needs_input_grad[0]:
            ctx.index = index
            ctx.x_meta = (x.shape, x.dtype, target.shape)
            ctx.save_for_backward(w_t)
        out = _reduce(xp, loss, reduction, ctx.denominator)
        return out.reshape(()) if input.ndim == 1 and reduction == "none" else out

    @staticmethod
    def backward(ctx, grad_out):
        (w_t,) = ctx.saved_tensors
        shape, dtype, target_shape = ctx.x_meta
        grad = ctx.xp.zeros(shape, dtype)
        if ctx.reduction == "none":
            scale = grad_out.reshape(target_shape)
        else:
            scale = _scale(grad_out, ctx.reduction, ctx.denominator, ())
        grad[ctx.index] = -scale if w_t is None else w_t * -scale  # d/dx[n, t] = -w_t, zero elsewhere
        return grad.reshape(ctx.in_shape), None, None, None, None


# ----- public forms -----
def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits against class indices or class probabilities (fused log-softmax).

    Shapes: input ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``; target class indices ``(N)``,
    ``(N, d1, ...)`` or ``()`` (integers), or probabilities of the input's shape; weight ``(C,)``.
    Output: ``()``, or ``(N, d1, ...)`` for ``reduction='none'``.
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    return CrossEntropy.apply(input, target, weight, reduction, ignore_index, float(label_smoothing))


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities: input ``(N, C, d1, ...)`` or ``(C,)``, target class
    indices ``(N, d1, ...)`` or ``()``, weight ``(C,)``; output ``()`` or ``(N, d1, ...)`` for 'none'."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    return NLLLoss.apply(input, target, weight, reduction, ignore_index)
