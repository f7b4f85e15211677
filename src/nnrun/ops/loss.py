"""Element-wise losses as fused nodes: each forward computes the loss and keeps only its closed-form
derivative, so backward is one multiply (MSE, L1, smooth L1, BCE, BCE with logits, KL divergence).

The reductions follow PyTorch: ``'none'`` keeps the element-wise loss, ``'sum'`` adds it up, ``'mean'``
divides the sum by the number of elements (NaN for an empty input); ``kl_div`` also has ``'batchmean'``.
Cross-entropy and NLL, whose targets are class indices, live in ``ops/cross_entropy.py``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from nnrun._tensor import Tensor
from nnrun.autograd.function import Function
from nnrun.ops._broadcast import check_broadcastable, promote, unbroadcast

REDUCTIONS = ("none", "mean", "sum")


# ----- reductions -----
def check_reduction(reduction: str, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """The reduction named by the deprecated ``size_average``/``reduce`` pair (None counts as True)."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
        UserWarning,
        stacklevel=3,
    )
    return reduction


def resolve_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    return reduction


def reduce_loss(xp: Any, loss: Any, reduction: str) -> Any:
    """Reduce an element-wise loss: ``'sum'``, or the sum over the count of ``'mean'``/``'batchmean'``."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return xp.asarray(total)
    count = mean_count(loss.shape, reduction)
    if count == 0:
        return xp.full((), xp.nan, dtype=loss.dtype)
    return xp.asarray(total / loss.dtype.type(count))  # a NumPy scalar divisor: no copy to a GPU


def spread_grad(grad_out: Any, reduction: str, shape: tuple[int, ...]) -> Any:
    """The gradient of each element of the unreduced loss: ``grad_out``, or it spread over the mean."""
    if reduction in ("mean", "batchmean"):
        count = mean_count(shape, reduction)
        return grad_out / grad_out.dtype.type(count) if count else grad_out * np.nan
    return grad_out


def mean_count(shape: tuple[int, ...], reduction: str) -> int:
    """What a mean divides by: every element, or for ``'batchmean'`` the first dimension."""
    if reduction == "batchmean":
        return shape[0] if shape else 1
    size = 1
    for n in shape:
        size *= n
    return size


def check_weight_shape(input_shape: tuple[int, ...], weight_shape: tuple[int, ...], name: str) -> None:
    """A weight must broadcast to the input's shape without enlarging it."""
    try:
        shape = np.broadcast_shapes(input_shape, weight_shape)
    except ValueError:
        shape = None
    if shape != tuple(input_shape):
        raise RuntimeError(
            f"{name} of shape {list(weight_shape)} does not broadcast to the input's shape "
            f"{list(input_shape)}"
        )


