"""The everyday tensor API of older and plainer PyTorch programs: ``new_*``, ``Tensor.type``, the legacy typed
constructors (``FloatTensor`` …), ``autograd.Variable``, compared with torch where it is installed."""

import warnings

import numpy as np
import pytest

import nnrun


def _torch():
    return pytest.importorskip("torch")


def _same(got, want):
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).replace("nnrun.", "") == str(want.dtype).replace("torch.", "")
    assert got.requires_grad == want.requires_grad


# ----- new_zeros / new_ones / new_full / new_empty / new_tensor -----
NEW_CALLS = [
    ("new_zeros", (2, 3), {}),
    ("new_zeros", ((2, 3),), {"dtype": "int64"}),
    ("new_ones", ([4],), {"requires_grad": True}),
    ("new_ones", (2,), {"dtype": "float64"}),
    ("new_empty", (3, 1), {}),
    ("new_full", ((2, 2), 7), {}),
    ("new_full", ((2,), 1.5), {"dtype": "float64", "requires_grad": True}),
    ("new_tensor", ([1, 2],), {}),
    ("new_tensor", ([[1.5, 2.0]],), {"dtype": "int32"}),
    ("new_tensor", ([1.0],), {"requires_grad": True}),
]


@pytest.mark.parametrize("source_dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize(
    ("method", "args", "kwargs"), NEW_CALLS, ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(NEW_CALLS)]
)
def test_new_factories_match_torch(method, args, kwargs, source_dtype):
    torch = _torch()
    if kwargs.get("requires_grad") and (kwargs.get("dtype") or source_dtype) == "int64":
        pytest.skip("integer tensors cannot require grad")

    def call(lib):
        source = lib.zeros(2, dtype=getattr(lib, source_dtype))
        extra = dict(kwargs)
        if "dtype" in extra:
            extra["dtype"] = getattr(lib, extra["dtype"])
        return getattr(source, method)(*args, **extra)

    got, want = call(nnrun), call(torch)
    _same(got, want)
    if method != "new_empty":
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert got.device == nnrun.zeros(1).device


def test_new_tensor_copies_and_detaches():
    source = nnrun.ones(2, requires_grad=True)
    copy = nnrun.zeros(1).new_tensor(source)
    assert not copy.requires_grad and copy.grad_fn is None
    copy.add_(1.0)
    assert source.tolist() == [1.0, 1.0]


# ----- Tensor.type -----
def test_type_string_and_casts():
    x = nnrun.zeros(2)
    assert x.type() == "nnrun.FloatTensor"
    assert nnrun.zeros(2, dtype=nnrun.int64).type() == "nnrun.LongTensor"
    assert nnrun.zeros(2, dtype=nnrun.bool).type() == "nnrun.BoolTensor"
    assert x.type(nnrun.float32) is x and x.type("nnrun.FloatTensor") is x
    assert x.type("nnrun.DoubleTensor").dtype == nnrun.float64
    assert x.type("torch.LongTensor").dtype == nnrun.int64  # torch's spelling, for ported code
    assert x.type(nnrun.int32).dtype == nnrun.int32
    assert x.type(nnrun.ByteTensor).dtype == nnrun.uint8
    with pytest.raises(ValueError, match=r"invalid type: 'nnrun\.Foo'"):
        x.type("nnrun.Foo")
    with pytest.raises(ValueError, match="invalid type: 'float64'"):
        x.type("float64")


def test_type_matches_torch():
    torch = _torch()
    for name in ("float32", "float64", "int64", "int32", "uint8", "bool", "int8", "int16", "float16"):
        got = nnrun.zeros(1, dtype=getattr(nnrun, name)).type()
        want = torch.zeros(1, dtype=getattr(torch, name)).type()
        assert got.replace("nnrun.", "torch.") == want
        assert str(torch.zeros(1).type(want.replace("torch.", "torch.")).dtype).replace("torch.", "") == name
        assert nnrun.zeros(1).type(got).dtype == getattr(nnrun, name)


# ----- the legacy typed constructors -----
LEGACY = ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_constructors_match_torch(name):
    torch = _torch()
    for args in [(2, 3), ((4,),), ([1, 0, 2],), ([[1.0, 0.0]],), ()]:
        got = getattr(nnrun, name)(*args)
        want = getattr(torch, name)(*[torch.Size(a) if isinstance(a, tuple) else a for a in args])
        assert tuple(got.shape) == tuple(want.shape)
        assert str(got.dtype).replace("nnrun.", "") == str(want.dtype).replace("torch.", "")
        if args and isinstance(args[0], list):
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    cls = getattr(nnrun, name)
    t = cls([1])
    assert isinstance(t, cls) and isinstance(t, nnrun.Tensor)
    assert cls(t) is t
    assert not isinstance(t, nnrun.HalfTensor)
    assert t.type() == f"nnrun.{name}"
    assert repr(cls) == f"<class 'nnrun.{name}'>"


def test_legacy_constructor_errors():
    with pytest.raises(TypeError, match=r"expected nnrun\.float32"):
        nnrun.FloatTensor(nnrun.tensor([1, 2]))
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        nnrun.FloatTensor([1], [2])


