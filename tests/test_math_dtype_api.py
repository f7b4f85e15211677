"""dtype conveniences: ``byte``/``char``/``short`` casts, ``bfloat16`` (a clear TypeError: no backend has it),
``nbytes``, ``itemsize``, ``ndimension``, ``element_size``, ``storage_offset`` and ``data_ptr``."""

import numpy as np
import pytest

import nnrun


def test_casts():
    torch = pytest.importorskip("torch")
    values = [[-1.7, 0.2, 3.9], [200.0, 5.5, -6.0]]
    for name in ("byte", "char", "short"):
        got = getattr(nnrun.tensor(values[0]), name)()
        want = getattr(torch.tensor(values[0]), name)()
        assert str(got.dtype).replace("nnrun.", "") == str(want.dtype).replace("torch.", "")
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_cast_keeps_gradient_path():
    x = nnrun.tensor([1.5, 2.5], requires_grad=True)
    (x.short().float() * x).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0]


def test_bfloat16_is_a_clear_type_error():
    with pytest.raises(TypeError, match="bfloat16"):
        nnrun.ones(2).bfloat16()


def test_sizes_match_torch():
    torch = pytest.importorskip("torch")
    for lib_dtype in ("float32", "float64", "int64", "uint8", "bool", "float16", "int16"):
        a = nnrun.zeros(3, 4, dtype=getattr(nnrun, lib_dtype))
        b = torch.zeros(3, 4, dtype=getattr(torch, lib_dtype))
        assert (a.nbytes, a.itemsize, a.element_size(), a.ndimension()) == (
            b.nbytes,
            b.itemsize,
            b.element_size(),
            b.ndimension(),
        )
    assert nnrun.tensor(1.0).ndimension() == 0


def test_storage_offset_and_data_ptr():
    torch = pytest.importorskip("torch")
    for view in (
        lambda t: t[3:],
        lambda t: t.view(3, 4)[1],
        lambda t: t.view(3, 4)[1:, 2:],
        lambda t: t.view(3, 4).t()[1],
        lambda t: t,
    ):
        a, b = view(nnrun.arange(12.0)), view(torch.arange(12.0))
        assert a.storage_offset() == b.storage_offset()
    base = nnrun.arange(12.0)
    view = base[5:]
    assert view.data_ptr() - base.data_ptr() == 5 * base.element_size()
    assert isinstance(base.data_ptr(), int) and base.data_ptr() != 0
