"""Forward pre-hooks, forward hooks, full backward hooks and their handles."""

import numpy as np
import pytest

import nnrun
from nnrun import nn


@pytest.fixture(autouse=True)
def _seed():
    nnrun.manual_seed(0)


def test_forward_pre_hook_replaces_input():
    relu = nn.ReLU()
    relu.register_forward_pre_hook(lambda m, args: args[0] * 0 - 1)  # a non-tuple is wrapped
    assert relu(nnrun.ones(2)).tolist() == [0.0, 0.0]
    seen = []
    relu.register_forward_pre_hook(lambda m, args: seen.append(len(args)))
    relu(nnrun.ones(2))
    assert seen == [1]


def test_forward_hook_replaces_output_and_sees_args():
    layer = nn.Linear(2, 2)
    calls = []

    def hook(module, args, output):
        calls.append((module, args, output))
        return output + 1

    handle = layer.register_forward_hook(hook)
    x = nnrun.ones(1, 2)
    out = layer(x)
    assert calls[0][0] is layer and calls[0][1][0] is x
    assert nnrun.allclose(out, calls[0][2] + 1)
    handle.remove()
    assert nnrun.allclose(layer(x), calls[0][2])
    assert len(calls) == 1


def test_hooks_with_kwargs_and_prepend():
    order = []
    relu = nn.ReLU()
    relu.register_forward_pre_hook(lambda m, a: order.append("pre-1"))
    relu.register_forward_pre_hook(lambda m, a: order.append("pre-0"), prepend=True)

    def with_kwargs(module, args, kwargs):
        order.append("pre-kw")
        return (args[0] + 5,), kwargs

    relu.register_forward_pre_hook(with_kwargs, with_kwargs=True)
    relu.register_forward_hook(lambda m, a, k, o: order.append(f"post {k}"), with_kwargs=True)
    assert relu(nnrun.zeros(1)).tolist() == [5.0]
    assert order == ["pre-0", "pre-1", "pre-kw", "post {}"]
    relu.register_forward_pre_hook(lambda m, a, k: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of"):
        relu(nnrun.zeros(1))


def test_handle_as_context_manager_and_always_call():
    relu = nn.ReLU()
    seen = []
    with relu.register_forward_hook(lambda m, a, o: seen.append(o)):
        relu(nnrun.zeros(1))
    relu(nnrun.zeros(1))
    assert len(seen) == 1 and not relu._forward_hooks

    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    module = Fails()
    module.register_forward_hook(lambda m, a, o: seen.append("always"), always_call=True)
    with pytest.raises(ValueError, match=r"boom"):
        module(1)
    assert seen[-1] == "always"


def test_full_backward_hook_sees_input_and_output_grads():
    layer = nn.Linear(3, 2)
    seen = []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append((m, gi, go)))
    x = nnrun.randn(4, 3, requires_grad=True)
    layer(x).sum().backward()
    module, grad_input, grad_output = seen[0]
    assert module is layer and len(grad_input) == 1 and len(grad_output) == 1
    assert grad_output[0].tolist() == np.ones((4, 2)).tolist()
    np.testing.assert_allclose(grad_input[0].numpy(), x.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), np.ones((4, 2)) @ layer.weight.detach().numpy(), rtol=1e-6)


def test_full_backward_hook_without_input_grad_fires_with_none():
    layer = nn.Linear(3, 2)
    seen = []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    layer(nnrun.randn(4, 3)).sum().backward()
    assert seen[0][0] == (None,) and seen[0][1][0].shape == nnrun.Size([4, 2])
    assert layer.weight.grad is not None


def test_full_backward_hook_replaces_grad_input():
    layer = nn.Linear(3, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    x = nnrun.randn(4, 3, requires_grad=True)
    layer(x).sum().backward()
    assert not x.grad.any()
    assert layer.weight.grad.any()  # parameters are unaffected


def test_full_backward_pre_hook_replaces_grad_output():
    layer = nn.Linear(3, 2)
    layer.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    x = nnrun.randn(4, 3, requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((4, 2)) @ layer.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad.numpy(), [8.0, 8.0])


def test_full_backward_hook_several_inputs_and_outputs():
    class Two(nn.Module):
        def forward(self, a, b, c=None):
            return a * 2, b + 1

    seen = []
    module = Two()
    module.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    a = nnrun.randn(2, requires_grad=True)
    b = nnrun.randn(3)
    out_a, out_b = module(a, b, 5)
    assert out_a.requires_grad and not out_b.requires_grad
    out_a.sum().backward()
    grad_input, grad_output = seen[0]
    assert len(grad_input) == 3 and grad_input[1] is None and grad_input[2] is None
    assert grad_input[0].tolist() == [2.0, 2.0]
    assert len(grad_output) == 2 and grad_output[1] is None
    assert a.grad.tolist() == [2.0, 2.0]


def test_backward_hook_invalid_return():
    layer = nn.Linear(3, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    x = nnrun.randn(4, 3, requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"Backward hook returned an invalid number of grad_input, got 2, but"
    ):
        layer(x).sum().backward()


def test_hook_kept_grad_is_not_aliased_by_accumulation():
    layer = nn.Linear(3, 2)
    kept = []
    layer.register_full_backward_hook(lambda m, gi, go: kept.append(gi[0]))
    x = nnrun.randn(4, 3, requires_grad=True)
    layer(x).sum().backward()
    first = kept[0].numpy().copy()
    layer(x).sum().backward()  # accumulates into x.grad
    np.testing.assert_array_equal(kept[0].numpy(), first)


def test_backward_hooks_in_sequential_order():
    order = []
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    for i, m in enumerate(seq):
        m.register_full_backward_hook(lambda mod, gi, go, i=i: order.append(i))
    seq(nnrun.randn(3, 2, requires_grad=True)).sum().backward()
    assert order == [2, 1, 0]


def test_hook_parity_with_torch():
    torch = pytest.importorskip("torch")
    weight = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    results = {}
    for name, lib in (("nnrun", nnrun), ("torch", torch)):
        layer = lib.nn.Linear(3, 2, bias=False)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(weight))
        got = []
        layer.register_full_backward_hook(lambda m, gi, go, got=got: got.append((gi[0], go[0])))
        layer(lib.tensor(x, requires_grad=True)).pow(2).sum().backward()
        results[name] = [t.detach().numpy() for t in got[0]]
    for ours, theirs in zip(results["nnrun"], results["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)
