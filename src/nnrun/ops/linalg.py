"""Matrix products: matmul (batched, broadcasting, 1-D cases), mm, bmm, baddbmm, einsum."""

from __future__ import annotations

import string
from typing import Any

from nnrun.autograd.function import Function
from nnrun.ops import _out
from nnrun.ops._broadcast import promote, unbroadcast


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(
                f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
            )
        a, b = promote(a, b)
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            rows = "x".join(map(str, a.shape if a.ndim > 1 else (1, *a.shape)))
            cols = "x".join(map(str, b.shape if b.ndim > 1 else (*b.shape, 1)))
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows} and {cols})")
        ctx.ndims = (a.ndim, b.ndim)
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        xp = ctx.xp
        # treat vectors as matrices: a (n,) -> (1, n) and b (n,) -> (n, 1), with the gradient to match
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad_out
        if a.ndim == 1:
            g = xp.expand_dims(g, g.ndim - 1)  # before the last axis (the only one when g is 0-d)
        if b.ndim == 1:
            g = xp.expand_dims(g, -1)
        grad_a = grad_b = None
        if needs_a:
            grad_a = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if needs_b:
            grad_b = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return grad_a, grad_b

    def name(self) -> str:
        # torch names the last step of what matmul dispatched to: a kernel for vectors and matrices, the
        # squeeze of vector @ matrix, the copy of matrix @ batch, the unfolding view of other batches
        named = {
            (2, 2): "MmBackward0",
            (1, 1): "DotBackward0",
            (2, 1): "MvBackward0",
            (1, 2): "SqueezeBackward4",
        }
        if self.ndims in named:
            return named[self.ndims]
        return "CloneBackward0" if self.ndims[0] == 2 else "UnsafeViewBackward0"


def matmul(input: Any, other: Any, *, out: Any = None) -> Any:
    if out is not None:
        return _out.into("matmul", out, (input, other), lambda: matmul(input, other))
    return MatMul.apply(input, other)


def mm(input: Any, mat2: Any) -> Any:
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2D tensors, got {input.ndim}D and {mat2.ndim}D")
    return MatMul.apply(input, mat2)


def bmm(input: Any, mat2: Any) -> Any:
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3D tensors, got {input.ndim}D and {mat2.ndim}D")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes must match, got {input.shape[0]} and {mat2.shape[0]}")
    return MatMul.apply(input, mat2)


class BaddBmm(Function):
    """``beta * input + alpha * (batch1 @ batch2)``, ``input`` broadcast to ``(B, N, P)``."""

    @staticmethod
    def forward(ctx, input, batch1, batch2, beta, alpha):
        ctx.save_for_backward(batch1, batch2)
        ctx.input_shape, ctx.beta, ctx.alpha = input.shape, beta, alpha
        product = batch1 @ batch2
        if alpha != 1:
            product *= product.dtype.type(alpha)
        if beta == 0:  # input is ignored, NaN and inf included, as in torch
            return product
        return product + (input if beta == 1 else input * input.dtype.type(beta))

    @staticmethod
    def backward(ctx, grad_out):
        batch1, batch2 = ctx.saved_tensors
        needs_input, needs_1, needs_2 = ctx.needs_input_grad[:3]
        xp = ctx.xp
        grad_input = grad_1 = grad_2 = None
        if needs_input:  # d/dinput = beta g, summed over the dims input was broadcast along
            grad_input = unbroadcast(grad_out * grad_out.dtype.type(ctx.beta), ctx.input_shape)
        if needs_1:  # d/dbatch1 = alpha g batch2ᵀ
            grad_1 = (grad_out @ xp.swapaxes(batch2, -1, -2)) * grad_out.dtype.type(ctx.alpha)
        if needs_2:  # d/dbatch2 = alpha batch1ᵀ g
            grad_2 = (xp.swapaxes(batch1, -1, -2) @ grad_out) * grad_out.dtype.type(ctx.alpha)
        return grad_input, grad_1, grad_2, None, None


def baddbmm(
    input: Any, batch1: Any, batch2: Any, *, beta: float = 1, alpha: float = 1, out: Any = None
) -> Any:
    """``beta * input + alpha * bmm(batch1, batch2)``: batch1 ``(B, N, M)``, batch2 ``(B, M, P)``, input
    broadcastable to ``(B, N, P)``; with ``beta=0`` input is ignored."""
    if out is not None:
        return _out.into(
            "baddbmm", out, (input, batch1, batch2),
            lambda: baddbmm(input, batch1, batch2, beta=beta, alpha=alpha),
        )  # fmt: skip
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise RuntimeError(
            f"batch1 must be a 3D tensor, batch2 must be a 3D tensor, got {batch1.ndim}D and {batch2.ndim}D"
        )
    if not (input.dtype == batch1.dtype == batch2.dtype):
        raise RuntimeError(
            f"Input dtypes must be the same, got: input {input.dtype}, batch1: {batch1.dtype}, batch2: "
            f"{batch2.dtype}"
        )
    batch, rows, inner = batch1.shape
    if tuple(batch2.shape[:2]) != (batch, inner):
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {inner}] but got: "
            f"[{batch2.shape[0]}, {batch2.shape[1]}]."
        )
    target = (batch, rows, batch2.shape[2])
    shape = tuple(input.shape)
    padded = (1,) * (3 - len(shape)) + shape
    if len(shape) > 3 or any(size not in (1, want) for size, want in zip(padded, target)):
        raise RuntimeError(
            f"The expanded size of the tensor must match the existing size: target sizes {list(target)}, "
            f"tensor sizes {list(shape)}"
        )
    return BaddBmm.apply(input, batch1, batch2, beta, alpha)


