"""Grad modes (``no_grad``, ``enable_grad``, ``set_grad_enabled``) and the rules for in-place operations."""

import threading

import numpy as np
import pytest

import nnrun


def _leaf(values):
    return nnrun.tensor(values, dtype=nnrun.float64, requires_grad=True)


# ----- context managers -----
def test_no_grad_context_stops_recording():
    x = _leaf([1.0])
    assert nnrun.is_grad_enabled()
    with nnrun.no_grad():
        assert not nnrun.is_grad_enabled()
        y = x * 2
    assert nnrun.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_enable_grad_inside_no_grad():
    x = _leaf([1.0])
    with nnrun.no_grad():
        with nnrun.enable_grad():
            assert nnrun.is_grad_enabled()
            y = x * 2
        assert not nnrun.is_grad_enabled()
    assert y.requires_grad


def test_nested_no_grad_restores_outer_mode():
    with nnrun.no_grad():
        with nnrun.no_grad():
            pass
        assert not nnrun.is_grad_enabled()
    assert nnrun.is_grad_enabled()


def test_mode_restored_after_exception():
    with pytest.raises(ValueError), nnrun.no_grad():
        raise ValueError("boom")
    assert nnrun.is_grad_enabled()


def test_set_grad_enabled_as_context_manager():
    with nnrun.set_grad_enabled(False):
        assert not nnrun.is_grad_enabled()
        with nnrun.set_grad_enabled(True):
            assert nnrun.is_grad_enabled()
        assert not nnrun.is_grad_enabled()
    assert nnrun.is_grad_enabled()


def test_set_grad_enabled_as_a_function_call():
    try:
        nnrun.set_grad_enabled(False)
        assert not nnrun.is_grad_enabled()
    finally:
        nnrun.set_grad_enabled(True)
    assert nnrun.is_grad_enabled()


def test_autograd_namespace_exports_the_same_modes():
    assert nnrun.autograd.no_grad is nnrun.no_grad
    assert nnrun.autograd.is_grad_enabled is nnrun.is_grad_enabled


# ----- decorators -----
def test_no_grad_decorator():
    @nnrun.no_grad()
    def doubled(t):
        return t * 2, nnrun.is_grad_enabled()

    y, enabled = doubled(_leaf([1.0]))
    assert not enabled and not y.requires_grad
    assert nnrun.is_grad_enabled()
    assert doubled.__name__ == "doubled"


def test_enable_grad_decorator_inside_no_grad():
    @nnrun.enable_grad()
    def doubled(t):
        return t * 2

    with nnrun.no_grad():
        y = doubled(_leaf([1.0]))
        assert not nnrun.is_grad_enabled()
    assert y.requires_grad


def test_set_grad_enabled_decorator_does_not_change_mode_at_decoration():
    @nnrun.set_grad_enabled(False)
    def enabled():
        return nnrun.is_grad_enabled()

    assert nnrun.is_grad_enabled()
    assert enabled() is False
    assert nnrun.is_grad_enabled()


def test_decorator_restores_mode_after_exception():
    @nnrun.no_grad()
    def fail():
        raise KeyError("x")

    with pytest.raises(KeyError):
        fail()
    assert nnrun.is_grad_enabled()


# ----- thread locality -----
def test_grad_mode_is_thread_local():
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with nnrun.no_grad():
            seen["worker"] = nnrun.is_grad_enabled()
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert entered.wait(5)
        seen["main"] = nnrun.is_grad_enabled()
        x = _leaf([1.0])
        seen["recorded"] = (x * 2).requires_grad
    finally:
        release.set()
        thread.join()
    assert seen == {"worker": False, "main": True, "recorded": True}


def test_new_thread_starts_with_grad_enabled():
    seen = []
    with nnrun.no_grad():
        thread = threading.Thread(target=lambda: seen.append(nnrun.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


# ----- in-place rules -----
def test_inplace_on_leaf_requiring_grad_errors():
    w = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w -= 1.0
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])


def test_inplace_on_leaf_allowed_under_no_grad():
    w = _leaf([1.0, 2.0])
    (w * w).sum().backward()
    original = w
    with nnrun.no_grad():
        w -= 0.1 * w.grad
    assert w is original
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6])


def test_optimizer_style_loop_under_no_grad():
    w = _leaf([4.0])
    for _ in range(50):
        w.grad = None
        (w * w).sum().backward()
        with nnrun.no_grad():
            w.sub_(0.1 * w.grad)
    assert abs(w.item()) < 1e-3


def test_modifying_a_saved_tensor_before_backward_errors():
    x = _leaf([1.0, 2.0])
    h = x * 2
    y = h.exp()  # exp saves its output
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modifying_a_saved_input_before_backward_errors():
    x = _leaf([1.0, 2.0])
    h = x * 2
    y = h * h  # mul saves both inputs
    h.mul_(3.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modifying_through_a_view_bumps_the_shared_version():
    x = _leaf([1.0, 2.0, 3.0])
    h = x * 1
    y = h * h
    h[0:2].mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_non_leaf_gives_correct_grads():
    x = _leaf([1.0, 2.0, 3.0])
    h = x * 2
    h.mul_(h)  # h = (2x)^2
    h.add_(1.0)
    assert not h.is_leaf and h.requires_grad
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([1.0, 2.0, 3.0]))


def test_inplace_on_non_leaf_matches_out_of_place():
    values = [0.5, -1.0, 2.0]
    x1, x2 = _leaf(values), _leaf(values)
    a = x1.sin()
    a.add_(0.25)
    a.relu_()
    (a * x1 * 3.0).sum().backward()
    b = (x2.sin() + 0.25).relu() * 3.0
    (b * x2).sum().backward()
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy())
    assert a.grad_fn.name() == "ReluBackward0"


def test_relu_saves_its_output_so_changing_it_afterwards_is_an_error():
    # as in torch: relu_ keeps its result (the tensor's own memory) for backward
    a = _leaf([0.5, -1.0, 2.0]).sin()
    a.relu_()
    a.mul_(3.0)
    with pytest.raises(RuntimeError, match="saved by ReluBackward0, is at version 2; expected version 1"):
        a.sum().backward()


def test_inplace_on_tensor_without_grad_joins_the_graph():
    x = _leaf([1.0, 2.0])
    buffer = nnrun.zeros(2, dtype=nnrun.float64)
    buffer.add_(x * 3)
    assert buffer.requires_grad and not buffer.is_leaf
    buffer.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_setitem_on_non_leaf_is_differentiable():
    x = _leaf([1.0, 2.0, 3.0])
    h = x * 1
    h[1] = 0.0
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 1.0])
