"""Random sampling beyond ``rand``/``randn``: the in-place fills (``normal_``, ``uniform_``, ``exponential_``,
``bernoulli_``, ``random_``, ``geometric_``, ``log_normal_``, ``cauchy_``) and ``normal``, ``bernoulli``,
``multinomial``, ``poisson``, ``randint_like``.

Every draw comes from an nnrun ``Generator`` (the default one unless ``generator=`` is given), so
``manual_seed`` makes them reproducible; on CUDA the arrays come from a CuPy generator seeded from it. The
values differ from torch's, the distributions are the same. A fill records an in-place node whose gradient is
zero (as torch's), and refuses a leaf that requires grad.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnrun import _backend, _creation, _random
from nnrun._tensor import Tensor, array_of, scalar_type_name
from nnrun.autograd.function import Function
from nnrun.autograd.inplace import apply_inplace
from nnrun.ops._broadcast import check_broadcastable
from nnrun.ops.conversion import Fill


def _any_on_cpu(xp: Any, condition: Any) -> bool:
    """Whether ``condition`` holds anywhere, for an input check: asked on the CPU only, since asking would
    read a GPU array back (there, as nnrun's other data checks, a bad value gives a meaningless sample)."""
    return xp is np and bool(condition.any())


def _rng(generator: Any, device: Any) -> Any:
    return _random.generator_or_default(generator).array_generator(device)


def _draw_dtype(np_dtype: Any) -> Any:
    """The dtype NumPy/CuPy can draw floats in: float32 or float64 (float16 draws in float32)."""
    return np_dtype if np_dtype in (np.float32, np.float64) else np.dtype(np.float32)


def _require_float(kernel: str, self: Tensor) -> None:
    if self._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_type_name(self._data.dtype)}'")


def _write(self: Tensor, values: Any) -> Tensor:
    """``values`` written into ``self`` as an in-place node with a zero gradient (as torch's fills)."""
    return apply_inplace(self, Fill, values.astype(self._data.dtype, copy=False))


# ----- in-place fills (Tensor methods) -----
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    _require_float("normal_kernel_cpu", self)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    rng = _rng(generator, self.device)
    return _write(self, rng.standard_normal(self.shape, dtype=_draw_dtype(self._data.dtype)) * std + mean)


def uniform_(
    self: Tensor, from_: float = 0.0, to: float = 1.0, *, generator: Any = None, **kwargs: Any
) -> Tensor:
    """Fill with samples of U[from, to) (``from`` is a keyword too, as in torch)."""
    from_ = kwargs.pop("from", from_)
    if kwargs:
        raise TypeError(f"uniform_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    _require_float("check_uniform_bounds", self)
    if from_ > to:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={from_:g} > to={to:g}"
        )
    rng = _rng(generator, self.device)
    return _write(self, rng.random(self.shape, dtype=_draw_dtype(self._data.dtype)) * (to - from_) + from_)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with samples of the exponential distribution of rate ``lambd`` (density ``λ e^(-λx)``)."""
    if self._data.dtype.kind != "f":
        raise RuntimeError(
            "Exponential distribution is a continuous probability distribution. dtype must be a floating "
            f"point but you specified {scalar_type_name(self._data.dtype)}"
        )
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    rng = _rng(generator, self.device)
    return _write(self, rng.standard_exponential(self.shape, dtype=_draw_dtype(self._data.dtype)) / lambd)


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Any = None) -> Tensor:
    """Fill with ``exp(N(mean, std²))`` samples."""
    _require_float("log_normal_cpu", self)
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    rng = _rng(generator, self.device)
    normal = rng.standard_normal(self.shape, dtype=_draw_dtype(self._data.dtype))
    return _write(self, self.xp_module().exp(normal * std + mean))


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with samples of the Cauchy distribution: ``median + sigma tan(pi (u - 1/2))``."""
    _require_float("cauchy_cpu", self)
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    rng = _rng(generator, self.device)
    u = rng.random(self.shape, dtype=_draw_dtype(self._data.dtype))
    return _write(self, median + sigma * self.xp_module().tan(math.pi * (u - 0.5)))


def geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    rng = _rng(generator, self.device)
    return _write(self, rng.geometric(p, size=self.shape))


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Fill with 1 with probability ``p`` (a number, or a tensor broadcast to this one), else 0."""
    probability = array_of(p)
    if isinstance(p, Tensor):
        xp = _backend.array_module(probability)
        if _any_on_cpu(xp, (probability < 0) | (probability > 1)):
            raise RuntimeError("bernoulli_ expects all probabilities to be in [0, 1]")
        check_broadcastable(self.shape, probability.shape)
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
    rng = _rng(generator, self.device)
    return _write(self, rng.random(self.shape) < probability)


def _random_bounds(np_dtype: Any) -> tuple[int, int]:
    """``random_()``'s default range ``[0, high]``: the integers the dtype holds exactly."""
    if np_dtype.kind == "f":
        return 0, 2 ** (np.finfo(np_dtype).nmant + 1)
    if np_dtype.kind == "b":
        return 0, 1
    return 0, int(np.iinfo(np_dtype).max)


