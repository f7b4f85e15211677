"""One composition run in nnrun and in torch (float64): outputs and input gradients must agree.

``fn(lib, *tensors)`` takes the ``nnrun`` or ``torch`` module; float arrays become leaves that require grad,
integer and bool arrays are index or mask data. Callers skip when torch is absent (``importorskip``).
"""

import numpy as np

import nnrun


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _run(lib, fn, arrays, grad):
    inputs = []
    for array in arrays:
        t = lib.from_numpy(np.array(array, copy=True))
        if grad and t.dtype.is_floating_point:
            t.requires_grad_(True)
        inputs.append(t)
    outputs = _outputs(fn(lib, *inputs))
    rng = np.random.default_rng(0)
    loss = None
    for out in outputs:
        if out.requires_grad:
            upstream = lib.from_numpy(rng.standard_normal(tuple(out.shape)).astype(np.float64))
            term = (out * upstream.to(out.dtype)).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in inputs]
    values = [o.detach().numpy() for o in outputs]
    dtypes = [str(o.dtype).split(".")[-1] for o in outputs]
    return values, dtypes, grads


def check(fn, *arrays, rtol=1e-10, atol=1e-12, grad=True):
    """Assert ``fn`` gives the same values, dtypes, shapes and input gradients in nnrun and torch."""
    import torch

    got, got_dtypes, got_grads = _run(nnrun, fn, arrays, grad)
    want, want_dtypes, want_grads = _run(torch, fn, arrays, grad)
    assert got_dtypes == want_dtypes
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"output {i}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"output {i}")
    for i, (g, w) in enumerate(zip(got_grads, want_grads)):
        if w is None:
            assert g is None or not np.any(g), f"input {i}: nnrun has a gradient, torch has none"
            continue
        assert g is not None, f"input {i}: torch has a gradient, nnrun has none"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"grad of input {i}")


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def ints(values):
    return np.asarray(values, dtype=np.int64)


def raises_like(fn, *arrays):
    """Assert nnrun raises the type torch raises, with torch's message start, for ``fn(lib, *tensors)``."""
    import pytest
    import torch

    errors = []
    for lib in (torch, nnrun):
        try:
            fn(lib, *(lib.from_numpy(np.array(a, copy=True)) for a in arrays))
        except Exception as error:
            errors.append(error)
        else:
            pytest.fail(f"{lib.__name__} raised nothing")
    want, got = errors
    assert type(got) is type(want), f"{type(got).__name__}: {got} != {type(want).__name__}: {want}"
    head = str(want).split(",")[0].split(":")[0][:30]
    assert str(got).startswith(head), f"{got!r} does not start like {want!r}"
