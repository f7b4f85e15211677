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