def random_(
    self: Tensor, from_: Any = None, to: Any = None, *, generator: Any = None, **kwargs: Any
) -> Tensor:
    """Fill with integers uniform in ``[from, to)``; ``random_(to)``: in ``[0, to)``; ``random_()``: in
    ``[0, high]``, ``high`` the largest integer the dtype holds exactly (2^24 for float32)."""
    from_ = kwargs.pop("from", from_)
    if kwargs:
        raise TypeError(f"random_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    np_dtype = self._data.dtype
    if from_ is None and to is None:
        low, high = _random_bounds(np_dtype)
        high += 1
    else:
        low, high = (0, from_) if to is None else (from_, to)
        if low >= high:
            raise RuntimeError(
                f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
            )
        if np_dtype.kind in "iu":
            info = np.iinfo(np_dtype)
            name = "unsigned char" if np_dtype == np.uint8 else np_dtype.name
            if not info.min <= low <= info.max:
                raise RuntimeError(f"from is out of bounds for {name}")
            if not info.min <= high - 1 <= info.max:
                raise RuntimeError(f"to - 1 is out of bounds for {name}")
    rng = _rng(generator, self.device)
    return _write(self, rng.integers(int(low), int(high), size=self.shape, dtype=np.int64))


# ----- functions -----
class Normal(Function):
    """``mean + std * noise``: torch's ``normal`` has a zero gradient for both ``mean`` and ``std``."""

    @staticmethod
    def forward(ctx, mean, std, noise):
        return (mean + std * noise).astype(noise.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        return xp.zeros_like(grad_out), xp.zeros_like(grad_out), None


def normal(
    mean: Any,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Samples of N(mean, std²): ``mean`` and ``std`` tensors (broadcast together) or numbers; with both
    numbers, ``size`` gives the shape."""
    mean_is_tensor, std_is_tensor = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_is_tensor and not std_is_tensor:
        if size is None:
            raise TypeError(
                "normal() received an invalid combination of arguments - got (float, float), but expected "
                "one of: (Tensor mean, Tensor std), (Tensor mean, float std), (float mean, Tensor std), "
                "(float mean, float std, tuple of ints size)"
            )
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        result = _creation.empty(size, dtype=dtype, device=device)
        normal_(result, mean, std, generator=generator)
        return result.requires_grad_(requires_grad)
    like = mean if mean_is_tensor else std
    if std_is_tensor and _any_on_cpu(like.xp_module(), std._data < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    mean_shape = tuple(mean.shape) if mean_is_tensor else ()
    std_shape = tuple(std.shape) if std_is_tensor else ()
    check_broadcastable(mean_shape, std_shape)
    shape = np.broadcast_shapes(mean_shape, std_shape)
    np_dtype = like._data.dtype
    if np_dtype.kind != "f":
        raise NotImplementedError(f"\"normal_kernel_cpu\" not implemented for '{scalar_type_name(np_dtype)}'")
    noise = _rng(generator, like.device).standard_normal(shape, dtype=_draw_dtype(np_dtype)).astype(np_dtype)
    return Normal.apply(mean, std, noise)


def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:
    """0/1 samples of ``input``'s dtype: 1 with probability ``input`` (or ``p`` when given)."""
    probability = input._data if p is None else p
    if p is None:
        xp = input.xp_module()
        if _any_on_cpu(xp, ~((probability >= 0) & (probability <= 1))):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
    result = _creation.empty_like(input)
    rng = _rng(generator, input.device)
    result._data[...] = rng.random(input.shape) < probability
    return result


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    """Samples of Poisson(rate) for each rate in ``input``, in ``input``'s dtype."""
    rates = input._data
    xp = input.xp_module()
    if _any_on_cpu(xp, ~(rates >= 0)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    samples = _rng(generator, input.device).poisson(rates.astype(np.float64))
    return Tensor._make(samples.astype(rates.dtype))


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """Category indices (int64) drawn from each row of weights ``input`` (1-D or 2-D, not normalised).

    With replacement: the inverse CDF of uniform draws. Without: the Gumbel top-k trick (the categories of
    the ``num_samples`` largest ``log w + Gumbel noise``), which draws exactly as sampling one at a time and
    removing each drawn category."""
    weights = input._data
    xp = input.xp_module()
    if weights.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if weights.dtype.kind != "f":
        raise RuntimeError(
            "multinomial only supports floating-point dtypes for input, got: "
            + scalar_type_name(weights.dtype)
        )
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = weights.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    rows = weights.reshape(-1, categories).astype(np.float64)
    if _any_on_cpu(xp, ~xp.isfinite(rows) | (rows < 0)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    totals = rows.sum(axis=1, keepdims=True)
    if _any_on_cpu(xp, totals <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = _rng(generator, input.device)
    if replacement:
        cdf = xp.cumsum(rows / totals, axis=1)
        cdf[:, -1] = 1.0  # rounding must not leave a gap above the last category
        u = rng.random((rows.shape[0], num_samples))
        chosen = (cdf[:, None, :] <= u[:, :, None]).sum(axis=2)
        chosen = xp.minimum(chosen, categories - 1)
    else:
        with np.errstate(divide="ignore"):
            keys = xp.log(rows) - xp.log(rng.standard_exponential(rows.shape))  # log w + Gumbel noise
        chosen = xp.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor._make(chosen.reshape((*weights.shape[:-1], num_samples)).astype(np.int64))


def randint_like(
    input: Tensor,
    low: int = 0,
    high: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Integers uniform in ``[low, high)`` of ``input``'s shape, dtype and device (``randint_like(x, high)``
    gives ``[0, high)``)."""
    if high is None:
        low, high = 0, low
    result = _creation.empty(
        input.shape,
        dtype=input.dtype if dtype is None else dtype,
        device=input.device if device is None else device,
    )
    random_(result, low, high, generator=generator)
    return result.requires_grad_(requires_grad) if requires_grad else result