def _as_dtype(grad: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """``grad`` summed back over broadcast dimensions and cast to the input's dtype."""
    return unbroadcast(grad, shape).astype(dtype, copy=False)


# ----- losses of the difference input - target -----
class _DifferenceLoss(Function):
    """A loss of ``d = input - target``; a subclass gives ``loss(xp, d, beta)`` and ``derivative``."""

    _edge_slots = (0, 1)  # input, target

    @staticmethod
    def forward(ctx, input, target, reduction, beta):
        xp = ctx.xp
        ctx.meta = (input.shape, input.dtype, target.shape, target.dtype)
        input, target = promote(input, target)
        diff = input - target
        kind = type(ctx)
        loss = kind.loss(xp, diff, beta)
        out = reduce_loss(xp, loss, reduction)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.reduction = reduction
            ctx.save_for_backward(kind.derivative(xp, diff, beta))  # may reuse diff's memory
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (derivative,) = ctx.saved_tensors
        in_shape, in_dtype, target_shape, target_dtype = ctx.meta
        grad = derivative * spread_grad(grad_out, ctx.reduction, derivative.shape)
        grad_input = _as_dtype(grad, in_shape, in_dtype) if ctx.needs_input_grad[0] else None
        grad_target = _as_dtype(-grad, target_shape, target_dtype) if ctx.needs_input_grad[1] else None
        return grad_input, grad_target, None, None


class MSELoss(_DifferenceLoss):
    def name(self) -> str:
        return "MseLossBackward0"

    @staticmethod
    def loss(xp, d, beta):
        return d * d

    @staticmethod
    def derivative(xp, d, beta):
        d *= 2  # d/dd d^2 = 2d
        return d


class L1Loss(_DifferenceLoss):
    @staticmethod
    def loss(xp, d, beta):
        return xp.abs(d)

    @staticmethod
    def derivative(xp, d, beta):
        return xp.sign(d)  # 0 at d = 0, as torch


class HuberLoss(_DifferenceLoss):
    @staticmethod
    def loss(xp, d, delta):
        abs_d = xp.abs(d)
        return xp.where(abs_d < delta, 0.5 * d * d, delta * (abs_d - 0.5 * delta))

    @staticmethod
    def derivative(xp, d, delta):
        return xp.where(xp.abs(d) < delta, d, delta * xp.sign(d))  # d/dd: d inside, delta sign(d) outside


class SmoothL1Loss(_DifferenceLoss):
    @staticmethod
    def loss(xp, d, beta):
        # 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (beta = 0 is the L1 loss)
        abs_d = xp.abs(d)
        if beta == 0:
            return abs_d
        return xp.where(abs_d < beta, (0.5 / beta) * d * d, abs_d - 0.5 * beta)

    @staticmethod
    def derivative(xp, d, beta):
        if beta == 0:
            return xp.sign(d)
        return xp.where(xp.abs(d) < beta, d / beta, xp.sign(d))


def _warn_if_sizes_differ(input: Any, target: Any) -> None:
    if target.shape != input.shape:
        check_broadcastable(input.shape, target.shape)
        warnings.warn(
            f"Using a target size ({target.size()}) that is different to the input size ({input.size()}). "
            "This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=4,  # the caller of F.mse_loss (or l1_loss)
        )


def _difference_loss(
    function: type[_DifferenceLoss], input: Tensor, target: Tensor, reduction: str, weight: Any, beta: float
) -> Tensor:
    check_reduction(reduction)
    _warn_if_sizes_differ(input, target)
    if weight is None:
        return function.apply(input, target, reduction, beta)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    # weighted: sum(w * loss) / sum(w) for 'mean', composed of tensor ops so the weight gets a gradient
    loss = function.apply(input, target, "none", beta) * weight
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / weight.sum()


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Squared error ``(input - target)^2``; any shape (target broadcast with a warning); weight of the
    input's shape makes 'mean' a weighted mean. Output ``()``, or the broadcast shape for 'none'."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    return _difference_loss(MSELoss, input, target, reduction, weight, 0.0)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Absolute error ``|input - target|``; shapes as ``mse_loss``."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    return _difference_loss(L1Loss, input, target, reduction, weight, 0.0)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, with ``d = input - target``;
    shapes as ``mse_loss``."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _difference_loss(SmoothL1Loss, input, target, reduction, None, float(beta))


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Tensor | None = None
) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``, with ``d = input - target``
    (``delta`` times ``smooth_l1_loss`` with ``beta = delta``); shapes and ``weight`` as ``mse_loss``."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _difference_loss(HuberLoss, input, target, reduction, weight, float(delta))


# ----- binary cross-entropy -----
def _refuse_weight_grad(ctx: Function, name: str, positions: dict[str, int]) -> None:
    for argument, index in positions.items():
        if ctx.needs_input_grad[index]:
            raise RuntimeError(
                f"The function '{name}' is not differentiable with respect to argument '{argument}'. "
                "This input cannot have requires_grad True."
            )


