"""Matrix functions over the last two dimensions (batches broadcast in front): inverse, determinant,
log-determinant, solve, Cholesky and singular values with their gradients; QR, SVD, eigh and the
pseudo-inverse forward only (their backward raises)."""

from __future__ import annotations

from typing import Any

import numpy as np  # shape arithmetic only

from nnrun.autograd.function import Function


def _mT(a: Any) -> Any:
    return a.swapaxes(-1, -2)


def check_square(name: str, a: Any) -> None:
    if a.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"linalg.{name}: A must be batches of square matrices, but they are {a.shape[-2]} by "
            f"{a.shape[-1]} matrices"
        )
    if a.dtype.kind != "f":
        raise RuntimeError(
            f"linalg.{name}: Expected a floating point or complex tensor as input. Got {_type_word(a)}"
        )


def _type_word(a: Any) -> str:
    return {"int64": "Long", "int32": "Int", "bool": "Bool"}.get(str(a.dtype), str(a.dtype))


class LinAlgError(RuntimeError):
    """A matrix that must be invertible (or positive-definite) is not; ``torch.linalg.LinAlgError``."""


def _singular(name: str) -> LinAlgError:
    return LinAlgError(
        f"linalg.{name}: The input matrix is singular, the {name} could not be completed (a pivot is zero)."
    )


class Inv(Function):
    """Y = A^-1; dA = -Y^T g Y^T."""

    @staticmethod
    def forward(ctx, a):
        check_square("inv", a)
        try:
            y = ctx.xp.linalg.inv(a)
        except Exception:  # NumPy's LinAlgError: a singular matrix
            raise _singular("inv") from None
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return -_mT(y) @ grad_out @ _mT(y)

    def name(self) -> str:
        return "LinalgInvExBackward0"


def _adjugate(xp: Any, a: Any) -> Any:
    """adj(A) = det(A) A^-1, well defined for singular A too: with A = U S V^T,
    adj(A) = det(U) det(V) V adj(S) U^T, and adj(S)_ii is the product of the other singular values."""
    u, s, vt = xp.linalg.svd(a)
    ones = xp.ones_like(s[..., :1])
    before = xp.cumprod(xp.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([s[..., 1:], ones], axis=-1), -1), axis=-1), -1)
    others = before * after
    signs = xp.linalg.det(u) * xp.linalg.det(vt)
    return signs[..., None, None] * (_mT(vt) * others[..., None, :]) @ _mT(u)


class Det(Function):
    """d = det(A); dA = g adj(A)^T (= g d A^-T where A is invertible)."""

    @staticmethod
    def forward(ctx, a):
        check_square("det", a)
        ctx.save_for_backward(a)
        return ctx.xp.linalg.det(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out[..., None, None] * _mT(_adjugate(ctx.xp, a))

    def name(self) -> str:
        return "LinalgDetBackward0"


class SlogDet(Function):
    """(sign, log|det A|); d(log|det A|)/dA = A^-T (sign's gradient is zero)."""

    @staticmethod
    def forward(ctx, a):
        check_square("slogdet", a)
        sign, logabsdet = ctx.xp.linalg.slogdet(a)
        ctx.save_for_backward(a)
        return sign, logabsdet  # sign requires grad too, as torch's, with a zero gradient

    @staticmethod
    def backward(ctx, grad_sign, grad_log):
        (a,) = ctx.saved_tensors
        return grad_log[..., None, None] * _mT(ctx.xp.linalg.inv(a))

    def name(self) -> str:
        return "LinalgSlogdetBackward0"


class Solve(Function):
    """X = A^-1 B; dB = A^-T g, dA = -dB X^T. ``vector``: B holds vectors (a trailing axis was added)."""

    @staticmethod
    def forward(ctx, a, b, vector):
        check_square("solve", a)
        xp = ctx.xp
        if vector:
            b = b[..., None]
        if a.shape[-1] != b.shape[-2]:
            raise RuntimeError(
                f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({a.shape[-2]}x"
                f"{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})"
            )
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        try:
            x = xp.linalg.solve(
                xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])
            )
        except Exception:  # NumPy's LinAlgError: a singular matrix
            raise _singular("solve") from None
        ctx.vector, ctx.a_shape, ctx.b_shape = vector, a.shape, b.shape
        ctx.save_for_backward(a, x)
        return x[..., 0] if vector else x

    @staticmethod
    def backward(ctx, grad_out):
        a, x = ctx.saved_tensors
        xp = ctx.xp
        g = grad_out[..., None] if ctx.vector else grad_out
        a_t = xp.broadcast_to(_mT(a), x.shape[:-2] + a.shape[-2:])
        grad_b = xp.linalg.solve(a_t, g)
        grad_a = -grad_b @ _mT(x)
        grad_a = _sum_to(grad_a, ctx.a_shape)
        grad_b = _sum_to(grad_b, ctx.b_shape)
        return grad_a, (grad_b[..., 0] if ctx.vector else grad_b), None

    def name(self) -> str:
        return "LinalgSolveExBackward0"


