"""``nnrun.linalg``, as ``torch.linalg``: norms, inverse, determinants, solve, decompositions, products.

Gradients: norms, ``inv``, ``det``, ``slogdet``, ``solve``, ``cholesky``, ``svdvals``, ``matrix_power``,
``multi_dot``, ``cross``, ``vecdot``. ``qr``, ``svd``, ``eigh``, ``eigvalsh`` and ``pinv`` are forward only:
their backward raises.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from nnrun import _backend, _dtype
from nnrun._dims import normalize_dims
from nnrun._tensor import Tensor
from nnrun.ops import arithmetic, comparison, decompositions, indexing, products, reduction, shape, unary
from nnrun.ops.decompositions import LinAlgError
from nnrun.ops.linalg import matmul

__all__ = [
    "LinAlgError",
    "cholesky",
    "cross",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
]

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


def _cast(input: Any, dtype: Any) -> Any:
    return input if dtype is None else input.to(dtype)


def vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements by default) read as vectors: ``inf`` the largest
    magnitude, ``-inf`` the smallest, ``0`` the count of non-zeros, else ``(sum |x|^ord)^(1/ord)``."""
    x = _cast(x, dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {x.dtype}"
        )
    dims = None if dim is None else (dim if isinstance(dim, int) else tuple(dim))
    ord = float(ord)
    if ord > 0:
        return reduction.Norm.apply(x, ord, dims, keepdim)
    magnitude = unary.abs(x)
    if ord == float("-inf"):
        return reduction.amin(magnitude, () if dims is None else dims, keepdim)
    if ord == 0:
        return reduction.sum(comparison.ne(x, 0).to(x.dtype), dims, keepdim)
    return arithmetic.pow(reduction.sum(arithmetic.pow(magnitude, ord), dims, keepdim), 1.0 / ord)


