"""``torch.true_divide`` / ``Tensor.true_divide(_)``: ``div`` without rounding, checked against torch."""

import numpy as np
import pytest

import nnrun

torch = pytest.importorskip("torch")


def test_integer_operands_give_the_float_quotient_as_torch():
    a, b = [1, 2, 3], [9, 8, 7]
    ours = nnrun.true_divide(nnrun.tensor(a), nnrun.tensor(b))
    theirs = torch.true_divide(torch.tensor(a), torch.tensor(b))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1] == "float32"
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7)


def test_float64_forward_and_backward_match_torch():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, (4,))
    grads = []
    for lib in (nnrun, torch):
        a = lib.tensor(x, requires_grad=True)
        b = lib.tensor(y, requires_grad=True)
        out = lib.true_divide(a, b) + a.true_divide(2.5)
        (out * out).sum().backward()
        grads.append((out.detach().numpy(), a.grad.numpy(), b.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_out_and_in_place_forms_as_torch():
    results = []
    for lib in (nnrun, torch):
        out = lib.empty(3)
        lib.true_divide(lib.tensor([1, 2, 3]), lib.tensor([9, 8, 7]), out=out)
        t = lib.tensor([1.0, 4.0, 9.0])
        t.true_divide_(2)
        results.append((out.numpy(), t.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7)


def test_rounding_mode_is_not_an_argument_as_in_torch():
    with pytest.raises(TypeError):
        torch.true_divide(torch.tensor([3.0]), torch.tensor([2.0]), rounding_mode="floor")
    with pytest.raises(TypeError):
        nnrun.true_divide(nnrun.tensor([3.0]), nnrun.tensor([2.0]), rounding_mode="floor")
