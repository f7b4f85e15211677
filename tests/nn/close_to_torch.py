"""The closeness the layer parity tests ask of nnrun's result and torch's, and of their errors."""

import numpy as np
import pytest


def assert_close_to_torch(ours, theirs, rtol: float = 1e-5) -> None:
    """``ours`` (an nnrun tensor) equals ``theirs`` (a torch tensor) to ``rtol``, with an absolute tolerance
    of ``rtol`` times the largest magnitude in ``theirs`` (at least 1), so values near 0 do not fail."""
    theirs = theirs.detach().numpy()
    np.testing.assert_allclose(
        ours.detach().numpy(), theirs, rtol=rtol, atol=rtol * max(1.0, np.abs(theirs).max())
    )


def raises_like_torch(ours, theirs, exact: bool = True) -> None:
    """``ours()`` raises the type of error ``theirs()`` raises and (``exact``) the same message, torch's
    ``torch.Size`` read as ``nnrun.Size``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    if exact:
        assert str(got.value) == str(expected.value).replace("torch.Size", "nnrun.Size")


def functional_like_torch(call, arrays, dtype: str, tol: float, node: str | None) -> None:
    """``call(functional, *inputs)`` over ``arrays`` as ``dtype`` tensors gives torch's values (and node name,
    when ``node``) in nnrun, and the same input gradients for one random upstream gradient."""
    import torch

    import nnrun
    from nnrun.nn import functional as F

    ours = [nnrun.tensor(a, dtype=getattr(nnrun, dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    y_ours, y_theirs = call(F, *ours), call(torch.nn.functional, *theirs)
    assert y_ours.shape == tuple(y_theirs.shape)
    assert_close_to_torch(y_ours, y_theirs, tol)
    if node is not None:
        assert y_ours.grad_fn.name() == y_theirs.grad_fn.name() == node
    upstream = np.random.default_rng(9).standard_normal(tuple(y_theirs.shape))
    y_ours.backward(nnrun.tensor(upstream, dtype=getattr(nnrun, dtype)))
    y_theirs.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    for a, b in zip(ours, theirs, strict=True):
        assert_close_to_torch(a.grad, b.grad, tol)