def test_tensor_constructor_takes_sizes_as_torch():
    torch = _torch()
    for args in [(2, 3), (4,), (0,)]:
        got, want = nnrun.Tensor(*args), torch.Tensor(*args)
        assert tuple(got.shape) == tuple(want.shape) and not got.requires_grad
        assert str(got.dtype).replace("nnrun.", "") == str(want.dtype).replace("torch.", "")
    assert tuple(nnrun.Tensor(nnrun.Size([2, 5])).shape) == tuple(torch.Tensor(torch.Size([2, 5])).shape)
    assert nnrun.Tensor([2, 3]).tolist() == torch.Tensor([2, 3]).tolist() == [2.0, 3.0]
    assert nnrun.Tensor((2, 3)).tolist() == torch.Tensor((2, 3)).tolist()  # a plain tuple is data
    assert nnrun.Tensor(1, 5).fill_(-1.0).tolist() == torch.Tensor(1, 5).fill_(-1.0).tolist()
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        torch.Tensor([1], [2])
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        nnrun.Tensor([1], [2])


# ----- autograd.Variable -----
def test_variable_gives_a_leaf_tensor():
    x = nnrun.ones(3)
    v = nnrun.autograd.Variable(x, requires_grad=True)
    assert type(v) is nnrun.Tensor and v is not x and v.requires_grad and v.is_leaf
    assert isinstance(x, nnrun.autograd.Variable)
    assert not nnrun.autograd.Variable(x).requires_grad
    (v * 2.0).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        nnrun.autograd.Variable([1.0])


# ----- size= and out= -----
@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_keyword(name):
    torch = _torch()
    for size in [(2, 3), [4], ()]:
        got = getattr(nnrun, name)(size=size)
        want = getattr(torch, name)(size=size)
        _same(got, want)
    assert nnrun.full(size=(2,), fill_value=3.0).tolist() == [3.0, 3.0]
    with pytest.raises(TypeError, match=f"{name}\\(\\) got multiple values for argument 'size'"):
        getattr(nnrun, name)(2, size=(2,))


def _binary_out_calls(lib, a, b):
    return [
        ("add", lambda out: lib.add(a, b, out=out)),
        ("add_alpha", lambda out: lib.add(a, b, alpha=2, out=out)),
        ("sub", lambda out: lib.sub(a, b, out=out)),
        ("mul", lambda out: lib.mul(a, b, out=out)),
        ("div", lambda out: lib.div(a, b, out=out)),
        ("div_floor", lambda out: lib.div(a, b, rounding_mode="floor", out=out)),
        ("matmul", lambda out: lib.matmul(a, b.t(), out=out)),
        ("cat", lambda out: lib.cat([a, b], 1, out=out)),
        ("stack", lambda out: lib.stack([a, b], out=out)),
        ("zeros", lambda out: lib.zeros(2, 3, out=out)),
        ("ones", lambda out: lib.ones((3, 2), out=out)),
    ]


@pytest.mark.parametrize("out_shape", [(2, 3), (0,), (7,)])
@pytest.mark.parametrize("index", range(11))
def test_out_writes_into_the_given_tensor(index, out_shape):
    torch = _torch()
    a_np = np.arange(6, dtype=np.float32).reshape(2, 3) + 1.0
    b_np = np.arange(6, 0, -1, dtype=np.float32).reshape(2, 3)
    results = []
    for lib in (nnrun, torch):
        name, call = _binary_out_calls(lib, lib.from_numpy(a_np.copy()), lib.from_numpy(b_np.copy()))[index]
        out = lib.empty(out_shape)
        if name != "zeros" and lib is nnrun:
            before = out._version
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = call(out)
        assert result is out
        resized_warning = any("was resized" in str(w.message) for w in caught)
        results.append((out.numpy().copy(), tuple(out.shape), resized_warning))
        if name != "zeros" and lib is nnrun and out._vc is not None:
            assert out._version > before
    (got, got_shape, got_warned), (want, want_shape, want_warned) = results
    assert got_shape == want_shape and got_warned == want_warned
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_out_keeps_memory_and_its_views():
    a = nnrun.ones(2, 3)
    out = nnrun.zeros(2, 3)
    row = out[0]
    nnrun.mul(a, 3.0, out=out)
    assert row.tolist() == [3.0, 3.0, 3.0]  # the same memory: a view of out sees the result
    nnrun.add(a[0], a[1], out=row)
    assert out.tolist() == [[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]
    with pytest.raises(RuntimeError, match="cannot resize the out tensor, a view"):
        nnrun.add(a, a, out=row)


def test_out_casts_into_a_wider_dtype_only():
    i = nnrun.tensor([1, 2])
    assert nnrun.add(i, i, out=nnrun.empty(2)).tolist() == [2.0, 4.0]
    assert nnrun.zeros(3, out=nnrun.empty(1, dtype=nnrun.int64)).dtype == nnrun.int64
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        nnrun.add(nnrun.ones(2), 1.0, out=nnrun.empty(2, dtype=nnrun.int64))
    with pytest.raises(RuntimeError, match=r"dtype Long does not match dtype of out parameter \(Float\)"):
        nnrun.zeros(2, dtype=nnrun.int64, out=nnrun.empty(2))
    with pytest.raises(TypeError, match="argument 'out' must be Tensor, not list"):
        nnrun.zeros(2, out=[1])


def test_out_refuses_autograd():
    a = nnrun.ones(2, requires_grad=True)
    message = "functions with out=... arguments don't support automatic differentiation"
    with pytest.raises(RuntimeError, match=r"add\(\): " + message):
        nnrun.add(a, a, out=nnrun.empty(2))
    with pytest.raises(RuntimeError, match=r"cat\(\): " + message):
        nnrun.cat([a, a], out=nnrun.empty(4))
    with pytest.raises(RuntimeError, match=r"mul\(\): " + message):
        nnrun.mul(a.detach(), 2.0, out=nnrun.empty(2, requires_grad=True))
    with nnrun.no_grad():
        out = nnrun.add(a, a, out=nnrun.empty(2))
    assert out.tolist() == [2.0, 2.0] and not out.requires_grad
