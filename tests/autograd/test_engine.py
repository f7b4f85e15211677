"""The backward engine: graph walk, accumulation, retained graphs, hooks, ``autograd.grad``, freeing."""

import gc
import weakref

import numpy as np
import pytest

import nnrun
from nnrun.autograd import Function


def _leaf(values, dtype=nnrun.float64):
    return nnrun.tensor(values, dtype=dtype, requires_grad=True)


class CountedIdentity(Function):
    """Identity whose backward counts its calls."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad_out):
        CountedIdentity.calls += 1
        return grad_out


# ----- graph walk -----
def test_long_chain_has_no_recursion_limit():
    x = _leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001**10_000], rtol=1e-9)


def test_diamond_visits_shared_node_once():
    CountedIdentity.calls = 0
    x = _leaf([2.0, 3.0])
    shared = CountedIdentity.apply(x)
    left = shared * 3.0
    right = shared * shared
    (left + right).sum().backward()
    assert CountedIdentity.calls == 1
    np.testing.assert_allclose(x.grad.numpy(), 3.0 + 2 * np.array([2.0, 3.0]))


def test_same_tensor_used_twice_in_one_op():
    x = _leaf([1.5, -2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, -4.0])


# ----- .grad accumulation and seeds -----
def test_grad_accumulates_across_backward_calls():
    x = _leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    x.grad = None
    (x * 4).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0])


def test_new_grad_does_not_alias_the_seed():
    x = _leaf([1.0, 2.0])
    seed = nnrun.tensor([1.0, 1.0], dtype=nnrun.float64)
    x.clone().backward(seed)
    x.grad.add_(1.0)
    np.testing.assert_allclose(seed.numpy(), [1.0, 1.0])


def test_backward_with_gradient_for_non_scalar_output():
    x = _leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(gradient=nnrun.tensor([1.0, 0.5, 0.0], dtype=nnrun.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 0.0])


def test_non_scalar_backward_without_gradient_errors():
    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_gradient_of_wrong_shape_errors():
    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(nnrun.ones(3, dtype=nnrun.float64))


def test_backward_on_tensor_without_grad_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        nnrun.ones(2).sum().backward()


# ----- retain_graph -----
def test_retain_graph_allows_second_backward():
    x = _leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_second_backward_without_retain_graph_errors():
    x = _leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


# ----- the graph is freed -----
def test_graph_is_freed_after_backward_without_gc():
    x = _leaf([1.0, 2.0, 3.0])
    hidden = x.exp()
    node = hidden.grad_fn
    hidden_ref, node_ref = weakref.ref(hidden), weakref.ref(node)
    loss = (hidden * x).sum()
    loss.backward()
    del hidden, node, loss
    assert hidden_ref() is None
    assert node_ref() is None


def test_graph_is_freed_without_backward_too():
    x = _leaf([1.0, 2.0])
    y = x.sin()
    y_ref, node_ref = weakref.ref(y), weakref.ref(y.grad_fn)
    z = y * y
    del y, z
    assert y_ref() is None
    assert node_ref() is None


def test_leaf_grad_does_not_keep_graph_alive():
    gc.collect()
    x = _leaf([1.0, 2.0])
    y = x.tanh()
    node_ref = weakref.ref(y.grad_fn)
    y.sum().backward()
    del y
    assert node_ref() is None
    assert x.grad is not None


# ----- retain_grad and hooks -----
def test_retain_grad_on_non_leaf():
    x = _leaf([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])


def test_non_leaf_grad_is_none_without_retain_grad():
    x = _leaf([1.0, 2.0])
    y = x * 3
    y.sum().backward()
    assert y.grad is None
    assert not y.retains_grad


def test_retain_grad_on_leaf_is_a_no_op():
    x = _leaf([1.0])
    x.retain_grad()
    x.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_hook_on_non_leaf_can_replace_the_gradient():
    x = _leaf([1.0, 2.0])
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])


def test_hook_on_leaf_modifies_accumulated_grad():
    x = _leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 0.5)
    (x * 4).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_hook_handle_removes_the_hook():
    x = _leaf([1.0])
    remove = x.register_hook(lambda g: g * 100)
    remove()
    x.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_retain_grad_follows_inplace_modification():
    x = _leaf([1.0, 2.0])
    h = x * 1
    h.retain_grad()
    h.mul_(2.0)
    (h * 3).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [3.0, 3.0])  # w.r.t. the new value, as in torch
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_retained_grad_sees_hook_result():
    x = _leaf([1.0])
    y = x * 2
    y.register_hook(lambda g: g + 1)
    y.retain_grad()
    y.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [2.0])
    np.testing.assert_allclose(x.grad.numpy(), [4.0])


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        nnrun.ones(2).register_hook(lambda g: g)


# ----- autograd.grad -----
def test_autograd_grad_returns_grads_without_touching_dot_grad():
    x = _leaf([1.0, 2.0])
    w = _leaf([3.0, 4.0])
    y = (x * w).sum()
    gx, gw = nnrun.autograd.grad(y, (x, w))
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad


def test_autograd_grad_with_grad_outputs_and_retain_graph():
    x = _leaf([1.0, 2.0])
    y = x * x
    (g1,) = nnrun.autograd.grad([y], [x], grad_outputs=[nnrun.ones_like(y)], retain_graph=True)
    (g2,) = nnrun.autograd.grad(y, x, grad_outputs=nnrun.tensor([2.0, 0.0], dtype=nnrun.float64))
    np.testing.assert_allclose(g1.numpy(), [2.0, 4.0])
    np.testing.assert_allclose(g2.numpy(), [4.0, 0.0])
    with pytest.raises(RuntimeError, match="second time"):
        nnrun.autograd.grad(y, x, grad_outputs=nnrun.ones_like(y))


def test_autograd_grad_wrt_non_leaf():
    x = _leaf([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = nnrun.autograd.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), [6.0, 12.0])


def test_autograd_grad_unused_input():
    x = _leaf([1.0])
    unused = _leaf([2.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        nnrun.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = nnrun.autograd.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [2.0])
    assert gu is None


def test_autograd_grad_input_without_requires_grad_errors():
    x = _leaf([1.0])
    c = nnrun.tensor([1.0], dtype=nnrun.float64)
    with pytest.raises(RuntimeError, match="does not require grad"):
        nnrun.autograd.grad((x * c).sum(), c)


def test_backward_inputs_restricts_accumulation():
    x = _leaf([1.0])
    w = _leaf([2.0])
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), [1.0])


def test_backward_inputs_may_be_non_leaves():
    x = _leaf([1.0, 2.0])
    h = x * 3
    (h * h).sum().backward(inputs=[h])
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 12.0])
    assert x.grad is None


# ----- graph bookkeeping -----
def test_is_leaf_grad_fn_and_requires_grad_propagation():
    x = _leaf([1.0])
    c = nnrun.tensor([2.0])
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    assert c.is_leaf and not c.requires_grad
    y = x * c
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    assert "Backward" in y.grad_fn.name()
    z = c * 2
    assert not z.requires_grad and z.is_leaf and z.grad_fn is None


def test_next_functions_link_to_leaves():
    x = _leaf([1.0])
    y = x.exp()
    ((accumulate, _),) = y.grad_fn.next_functions
    assert accumulate.name() == "torch::autograd::AccumulateGrad"  # torch's qualified name
    assert accumulate.variable is x


def test_requires_grad_only_on_float_tensors():
    with pytest.raises(RuntimeError, match="floating point"):
        nnrun.tensor([1, 2], requires_grad=True)


def test_cannot_unset_requires_grad_on_non_leaf():
    y = _leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False


def test_detach_cuts_the_graph_and_shares_memory():
    x = _leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    (y * d).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])  # d is a constant 2x
    with nnrun.no_grad():
        d.add_(1.0)
    np.testing.assert_allclose(y.detach().numpy(), [3.0, 5.0])


def test_no_grad_flows_into_inputs_that_do_not_require_it():
    x = _leaf([1.0, 2.0])
    c = nnrun.tensor([3.0, 4.0], dtype=nnrun.float64)
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_backward_skips_work_for_constant_inputs():
    class RecordNeeds(Function):
        needs = None

        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad_out):
            RecordNeeds.needs = ctx.needs_input_grad
            return grad_out, None

    x = _leaf([1.0])
    RecordNeeds.apply(x, nnrun.tensor([2.0], dtype=nnrun.float64)).sum().backward()
    assert RecordNeeds.needs == (True, False)
