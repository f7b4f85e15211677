"""The scatter and counting ops on a CuPy stand-in match the CPU, reading back only what they must."""

import numpy as np
import pytest

import nnrun

ROWS = np.array([[0, 2, 0, 1], [2, 2, 1, 0], [0, 0, 0, 0]])


def _run(device, reduce, include_self):
    x = nnrun.tensor(np.random.default_rng(0).standard_normal((3, 4)), device=device, requires_grad=True)
    s = nnrun.tensor(np.random.default_rng(1).standard_normal((3, 4)), device=device, requires_grad=True)
    out = x.scatter_reduce(0, nnrun.tensor(ROWS, device=device), s, reduce, include_self=include_self)
    (out * 0.5).sum().backward()
    return out.detach().cpu().numpy(), x.grad.cpu().numpy(), s.grad.cpu().numpy()


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_on_device(fake_cuda, reduce, include_self):
    with fake_cuda.during() as moved:
        got = _run("cuda", reduce, include_self)
    reads = [t for t in moved if t.kind.startswith("device->host") and "cpu()" not in t.where]
    # prod reads its number of rounds back, once in forward and once in backward; the rest read nothing
    assert len([t for t in reads if "scatter.py" in t.where]) == (2 if reduce == "prod" else 0), reads
    for g, w in zip(got, _run("cpu", reduce, include_self)):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_counting_and_selection_on_device(fake_cuda):
    def run(device):
        i = nnrun.tensor([3, 1, 1, 0, 3], device=device)
        v = nnrun.tensor([0.5, -1.0, 2.0, 0.0, 1.5, -0.5], device=device)
        outputs = (
            *i.unique(return_inverse=True, return_counts=True),
            *i.unique_consecutive(return_counts=True),
            nnrun.unique(i.reshape(1, 5).expand(2, 5), dim=1),
            i.bincount(minlength=5),
            i.bincount(weights=v[:5]),
            nnrun.searchsorted(v.sort().values, v),
            nnrun.searchsorted(v.sort().values.expand(2, 6), v.reshape(2, 3), right=True),
            nnrun.bucketize(v, v.sort().values, right=True),
            v.histc(4),
            i.nonzero(),
            nnrun.repeat_interleave(i),
            v.masked_select(v > 0),
            v.reshape(2, 3).fill_diagonal_(7.0),
            nnrun.zeros(5, device=device).put_(i, v[:5], accumulate=True),
        )
        return [o.cpu().numpy() for o in outputs]

    for got, want in zip(run("cuda"), run("cpu"), strict=True):
        np.testing.assert_allclose(got, want)