def _sum_to(grad: Any, shape: tuple[int, ...]) -> Any:
    """Undo the broadcasting of the batch dimensions."""
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad.shape[lead + i] != 1
    )
    return grad.sum(axis=axes).reshape(shape) if axes else grad


def _phi(xp: Any, a: Any) -> Any:
    """The lower triangle with the diagonal halved."""
    lower = xp.tril(a)
    return lower - 0.5 * xp.tril(xp.triu(a))


class Cholesky(Function):
    """L with A = L L^T (``upper``: L^T). dA = sym(L^-T Phi(L^T gL) L^-1) / 2 with Phi the lower triangle,
    diagonal halved (Murray, 2016)."""

    @staticmethod
    def forward(ctx, a, upper):
        check_square("cholesky", a)
        try:
            low = ctx.xp.linalg.cholesky(a)
        except Exception:  # NumPy's LinAlgError
            raise LinAlgError(
                "linalg.cholesky: The factorization could not be completed because the input is not "
                "positive-definite."
            ) from None
        ctx.upper = upper
        ctx.save_for_backward(low)
        return _mT(low).copy() if upper else low

    @staticmethod
    def backward(ctx, grad_out):
        (low,) = ctx.saved_tensors
        xp = ctx.xp
        g = _mT(grad_out) if ctx.upper else grad_out
        inv_low = xp.linalg.inv(low)
        s = _mT(inv_low) @ _phi(xp, _mT(low) @ g) @ inv_low
        return 0.5 * (s + _mT(s)), None

    def name(self) -> str:
        return "LinalgCholeskyExBackward0"


class SvdVals(Function):
    """The singular values, descending; dA = U diag(g) V^T."""

    @staticmethod
    def forward(ctx, a):
        u, s, vt = ctx.xp.linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(u, vt)
        return s

    @staticmethod
    def backward(ctx, grad_out):
        u, vt = ctx.saved_tensors
        return (u * grad_out[..., None, :]) @ vt

    def name(self) -> str:
        return "LinalgSvdBackward0"


class _ForwardOnly(Function):
    """A decomposition computed here without a derivative: backward says so."""

    label = ""

    @classmethod
    def backward(cls, ctx, *grads):
        raise RuntimeError(
            f"nnrun.linalg.{cls.label} has no backward in nnrun (forward only); detach its inputs or use "
            "a differentiable formulation"
        )


class QR(_ForwardOnly):
    label = "qr"

    @staticmethod
    def forward(ctx, a, mode):
        return tuple(ctx.xp.linalg.qr(a, mode=mode))


class SVD(_ForwardOnly):
    label = "svd"

    @staticmethod
    def forward(ctx, a, full_matrices):
        return tuple(ctx.xp.linalg.svd(a, full_matrices=full_matrices))


class Eigh(_ForwardOnly):
    label = "eigh"

    @staticmethod
    def forward(ctx, a, uplo):
        check_square("eigh", a)
        return tuple(ctx.xp.linalg.eigh(a, UPLO=uplo))


class Pinv(_ForwardOnly):
    label = "pinv"

    @staticmethod
    def forward(ctx, a, atol, rtol):
        xp = ctx.xp
        u, s, vt = xp.linalg.svd(a, full_matrices=False)
        cutoff = xp.maximum(atol, rtol * s[..., :1])  # the singular values come largest first
        s_inv = xp.where(s > cutoff, 1 / xp.where(s > cutoff, s, 1), 0)
        return (_mT(vt) * s_inv[..., None, :]) @ _mT(u)
