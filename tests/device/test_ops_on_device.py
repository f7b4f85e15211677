"""The op compositions of the torch parity tests, run by nnrun on ``cuda`` (the CuPy stand-in) and on the
CPU: equal values and gradients, and nothing read back from the device."""

import numpy as np
import pytest

import nnrun
from op_cases import CASES

# data-dependent output sizes must be read back, on CuPy as in PyTorch
READS_BACK = {"advanced_index_repeated": "a boolean-mask index"}


def _run(fn, arrays, device):
    """Outputs and input gradients (``(out * 0.5).sum()`` backpropagated), left on ``device``."""
    inputs = [nnrun.tensor(array, device=device, requires_grad=array.dtype.kind == "f") for array in arrays]
    outputs = fn(nnrun, *inputs)
    outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    differentiable = [(out * 0.5).sum() for out in outputs if out.requires_grad]
    if differentiable:
        sum(differentiable[1:], differentiable[0]).backward()
    return [out.detach() for out in outputs] + [t.grad for t in inputs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_composition_on_the_device_matches_the_cpu(fake_cuda, name):
    fn, arrays = CASES[name]
    with fake_cuda.during() as moved:
        on_device = _run(fn, arrays, "cuda")
    reads = [t for t in moved if t.kind.startswith("device->host")]
    assert len(reads) == (name in READS_BACK), f"{name}: {reads}"
    for got, want in zip(on_device, _run(fn, arrays, "cpu"), strict=True):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
