"""Parameter initialisation, in place and without recording gradients (``nnrun.nn.init``).

Random fills draw from nnrun's generator (``generator``, else the default one), so ``nnrun.manual_seed``
makes them reproducible.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from nnrun import _creation
from nnrun._random import Generator
from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import no_grad

_LINEAR_GAINS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale of weights feeding ``nonlinearity`` (``relu`` → sqrt(2), ``tanh`` → 5/3…)."""
    if nonlinearity in _LINEAR_GAINS:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight ``(out, in, *kernel)``: in and out times the kernel size."""
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write ``values`` (an array or a scalar) into ``tensor``'s memory, outside autograd."""
    xp = tensor.xp_module()
    xp.copyto(tensor._data, values, casting="unsafe")
    tensor._bump_version()
    return tensor


def _random(kind: str, tensor: Tensor, generator: Generator | None) -> Any:
    draw = _creation.rand if kind == "uniform" else _creation.randn
    return draw(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)._data


@no_grad()
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Fill with samples of U(a, b)."""
    return _fill(tensor, _random("uniform", tensor, generator) * (b - a) + a)


@no_grad()
def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    return _fill(tensor, _random("normal", tensor, generator) * std + mean)


@no_grad()
def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill with samples of N(mean, std²) conditioned on ``[a, b]`` (bounds in the tensor's units).

    By rejection: normal draws outside the bounds are drawn again. Where the bounds hold under 5% of the
    normal's mass, proposals come instead uniformly from the bounds (cut where the density has fallen by
    e^-40), accepted with probability ``exp(-(z² - m²) / 2)``, ``m`` the bound point nearest the mean.
    """
    if std <= 0 or not a < b:
        raise ValueError(f"trunc_normal_: needs std > 0 and a < b, got std={std}, a={a}, b={b}")
    xp = tensor.xp_module()
    lo, hi = (a - mean) / std, (b - mean) / std  # the bounds in standard units
    mass = math.erf(hi / math.sqrt(2)) / 2 - math.erf(lo / math.sqrt(2)) / 2
    nearest = min(max(0.0, lo), hi)
    if mass < 0.05:
        reach = math.sqrt(nearest * nearest + 80)  # beyond |z| = reach the density ratio is below e^-40
        lo, hi = max(lo, -reach), min(hi, reach)

    def uniform(count: int) -> Any:
        return _creation.rand((count,), generator=generator, dtype="float64", device=tensor.device)._data

    if mass >= 0.05:
        rate = mass
    else:  # the accepted share of uniform proposals: the mass over the proposal box's area
        rate = mass * math.sqrt(2 * math.pi) * math.exp(min(nearest * nearest / 2, 600)) / (hi - lo)
    rate = min(max(rate, 1e-3), 1.0)
    total = tensor.numel()
    pieces, found = [], 0
    while found < total:
        count = int((total - found) / rate * 1.1) + 32  # enough to be done in one round, most times
        if mass >= 0.05:
            z = _creation.randn((count,), generator=generator, dtype="float64", device=tensor.device)._data
            accepted = z[(z >= lo) & (z <= hi)]
        else:
            z = lo + (hi - lo) * uniform(count)
            accepted = z[uniform(count) < xp.exp(-(z * z - nearest * nearest) / 2)]
        pieces.append(accepted)
        found += int(accepted.shape[0])
    draws = xp.concatenate(pieces)[:total] if pieces else xp.empty(0)
    return _fill(tensor, xp.clip(draws * std + mean, a, b).reshape(tensor.shape))


@no_grad()
def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """U(-a, a) with a = gain·sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """N(0, std²) with std = gain·sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """U(-bound, bound) with bound = gain·sqrt(3 / fan) (He et al., 2015); ``a`` is leaky_relu's slope."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """N(0, std²) with std = gain / sqrt(fan) (He et al., 2015)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


@no_grad()
def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013): the Q of the QR decomposition of a
    normal ``(rows, numel / rows)`` matrix, its columns' signs set so that R's diagonal is positive;
    dimensions after the first are flattened."""
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    xp = tensor.xp_module()
    flat = _creation.randn((rows, cols), generator=generator, dtype=tensor.dtype, device=tensor.device)._data
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(tensor.shape))


def layer_default_(weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch's start for ``Linear`` and the convolutions: ``kaiming_uniform_(weight, a=sqrt(5))``, whose
    bound sqrt(6 / (1 + 5)) / sqrt(fan_in) is 1 / sqrt(fan_in), and the bias U(-1/sqrt(fan_in),
    1/sqrt(fan_in)); where fan_in is 0 the bias is drawn from U(0, 0), as PyTorch 2.13 does for both."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