class BinaryCrossEntropy(Function):
    """``-w (t log x + (1 - t) log(1 - x))`` on probabilities ``x``, each log clamped at -100 as torch."""

    @staticmethod
    def forward(ctx, input, target, weight, reduction):
        _refuse_weight_grad(ctx, "binary_cross_entropy", {"weight": 2})
        xp = ctx.xp
        # checked on the CPU only: on a GPU the check would wait for the device every step, and an input
        # outside [0, 1] gives a NaN loss there anyway (the log of a negative number)
        if xp is np and not bool(((input >= 0) & (input <= 1)).all()):
            raise RuntimeError("all elements of input should be between 0 and 1")
        ctx.meta = (input.shape, input.dtype, target.shape, target.dtype)
        x, t = promote(input, target)
        if weight is not None:
            weight = weight.astype(x.dtype, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):  # invalid: inputs outside [0, 1] on a GPU
            log_x = xp.log(x)
            log_1mx = xp.log1p(-x)
        # (t - 1) max(log(1 - x), -100) - t max(log x, -100)
        loss = (t - 1) * xp.maximum(log_1mx, -100) - t * xp.maximum(log_x, -100)
        if weight is not None:
            loss *= weight
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.reduction = reduction
            ctx.save_for_backward(x, t, weight)
            ctx.logs = (log_x, log_1mx) if ctx.needs_input_grad[1] else None
        return reduce_loss(xp, loss, reduction)

    @staticmethod
    def backward(ctx, grad_out):
        x, t, weight = ctx.saved_tensors
        in_shape, in_dtype, target_shape, target_dtype = ctx.meta
        scale = spread_grad(grad_out, ctx.reduction, x.shape)
        if weight is not None:
            scale = scale * weight
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            # d/dx = (x - t) / (x (1 - x)), the denominator kept >= 1e-12 as torch
            grad = (x - t) / ctx.xp.maximum((1 - x) * x, 1e-12) * scale
            grad_input = _as_dtype(grad, in_shape, in_dtype)
        if ctx.needs_input_grad[1]:
            log_x, log_1mx = ctx.logs
            grad_target = _as_dtype((log_1mx - log_x) * scale, target_shape, target_dtype)  # d/dt
        return grad_input, grad_target, None, None


