"""The closeness the layer parity tests ask of nnrun's result and torch's."""

import numpy as np


def assert_close_to_torch(ours, theirs, rtol: float = 1e-5) -> None:
    """``ours`` (an nnrun tensor) equals ``theirs`` (a torch tensor) to ``rtol``, with an absolute tolerance
    of ``rtol`` times the largest magnitude in ``theirs`` (at least 1), so values near 0 do not fail."""
    theirs = theirs.detach().numpy()
    np.testing.assert_allclose(
        ours.detach().numpy(), theirs, rtol=rtol, atol=rtol * max(1.0, np.abs(theirs).max())
    )