def _explicit_equation(equation: str, ndims: list[int]) -> tuple[list[str], str]:
    """Subscripts with ``...`` expanded to letters and the output made explicit."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise RuntimeError(f"einsum(): {len(terms)} operands in the equation but {len(ndims)} given")
    used = set(equation) - set(".,->")
    spare = [c for c in string.ascii_letters if c not in used]
    ellipsis_rank = max(
        (ndim - len(term.replace("...", "")) for term, ndim in zip(terms, ndims) if "..." in term), default=0
    )
    ellipsis = "".join(spare[:ellipsis_rank])
    expanded = []
    for term, ndim in zip(terms, ndims):
        if "..." in term:
            own = ndim - len(term.replace("...", ""))
            term = term.replace("...", ellipsis[ellipsis_rank - own :])
        if len(term) != ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(term)}) does not match the "
                f"number of dimensions ({ndim}) for operand {len(expanded)}"
            )
        expanded.append(term)
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:
        counts = {c: "".join(expanded).count(c) for c in "".join(expanded)}
        output = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis))
    return expanded, output


class Einsum(Function):
    @staticmethod
    def forward(ctx, equation, *operands):
        terms, output = _explicit_equation(equation, [op.ndim for op in operands])
        sizes: dict[str, int] = {}
        for term, op in zip(terms, operands):
            for letter, size in zip(term, op.shape):
                if sizes.get(letter, 1) == 1:
                    sizes[letter] = size
        ctx.terms, ctx.output, ctx.sizes = terms, output, sizes
        ctx.save_for_backward(*operands)
        explicit = ",".join(terms) + "->" + output
        return ctx.xp.einsum(explicit, *operands, optimize=True)

    @staticmethod
    def backward(ctx, grad_out):
        operands = ctx.saved_tensors
        grads = [None]
        for i, (term, op) in enumerate(zip(ctx.terms, operands)):
            needed = ctx.needs_input_grad[i + 1]
            grads.append(_einsum_operand_grad(ctx, i, term, op, operands, grad_out) if needed else None)
        return tuple(grads)


def _einsum_operand_grad(ctx: Function, i: int, term: str, op: Any, operands: Any, grad_out: Any) -> Any:
    """d(out)/d(operand i): contract the output gradient with every other operand back to ``term``."""
    xp, sizes = ctx.xp, ctx.sizes
    # letters an operand only broadcasts (size 1 against a larger size) act as constants along that axis
    inputs, subscripts = [grad_out], [ctx.output]
    for j, (other_term, other) in enumerate(zip(ctx.terms, operands)):
        if j == i:
            continue
        squeeze = tuple(k for k, c in enumerate(other_term) if other.shape[k] == 1 and sizes[c] != 1)
        inputs.append(other.squeeze(squeeze) if squeeze else other)
        subscripts.append("".join(c for k, c in enumerate(other_term) if k not in squeeze))
    available = set("".join(subscripts))
    unique = []
    for k, c in enumerate(term):
        if c not in unique and c in available and not (op.shape[k] == 1 and sizes[c] != 1):
            unique.append(c)
    target = "".join(unique)
    grad = xp.einsum(",".join(subscripts) + "->" + target, *inputs, optimize=True)
    # one axis per distinct letter of the term; size 1 where the gradient lacks the letter (it was summed
    # only in this operand, or this operand broadcasts it), then broadcast back out
    distinct = list(dict.fromkeys(term))
    grad = grad.reshape([sizes[c] if c in unique else 1 for c in distinct])
    if len(distinct) == len(term):
        return xp.ascontiguousarray(xp.broadcast_to(grad, op.shape))
    grad = xp.broadcast_to(grad, [op.shape[term.index(c)] for c in distinct])
    # repeated letters in one operand (a diagonal): place the gradient on that diagonal
    result = xp.zeros(op.shape, dtype=grad.dtype)
    key = []
    for k, c in enumerate(term):
        position = distinct.index(c)
        index_shape = [1] * len(distinct)
        index_shape[position] = op.shape[k]
        key.append(xp.arange(op.shape[k]).reshape(index_shape))
    result[tuple(key)] = grad
    return result


def einsum(equation: str, *operands: Any) -> Any:
    """Einstein summation, as ``torch.einsum`` (operands as varargs or one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return Einsum.apply(equation, *operands)
