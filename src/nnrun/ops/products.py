"""Products composed from matmul and the element-wise ops: dot, outer, mv, the ``add*`` family
(``beta * input + alpha * product``), kron, cross, tensordot, chain_matmul."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun.ops import arithmetic, indexing, reduction, shape
from nnrun.ops.linalg import MatMul, bmm, einsum, mm


def _vectors(*tensors: Any) -> None:
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {t.ndim}D and {tensors[-1].ndim}D tensors")


def dot(input: Any, tensor: Any) -> Any:
    """The inner product of two 1-D tensors of the same length and dtype."""
    _vectors(input, tensor)
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{tensor.shape[0]}] to "
            f"have the same number of elements, but got {input.shape[0]} and {tensor.shape[0]} elements "
            "respectively"
        )
    if input.dtype != tensor.dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{_type_word(input)} and {_type_word(tensor)}"
        )
    return MatMul.apply(input, tensor)


def vdot(input: Any, other: Any) -> Any:
    """``dot`` with the first argument conjugated (real tensors: the same)."""
    return dot(input, other)


def _type_word(t: Any) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int"}.get(
        str(t._data.dtype), str(t._data.dtype)
    )


def outer(input: Any, vec2: Any) -> Any:
    """The outer product ``input[i] * vec2[j]`` of two 1-D tensors."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return arithmetic.mul(shape.reshape(input, (-1, 1)), shape.reshape(vec2, (1, -1)))


def mv(input: Any, vec: Any) -> Any:
    """Matrix (n, m) times vector (m,)."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {vec.ndim}, {input.ndim}, {vec.ndim}")
    return MatMul.apply(input, vec)


def _scaled_sum(input: Any, product: Any, beta: Any, alpha: Any) -> Any:
    """``beta * input + alpha * product``; ``beta = 0`` ignores ``input`` (NaN included), as torch."""
    if alpha != 1:
        product = arithmetic.mul(product, alpha)
    if beta == 0:  # input only gives the shape: where(False, input, product) broadcasts, passes no gradient
        never = _backend.array_module(product._data).zeros((), dtype=bool)
        return indexing.Where.apply(never, input, product)
    return arithmetic.add(input if beta == 1 else arithmetic.mul(input, beta), product)


def addmm(input: Any, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """``beta * input + alpha * (mat1 @ mat2)``, ``input`` broadcast to the product."""
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


def addmv(input: Any, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """``beta * input + alpha * (mat @ vec)``."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


def addr(input: Any, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    return _scaled_sum(input, outer(vec1, vec2), beta, alpha)


def addbmm(input: Any, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    return _scaled_sum(input, reduction.sum(bmm(batch1, batch2), 0), beta, alpha)


def kron(input: Any, other: Any) -> Any:
    """The Kronecker product: block ``(i, j, ...)`` is ``input[i, j, ...] * other``."""
    ndim = max(input.ndim, other.ndim)
    a_shape = (1,) * (ndim - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (ndim - other.ndim) + tuple(other.shape)
    # interleave: a as (a0, 1, a1, 1, ...) times b as (1, b0, 1, b1, ...), then merge each pair
    a = shape.reshape(input, tuple(x for size in a_shape for x in (size, 1)))
    b = shape.reshape(other, tuple(x for size in b_shape for x in (1, size)))
    return shape.reshape(arithmetic.mul(a, b), tuple(sa * sb for sa, sb in zip(a_shape, b_shape)))


def cross(input: Any, other: Any, dim: int | None = None) -> Any:
    """The 3-vector cross product along ``dim`` (the first dimension of size 3 when not given)."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if dim is None:
        dim = next((d for d, s in enumerate(input.shape) if s == 3), -1)
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and "
            f"{other.shape[dim]}"
        )
    a0, a1, a2 = (shape.squeeze(p, dim) for p in shape.split(input, 1, dim))
    b0, b1, b2 = (shape.squeeze(p, dim) for p in shape.split(other, 1, dim))
    mul, sub = arithmetic.mul, arithmetic.sub
    parts = [sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2)), sub(mul(a0, b1), mul(a1, b0))]
    return shape.stack(parts, dim)


def tensordot(a: Any, b: Any, dims: Any = 2) -> Any:
    """Contract the last ``dims`` dimensions of ``a`` with the first of ``b``, or the listed pairs."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        axes_a, axes_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        axes_a, axes_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sub_a = [next(letters) for _ in range(a.ndim)]
    sub_b = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(axes_a, axes_b):
        sub_b[db % b.ndim] = sub_a[da % a.ndim]
    contracted = {sub_a[d % a.ndim] for d in axes_a}
    out = [c for c in sub_a if c not in contracted] + [c for c in sub_b if c not in contracted]
    return einsum("".join(sub_a) + "," + "".join(sub_b) + "->" + "".join(out), a, b)


def chain_matmul(*matrices: Any) -> Any:
    """The product of 2-D tensors, left to right (``linalg.multi_dot`` for matrices)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    result = matrices[0]
    for m in matrices[1:]:
        result = mm(result, m)
    return result
