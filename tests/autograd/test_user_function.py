"""A user's ``autograd.Function`` written as for torch: tensors in forward and backward, compared with torch.

Each Function is written once against the shared API (``lib`` is ``torch`` or ``nnrun``).
"""

import numpy as np
import pytest

import nnrun
from nnrun.autograd import gradcheck
from nnrun.ops.unary import Exp

torch = pytest.importorskip("torch")


def _functions(lib):
    class Rectifier(lib.autograd.Function):
        """max(x, 0), its backward zeroing the gradient where the input was negative."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            grad_in = grad_out.clone()
            grad_in[x < 0] = 0
            return grad_in

    class Cubic(lib.autograd.Function):
        """The Legendre polynomial of degree 3: (5 x^3 - 3 x) / 2."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x**3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            return grad_out * 1.5 * (5 * x**2 - 1)

    class SumAndProduct(lib.autograd.Function):
        """Two outputs, a + b and a * b, a scale that is no tensor, and needs_input_grad."""

        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return scale * (a + b), a * b

        @staticmethod
        def backward(ctx, grad_sum, grad_product):
            a, b = ctx.saved_tensors
            grad_a = grad_sum * ctx.scale + grad_product * b if ctx.needs_input_grad[0] else None
            grad_b = grad_sum * ctx.scale + grad_product * a if ctx.needs_input_grad[1] else None
            return grad_a, grad_b, None

    class ExpSavingOutput(lib.autograd.Function):
        """Saves its output, as torch's docs show for exp."""

        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_out):
            (y,) = ctx.saved_tensors
            return grad_out * y

    return Rectifier, Cubic, SumAndProduct, ExpSavingOutput


def _values(shape, seed, dtype):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _pair(values, lib, dtype, requires_grad=True):
    dt = getattr(lib, dtype)
    return lib.tensor(values, dtype=dt, requires_grad=requires_grad)


def _close(ours, theirs, dtype):
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("which", [0, 1, 3])
def test_one_output_functions_match_torch(which, dtype):
    values = _values((3, 4), 0, dtype)
    weights = _values((3, 4), 1, dtype)
    results = {}
    for lib in (nnrun, torch):
        fn = _functions(lib)[which]
        x = _pair(values, lib, dtype)
        y = fn.apply(x)
        (y * lib.tensor(weights)).sum().backward()
        results[lib] = (y, x.grad)
    for ours, theirs in zip(results[nnrun], results[torch]):
        _close(ours, theirs, dtype)


def test_rectifier_node_name_and_printed_output_match_torch():
    outputs = {}
    for lib in (nnrun, torch):
        y = _functions(lib)[0].apply(lib.tensor([-1.0, 2.0], requires_grad=True))
        outputs[lib] = y
    assert outputs[nnrun].grad_fn.name() == outputs[torch].grad_fn.name() == "RectifierBackward"
    assert repr(outputs[nnrun]).replace("nnrun", "torch") == repr(outputs[torch])
    assert type(outputs[nnrun].grad_fn).__name__ == "Rectifier"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_two_outputs_match_torch(dtype):
    a_values, b_values = _values((2, 3), 2, dtype), _values((2, 3), 3, dtype)
    results = {}
    for lib in (nnrun, torch):
        fn = _functions(lib)[2]
        a, b = _pair(a_values, lib, dtype), _pair(b_values, lib, dtype)
        total, product = fn.apply(a, b, 1.5)
        (total * 2 + product.sin()).sum().backward()
        results[lib] = (total, product, a.grad, b.grad)
    for ours, theirs in zip(results[nnrun], results[torch]):
        _close(ours, theirs, dtype)


def test_two_outputs_only_one_used_and_no_grad_for_a_constant():
    results = {}
    for lib in (nnrun, torch):
        fn = _functions(lib)[2]
        a = _pair(_values((3,), 4, "float64"), lib, "float64")
        b = _pair(_values((3,), 5, "float64"), lib, "float64", requires_grad=False)
        total, product = fn.apply(a, b, 2.0)
        assert product.requires_grad and total.requires_grad
        product.sum().backward()  # the unused output's gradient arrives as zeros
        assert b.grad is None
        results[lib] = a.grad
    _close(results[nnrun], results[torch], "float64")


