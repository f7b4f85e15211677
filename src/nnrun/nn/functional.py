"""Stateless neural-network functions (``nnrun.nn.functional``, imported as ``F``)."""

from __future__ import annotations

import warnings
from typing import Any

from nnrun._tensor import Tensor
from nnrun.ops import activation as _activation
from nnrun.ops import conv as _conv
from nnrun.ops import cross_entropy as _cross_entropy
from nnrun.ops import dropout as _dropout
from nnrun.ops import embedding as _embedding
from nnrun.ops import linear as _linear
from nnrun.ops import loss as _loss
from nnrun.ops import normalization as _normalization
from nnrun.ops import padding as _padding
from nnrun.ops import pooling as _pooling
from nnrun.ops import unary as _unary


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``.

    Shapes: input ``(*, in)``, weight ``(out, in)``, bias ``(out,)`` or None; output ``(*, out)``.
    """
    return _linear.linear(input, weight, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` element-wise; ``inplace`` overwrites ``input``."""
    return input.relu_() if inplace else input.relu()


# ----- losses (ops/loss.py, ops/cross_entropy.py) -----
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
    reduction = _loss.resolve_reduction(size_average, reduce, reduction)
    return _cross_entropy.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


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
    reduction = _loss.resolve_reduction(size_average, reduce, reduction)
    return _cross_entropy.nll_loss(input, target, weight, ignore_index, reduction)


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
    reduction = _loss.resolve_reduction(size_average, reduce, reduction)
    return _loss.mse_loss(input, target, reduction, weight)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Absolute error ``|input - target|``; shapes as ``mse_loss``."""
    reduction = _loss.resolve_reduction(size_average, reduce, reduction)
    return _loss.l1_loss(input, target, reduction, weight)


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
    reduction = _loss.resolve_reduction(size_average, reduce, reduction)
    return _loss.smooth_l1_loss(input, target, reduction, beta)


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
    reduction = _loss.resolve_reduction(size_average, reduce, reduction)
    return _loss.binary_cross_entropy(input, target, weight, reduction)


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
    reduction = _loss.resolve_reduction(size_average, reduce, reduction)
    return _loss.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)


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
        reduction = _loss.legacy_reduction(size_average, reduce)
    return _loss.kl_div(input, target, reduction, log_target)


# ----- activations (ops/activation.py, ops/unary.py) -----
def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``clip(input, min_val, max_val)``; any shape."""
    return _activation.hardtanh(input, min_val, max_val, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(input, 0), 6)``; any shape."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, ``negative_slope * input`` elsewhere; any shape."""
    return _activation.leaky_relu(input, negative_slope, inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``input`` where positive, ``alpha (exp(input) - 1)`` elsewhere; any shape."""
    return _activation.elu(input, alpha, inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``input * Phi(input)`` (exact, via erf), or its tanh approximation; any shape."""
    return _activation.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * sigmoid(input)``; any shape."""
    return _activation.silu(input, inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` where ``beta x > threshold``; any shape."""
    return _activation.softplus(input, beta, threshold)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))``; any shape."""
    return _unary.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """``tanh(input)``; any shape."""
    return _unary.tanh(input)


def _softmax_dim(name: str, dim: int | None, ndim: int) -> int | None:
    if dim is None:
        dim = _activation.softmax_dim(ndim, None)
        warnings.warn(
            f"{name}: no dim given; using dim={dim} (PyTorch's deprecated implicit choice); pass dim",
            stacklevel=3,
        )
    return dim


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (after casting to ``dtype``); output shaped like the input."""
    return _activation.softmax(input, _softmax_dim("softmax", dim, input.ndim), dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``, stable for logits of any size; output shaped like the input."""
    return _activation.log_softmax(input, _softmax_dim("log_softmax", dim, input.ndim), dtype)


# ----- normalisation (ops/normalization.py) -----
def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Per-channel normalisation of ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)`` input.

    ``training``: batch statistics, running statistics (``(C,)``, if given) updated in place with the
    unbiased variance; otherwise the running statistics. ``weight``/``bias`` ``(C,)``.
    """
    return _normalization.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise ``(*, *normalized_shape)`` input over its trailing ``normalized_shape`` dimensions."""
    return _normalization.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise ``(N, C, *)`` input per sample over ``num_groups`` channel groups; ``weight`` ``(C,)``."""
    return _normalization.group_norm(input, num_groups, weight, bias, eps)


# ----- dropout (ops/dropout.py) -----
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero elements with probability ``p``, scale the rest by ``1/(1-p)``; identity unless ``training``."""
    return _dropout.dropout(input, p, training, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, H, W)`` input with probability ``p``; identity unless ``training``."""
    return _dropout.dropout2d(input, p, training, inplace)


# ----- lookups and padding (ops/embedding.py, ops/padding.py) -----
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 class indices ``(*)`` → int64 ``(*, num_classes)`` (``-1``: max index + 1)."""
    return _embedding.one_hot(tensor, num_classes)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` ``(num_embeddings, dim)`` at integer ``input`` ``(*)``: output ``(*, dim)``."""
    return _embedding.embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad trailing dimensions by ``pad = (left_last, right_last, left_prev, right_prev, ...)``.

    ``mode``: ``constant`` (with ``value``; negative amounts crop), ``reflect``, ``replicate``, ``circular``.
    """
    return _padding.pad(input, pad, mode, value)


# ----- convolution (nnrun.ops.conv) -----
conv1d = _conv.conv1d
conv2d = _conv.conv2d
conv_transpose2d = _conv.conv_transpose2d


# ----- pooling (nnrun.ops.pooling) -----
max_pool2d = _pooling.max_pool2d
avg_pool2d = _pooling.avg_pool2d
adaptive_avg_pool2d = _pooling.adaptive_avg_pool2d
adaptive_max_pool2d = _pooling.adaptive_max_pool2d