def matrix_norm(
    A: Any, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *, dtype: Any = None
) -> Any:
    """The ``ord``-norm of the matrices in the plane ``dim``: ``'fro'``, ``'nuc'`` (sum of singular
    values), ``2``/``-2`` (largest/smallest singular value), ``1``/``-1`` (max/min column sum of magnitudes),
    ``inf``/``-inf`` (max/min row sum)."""
    A = _cast(A, dtype)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    rows, cols = normalize_dims(tuple(dim), A.ndim)
    if ord == "fro":
        return reduction.Norm.apply(A, 2.0, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        batch = [d for d in range(A.ndim) if d not in (rows, cols)]
        moved = shape.permute(A, (*batch, rows, cols))
        values = svdvals(moved)
        out = {"nuc": reduction.sum, 2: reduction.amax, -2: reduction.amin}[ord](values, -1)
        return _keep(out, rows, cols) if keepdim else out
    if ord in (1, -1, float("inf"), float("-inf")):
        along, across = (rows, cols) if abs(ord) == 1 else (cols, rows)
        sums = reduction.sum(unary.abs(A), along, True)
        pick = reduction.amax if ord > 0 else reduction.amin
        out = pick(sums, across, True)
        return out if keepdim else shape.squeeze(out, (rows, cols))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def _keep(out: Any, rows: int, cols: int) -> Any:
    for d in sorted((rows, cols)):
        out = shape.unsqueeze(out, d)
    return out


def norm(A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    """``vector_norm`` or ``matrix_norm``: by ``dim`` (an int: vectors, two ints: matrices), else by the
    input's dimensions when ``ord`` is given (1-D: vector, 2-D: matrix); no ``ord`` and no ``dim``: the
    2-norm of all elements."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(
        f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {A.ndim}D."
    )


def inv(A: Any) -> Any:
    """The inverse of each square matrix."""
    return decompositions.Inv.apply(A)


def det(A: Any) -> Any:
    """The determinant of each square matrix."""
    return decompositions.Det.apply(A)


def slogdet(A: Any) -> SlogdetResult:
    """``(sign, log|det A|)`` of each square matrix."""
    return SlogdetResult(*decompositions.SlogDet.apply(A))


def solve(A: Any, B: Any, *, left: bool = True) -> Any:
    """X with ``A X = B`` (``left=False``: ``X A = B``); B may be a (batch of) vector(s)."""
    if not left:
        return shape.transpose(solve(shape.transpose(A, -2, -1), shape.transpose(B, -2, -1)), -2, -1)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    return decompositions.Solve.apply(A, B, vector)


def cholesky(A: Any, *, upper: bool = False) -> Any:
    """L, lower triangular, with ``A = L L^T`` for symmetric positive-definite A (``upper``: ``L^T``)."""
    return decompositions.Cholesky.apply(A, upper)


def svdvals(A: Any) -> Any:
    """The singular values of each matrix, in descending order."""
    return decompositions.SvdVals.apply(A)


def qr(A: Any, mode: str = "reduced") -> QRResult:
    """``(Q, R)`` with ``A = Q R`` (forward only); ``mode``: ``'reduced'``, ``'complete'`` or ``'r'``."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or "
            "'complete'"
        )
    if mode == "r":
        _, r = decompositions.QR.apply(A, "reduced")
        return QRResult(Tensor._make(_backend.array_module(r._data).zeros((0,), dtype=r._data.dtype)), r)
    return QRResult(*decompositions.QR.apply(A, mode))


def svd(A: Any, full_matrices: bool = True) -> SVDResult:
    """``(U, S, Vh)`` with ``A = U diag(S) Vh`` (forward only)."""
    return SVDResult(*decompositions.SVD.apply(A, full_matrices))


def eigh(A: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices, from one triangle (forward only)."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return EighResult(*decompositions.Eigh.apply(A, UPLO))


def eigvalsh(A: Any, UPLO: str = "L") -> Any:
    """The eigenvalues of symmetric matrices, ascending (forward only)."""
    return eigh(A, UPLO).eigenvalues


def pinv(A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Any:
    """The Moore-Penrose pseudo-inverse (forward only); singular values at or below
    ``max(atol, rtol * largest)`` are dropped (default: ``rtol`` = machine epsilon times the larger matrix
    size; with only ``atol`` given, ``rtol`` = 0). ``hermitian`` changes nothing but speed in torch."""
    if rtol is None:
        eps = 1.1920928955078125e-07 if A.dtype == _dtype.float32 else 2.220446049250313e-16
        rtol = 0.0 if atol is not None else eps * max(A.shape[-2:])
    return decompositions.Pinv.apply(A, 0.0 if atol is None else float(atol), float(rtol))


def matrix_power(A: Any, n: int) -> Any:
    """``A`` multiplied by itself ``n`` times (``n = 0``: the identity; ``n < 0``: powers of the inverse),
    by repeated squaring."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.matrix_power: A must be batches of square matrices, but they are {A.shape[-2]} by "
            f"{A.shape[-1]} matrices"
            if A.ndim >= 2
            else "linalg.matrix_power: The input tensor A must have at least 2 dimensions."
        )
    if n == 0:
        xp = _backend.array_module(A._data)
        eye = xp.broadcast_to(xp.eye(A.shape[-1], dtype=A._data.dtype), tuple(A.shape)).copy()
        return arithmetic.add(arithmetic.mul(A, 0), Tensor._make(eye))
    base = inv(A) if n < 0 else A
    n = abs(n)
    result = None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def multi_dot(tensors: Any) -> Any:
    """The product of the matrices in order; the first may be a row vector and the last a column vector."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            where = "first" if i == 0 else "last" if i == len(tensors) - 1 else None
            raise RuntimeError(
                f"multi_dot(): the {where} tensor must be 1D or 2D but got {t.ndim}D"
                if where
                else f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D"
            )
    result = tensors[0]
    for t in tensors[1:]:
        result = matmul(result, t)
    return result


def cross(input: Any, other: Any, *, dim: int = -1) -> Any:
    """The 3-vector cross product along ``dim`` (default the last)."""
    return products.cross(input, other, dim)


def vecdot(x: Any, y: Any, *, dim: int = -1) -> Any:
    """The dot product of vectors along ``dim``, broadcasting the rest."""
    return reduction.sum(arithmetic.mul(x, y), dim)


# ----- the torch.* spellings (also Tensor methods) -----
def logdet(input: Any) -> Any:
    """log(det A): NaN where the determinant is negative, -inf where it is zero."""
    sign, logabsdet = slogdet(input)
    nan = Tensor._make(
        _backend.array_module(logabsdet._data).asarray(float("nan"), dtype=logabsdet._data.dtype)
    )
    return indexing.where(comparison.lt(sign, 0), nan, logabsdet)


def pinverse(input: Any, rcond: float = 1e-15) -> Any:
    """``pinv`` with torch's older spelling and cut-off."""
    return pinv(input, rtol=rcond)
