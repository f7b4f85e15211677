"""Float64 leaves for the finite-difference gradient checks."""

import nnrun


def leaf(*shape: int) -> nnrun.Tensor:
    """A float64 leaf of standard normal values."""
    return nnrun.randn(*shape, dtype=nnrun.float64, requires_grad=True)


def uniform(shape, low: float = -1.0, high: float = 1.0) -> nnrun.Tensor:
    """A float64 leaf with values in [low, high)."""
    return (nnrun.rand(shape, dtype=nnrun.float64) * (high - low) + low).requires_grad_()