class BinaryCrossEntropyWithLogits(Function):
    """``w ((1 - t) x + (1 + (p - 1) t) softplus(-x))``: BCE of ``sigmoid(x)`` without forming it.

    ``softplus(-x) = max(-x, 0) + log1p(exp(-|x|))`` never overflows; ``sigmoid(x) = exp(-softplus(-x))``.
    """

    @staticmethod
    def forward(ctx, input, target, weight, pos_weight, reduction):
        _refuse_weight_grad(ctx, "binary_cross_entropy_with_logits", {"weight": 2, "pos_weight": 3})
        xp = ctx.xp
        ctx.meta = (input.shape, input.dtype, target.shape, target.dtype)
        x, t = promote(input, target)
        softplus_neg = xp.maximum(-x, 0)
        softplus_neg += xp.log1p(xp.exp(-xp.abs(x)))
        if pos_weight is None:
            log_weight = None
            loss = (1 - t) * x + softplus_neg
        else:
            pos_weight = pos_weight.astype(x.dtype, copy=False)
            log_weight = 1 + (pos_weight - 1) * t
            loss = (1 - t) * x + log_weight * softplus_neg
        if weight is not None:
            weight = weight.astype(x.dtype, copy=False)
            loss = loss * weight
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.reduction = reduction
            ctx.save_for_backward(x, t, weight, pos_weight)
            ctx.extra = (softplus_neg, log_weight)
        return reduce_loss(xp, loss, reduction)

    @staticmethod
    def backward(ctx, grad_out):
        x, t, weight, pos_weight = ctx.saved_tensors
        softplus_neg, log_weight = ctx.extra
        in_shape, in_dtype, target_shape, target_dtype = ctx.meta
        xp = ctx.xp
        scale = spread_grad(grad_out, ctx.reduction, x.shape)
        if weight is not None:
            scale = scale * weight
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            sigmoid = xp.exp(-softplus_neg)
            # d/dx = (1 + (p - 1) t) sigmoid(x) - p t, which is sigmoid(x) - t without pos_weight
            grad = sigmoid - t if pos_weight is None else log_weight * sigmoid - pos_weight * t
            grad_input = _as_dtype(grad * scale, in_shape, in_dtype)
        if ctx.needs_input_grad[1]:
            grad = -x if pos_weight is None else (pos_weight - 1) * softplus_neg - x  # d/dt
            grad_target = _as_dtype(grad * scale, target_shape, target_dtype)
        return grad_input, grad_target, None, None, None


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """BCE of probabilities in [0, 1] (logs clamped at -100); target of the input's shape, weight
    broadcastable to it. Output ``()``, or the input's shape for 'none'."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.size()}) that is different to the input size ({input.size()}) "
            "is deprecated. Please ensure they have the same size."
        )
    if weight is not None:
        check_weight_shape(input.shape, weight.shape, "weight")
    return BinaryCrossEntropy.apply(input, target, weight, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE of ``sigmoid(input)`` computed stably from logits; target of the input's shape, weight and
    pos_weight (e.g. ``(C,)`` for ``(N, C)``) broadcastable to it. Output ``()``, or the input's shape."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    for name, extra in (("weight", weight), ("pos_weight", pos_weight)):
        if extra is not None:
            check_weight_shape(input.shape, extra.shape, name)
    return BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight, reduction)


# ----- Kullback-Leibler divergence -----
class KLDiv(Function):
    """Point-wise ``t (log t - x)`` (0 where ``t = 0``), or ``exp(t) (t - x)`` when ``t`` is a log."""

    @staticmethod
    def forward(ctx, input, target, reduction, log_target):
        xp = ctx.xp
        ctx.meta = (input.shape, input.dtype, target.shape, target.dtype)
        x, t = promote(input, target)
        if log_target:
            prob = xp.exp(t)
            loss = prob * (t - x)
        else:
            prob = t
            with np.errstate(divide="ignore", invalid="ignore"):
                log_t = xp.log(t)
                t_log_t = t * log_t  # xlogy(t, t): 0 at t = 0, NaN for t < 0
            t_log_t[t == 0] = 0
            loss = t_log_t - t * x
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.reduction = reduction
            ctx.loss_shape = loss.shape
            ctx.save_for_backward(prob)
            ctx.extra = None
            if ctx.needs_input_grad[1]:
                # d/dt: log t + 1 - x, or exp(t) (t - x + 1) = loss + exp(t)
                ctx.extra = loss + prob if log_target else log_t + 1 - x
        return reduce_loss(xp, loss, reduction)

    @staticmethod
    def backward(ctx, grad_out):
        (prob,) = ctx.saved_tensors
        in_shape, in_dtype, target_shape, target_dtype = ctx.meta
        scale = spread_grad(grad_out, ctx.reduction, ctx.loss_shape)
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            grad = ctx.xp.broadcast_to(-prob * scale, ctx.loss_shape)  # d/dx = -t, or -exp(t)
            grad_input = _as_dtype(grad, in_shape, in_dtype)
        if ctx.needs_input_grad[1]:
            grad_target = _as_dtype(ctx.extra * scale, target_shape, target_dtype)
        return grad_input, grad_target, None, None


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Point-wise KL divergence ``target * (log(target) - input)`` with ``input`` log-probabilities.

    reduction 'none' | 'batchmean' (the true KL: sum / N) | 'sum' | 'mean' (sum / numel, warns as torch).
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    check_reduction(reduction, ("none", "batchmean", "sum", "mean"))
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            UserWarning,
            stacklevel=2,
        )
    check_broadcastable(input.shape, target.shape)
    return KLDiv.apply(input, target, reduction, log_target)