def test_gradcheck_of_user_functions_in_float64():
    rectifier, cubic, sum_and_product, exp_saving_output = _functions(nnrun)
    x = nnrun.tensor(_values((2, 3), 6, "float64") + 0.05, requires_grad=True)
    y = nnrun.tensor(_values((2, 3), 7, "float64"), requires_grad=True)
    assert gradcheck(rectifier.apply, (x,))
    assert gradcheck(cubic.apply, (x,))
    assert gradcheck(exp_saving_output.apply, (x,))
    assert gradcheck(lambda a, b: sum_and_product.apply(a, b, 0.7), (x, y))


def test_forward_and_backward_see_tensors_with_recording_off():
    seen = {}

    class Probe(nnrun.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            seen["forward"] = (type(x), x.requires_grad, nnrun.is_grad_enabled(), k)
            return x * k

        @staticmethod
        def backward(ctx, grad_out):
            seen["backward"] = (type(grad_out), grad_out.requires_grad, nnrun.is_grad_enabled())
            return grad_out * ctx.needs_input_grad[0], None

    x = nnrun.tensor([1.0, 2.0], requires_grad=True)
    Probe.apply(x, 3).sum().backward()
    assert seen["forward"] == (nnrun.Tensor, False, False, 3)
    assert seen["backward"] == (nnrun.Tensor, False, False)
    assert nnrun.is_grad_enabled()


def test_forward_inputs_share_the_arguments_memory():
    seen = []

    class Double(nnrun.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(x)
            return x * 2

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out * 2

    x = nnrun.tensor([1.0, 2.0], requires_grad=True)
    Double.apply(x)
    assert seen[0] is not x and np.shares_memory(seen[0].numpy(), x.detach().numpy())


def test_mark_non_differentiable_and_integer_outputs():
    for lib in (nnrun, torch):

        class SortValues(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                values, order = x.sort()
                ctx.mark_non_differentiable(order)
                ctx.save_for_backward(order)
                return values, order

            @staticmethod
            def backward(ctx, grad_values, grad_order):
                (order,) = ctx.saved_tensors
                grad_in = grad_values.new_zeros(grad_values.shape)
                grad_in[order] = grad_values
                return grad_in

        x = lib.tensor([3.0, 1.0, 2.0], requires_grad=True)
        values, order = SortValues.apply(x)
        assert values.requires_grad and not order.requires_grad
        (values * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [3.0, 1.0, 2.0])


def test_set_materialize_grads_false_passes_none():
    received = []

    class Pair(nnrun.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, grad_a, grad_b):
            received.append(grad_b)
            return grad_a

    x = nnrun.tensor([1.0, 2.0], requires_grad=True)
    a, _ = Pair.apply(x)
    a.sum().backward()
    assert received == [None]
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_setup_context_style_matches_torch():
    results = {}
    for lib in (nnrun, torch):

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(x):
                return x * x

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, grad_out):
                (x,) = ctx.saved_tensors
                return 2 * x * grad_out

        x = lib.tensor([1.5, -2.0], requires_grad=True)
        Square.apply(x).sum().backward()
        results[lib] = x.grad
    _close(results[nnrun], results[torch], "float32")


def test_extra_none_gradients_are_allowed_as_in_torch():
    class Twice(nnrun.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out * 2, None

    x = nnrun.tensor([1.0], requires_grad=True)
    Twice.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0])


def test_errors_match_torch():
    for lib in (nnrun, torch):

        class SavesAnInt(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 2

        with pytest.raises(
            TypeError, match="save_for_backward can only save variables, but argument 1 is of type int"
        ):
            SavesAnInt.apply(lib.tensor([1.0], requires_grad=True))

        class ReturnsAFloat(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, grad_out):
                return 1.0

        with pytest.raises(RuntimeError, match=r"expected Variable or None \(got float\)"):
            ReturnsAFloat.apply(lib.tensor([1.0], requires_grad=True)).sum().backward()


def test_modifying_a_saved_input_in_place_is_detected():
    for lib in (nnrun, torch):
        rectifier = _functions(lib)[0]
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        h = x * 1
        y = rectifier.apply(h)
        h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_nnrun_ops_keep_the_array_path():
    assert not Exp._tensor_api
    x = nnrun.tensor([0.5], requires_grad=True)
    assert x.exp().grad_fn.name() == "ExpBackward0"
