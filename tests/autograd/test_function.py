"""Custom ``nnrun.autograd.Function``: ctx, saved tensors, needs_input_grad, multiple outputs, gradcheck."""

import numpy as np
import pytest

import nnrun
from nnrun.autograd import Function, GradcheckError, gradcheck


def _leaf(values):
    return nnrun.tensor(values, dtype=nnrun.float64, requires_grad=True)


class ScaledMul(Function):
    """``scale * a * b`` with a non-tensor ``scale``."""

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return scale * a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        grad_a = grad_out * ctx.scale * b if ctx.needs_input_grad[0] else None
        grad_b = grad_out * ctx.scale * a if ctx.needs_input_grad[1] else None
        return grad_a, grad_b, None


class SinCos(Function):
    """Two outputs: ``(sin x, cos x)``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin(), x.cos()

    @staticmethod
    def backward(ctx, grad_sin, grad_cos):
        (x,) = ctx.saved_tensors
        return grad_sin * x.cos() - grad_cos * x.sin()


class WrongSquare(Function):
    """``x ** 2`` with a deliberately wrong derivative (``x`` instead of ``2 x``)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * x


def test_forward_returns_tensor_with_the_users_node():
    a, b = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    out = ScaledMul.apply(a, b, 2.0)
    assert isinstance(out, nnrun.Tensor)
    assert out.requires_grad and isinstance(out.grad_fn, ScaledMul)
    assert out.grad_fn.name() == "ScaledMulBackward"  # torch names a user's node without the 0
    assert repr(out.grad_fn).startswith("<nnrun.autograd.function.ScaledMulBackward object at 0x")
    np.testing.assert_allclose(out.detach().numpy(), [6.0, 16.0])


def test_saved_tensors_and_non_tensor_args():
    a, b = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    ScaledMul.apply(a, b, 2.0).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [6.0, 8.0])
    np.testing.assert_allclose(b.grad.numpy(), [2.0, 4.0])


def test_needs_input_grad_reflects_inputs():
    a = _leaf([1.0])
    b = nnrun.tensor([3.0], dtype=nnrun.float64)
    out = ScaledMul.apply(a, b, 1.0)
    assert out.grad_fn.needs_input_grad == (True, False, False)
    out.sum().backward()
    assert b.grad is None
    np.testing.assert_allclose(a.grad.numpy(), [3.0])


def test_no_graph_when_no_input_requires_grad():
    a = nnrun.tensor([1.0])
    out = ScaledMul.apply(a, a, 1.0)
    assert not out.requires_grad and out.grad_fn is None


def test_no_graph_under_no_grad():
    a = _leaf([1.0])
    with nnrun.no_grad():
        out = ScaledMul.apply(a, a, 1.0)
    assert not out.requires_grad and out.grad_fn is None


def test_saved_tensors_freed_after_backward():
    a = _leaf([1.0])
    out = ScaledMul.apply(a, a, 1.0)
    node = out.grad_fn
    out.sum().backward()
    with pytest.raises(RuntimeError, match="already been freed"):
        _ = node.saved_tensors


def test_multiple_outputs():
    x = _leaf([0.3, 1.2])
    s, c = SinCos.apply(x)
    assert s.grad_fn is c.grad_fn
    (s * 2 + c).sum().backward()
    values = np.array([0.3, 1.2])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(values) - np.sin(values))


def test_multiple_outputs_only_one_used_gets_zeros_for_the_other():
    x = _leaf([0.3, 1.2])
    s, _ = SinCos.apply(x)
    s.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.3, 1.2]))


def test_returning_none_grads():
    class FirstOnly(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out, None

    a, b = _leaf([1.0]), _leaf([2.0])
    FirstOnly.apply(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.0])
    assert b.grad is None


def test_wrong_number_of_grads_errors():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad_out):
            return (grad_out,)

    out = TooFew.apply(_leaf([1.0]), _leaf([2.0]))
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        out.sum().backward()


def test_wrong_grad_shape_errors():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out.sum(keepdim=True)

    with pytest.raises(RuntimeError, match="invalid gradient"):
        BadShape.apply(_leaf([1.0, 2.0])).sum().backward()


def test_mark_non_differentiable():
    class SortWithIndex(Function):
        @staticmethod
        def forward(ctx, x):
            order = x.argsort()
            ctx.mark_non_differentiable(order)
            ctx.order = order
            return x[order], order

        @staticmethod
        def backward(ctx, grad_values, grad_order):
            grad_in = nnrun.zeros_like(grad_values)
            grad_in[ctx.order] = grad_values
            return grad_in

    x = _leaf([3.0, 1.0, 2.0])
    values, order = SortWithIndex.apply(x)
    assert values.requires_grad and not order.requires_grad
    (values * nnrun.tensor([1.0, 2.0, 3.0], dtype=nnrun.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 1.0, 2.0])


def test_integer_outputs_never_require_grad():
    class FloorWithIndex(Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone(), x.floor().long()

        @staticmethod
        def backward(ctx, grad_x, grad_index):
            return grad_x

    x = _leaf([1.5, 2.5])
    values, index = FloorWithIndex.apply(x)
    assert values.requires_grad
    assert not index.requires_grad and index.grad_fn is None


def test_gradcheck_passes_on_correct_functions():
    rng = np.random.default_rng(0)
    a = nnrun.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = nnrun.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert gradcheck(lambda a, b: ScaledMul.apply(a, b, 1.5), (a, b))
    assert gradcheck(SinCos.apply, (a,))


def test_gradcheck_detects_a_wrong_backward():
    x = nnrun.tensor([0.5, -1.5], dtype=nnrun.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(WrongSquare.apply, (x,))
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_rejects_float32_inputs():
    x = nnrun.tensor([0.5], requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        gradcheck(WrongSquare.apply, (x,))


def test_gradcheck_leaves_inputs_unchanged():
    values = np.array([0.5, -1.5])
    x = nnrun.tensor(values, requires_grad=True)
    gradcheck(lambda t: ScaledMul.apply(t, t, 1.0), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), values)
    assert x.grad is None
