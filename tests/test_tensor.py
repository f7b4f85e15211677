"""Tensor creation (dtypes, shapes, defaults as PyTorch documents them) and Tensor attributes/conversions."""

import numpy as np
import pytest

import nnrun


@pytest.fixture
def float64_default():
    nnrun.set_default_dtype(nnrun.float64)
    try:
        yield
    finally:
        nnrun.set_default_dtype(nnrun.float32)


# ----- tensor / as_tensor / from_numpy -----
@pytest.mark.parametrize(
    ("data", "dtype", "shape"),
    [
        ([1.0, 2.0], nnrun.float32, (2,)),
        ([1, 2, 3], nnrun.int64, (3,)),
        ([True, False], nnrun.bool, (2,)),
        ([1, 2.5], nnrun.float32, (2,)),
        ([True, 1], nnrun.int64, (2,)),
        (3.5, nnrun.float32, ()),
        (7, nnrun.int64, ()),
        ([[1, 2], [3, 4]], nnrun.int64, (2, 2)),
        ([], nnrun.float32, (0,)),
        (np.array([1, 2], dtype=np.int32), nnrun.int32, (2,)),
        (np.array([1.0], dtype=np.float64), nnrun.float64, (1,)),
        (np.float64(1.0), nnrun.float64, ()),
        (np.int32(4), nnrun.int32, ()),
        (np.bool_(True), nnrun.bool, ()),
    ],
)
def test_tensor_infers_dtype_like_torch(data, dtype, shape):
    t = nnrun.tensor(data)
    assert t.dtype == dtype
    assert t.shape == shape
    assert not t.requires_grad and t.is_leaf


def test_tensor_dtype_inference_matches_torch_oracle():
    torch = pytest.importorskip("torch")
    cases = ([1.0, 2.0], [1, 2], [True], [1, 2.5], 3.5, 7, np.arange(3, dtype=np.int16), np.float64(2.0))
    for data in cases:
        assert str(torch.tensor(data).dtype).removeprefix("torch.") == nnrun.tensor(data).dtype.name


def test_tensor_with_explicit_dtype_and_requires_grad():
    t = nnrun.tensor([1, 2], dtype=nnrun.float64, requires_grad=True)
    assert t.dtype == nnrun.float64 and t.requires_grad and t.is_leaf
    assert nnrun.tensor([1.7, -2.2], dtype=nnrun.int64).tolist() == [1, -2]


def test_tensor_copies_its_input():
    array = np.array([1.0, 2.0])
    t = nnrun.tensor(array)
    array[0] = 9.0
    assert t.tolist() == [1.0, 2.0]
    u = nnrun.tensor(t)
    u.add_(1.0)
    assert t.tolist() == [1.0, 2.0]


def test_from_numpy_and_as_tensor_share_memory():
    array = np.array([1.0, 2.0])
    shared = nnrun.from_numpy(array)
    also_shared = nnrun.as_tensor(array)
    array[0] = 9.0
    assert shared.tolist() == [9.0, 2.0]
    assert also_shared.tolist() == [9.0, 2.0]
    assert shared.dtype == nnrun.float64
    assert nnrun.as_tensor(shared) is shared
    assert nnrun.as_tensor(array, dtype=nnrun.float32).dtype == nnrun.float32
    assert nnrun.as_tensor([1, 2]).dtype == nnrun.int64


def test_from_numpy_rejects_non_arrays_and_unsupported_dtypes():
    with pytest.raises(TypeError):
        nnrun.from_numpy([1, 2])
    with pytest.raises(TypeError):
        nnrun.from_numpy(np.array([1 + 2j]))


def test_set_default_dtype_changes_float_inference(float64_default):
    assert nnrun.get_default_dtype() == nnrun.float64
    assert nnrun.tensor([1.0]).dtype == nnrun.float64
    assert nnrun.zeros(2).dtype == nnrun.float64
    assert nnrun.rand(2).dtype == nnrun.float64
    assert nnrun.arange(0.0, 1.0, 0.5).dtype == nnrun.float64
    assert nnrun.tensor([1]).dtype == nnrun.int64


def test_set_default_dtype_rejects_integer_types():
    with pytest.raises(TypeError):
        nnrun.set_default_dtype(nnrun.int64)
    assert nnrun.get_default_dtype() == nnrun.float32


# ----- factories -----
@pytest.mark.parametrize("factory", [nnrun.zeros, nnrun.ones, nnrun.empty, nnrun.rand, nnrun.randn])
def test_size_factories_accept_varargs_tuple_and_size(factory):
    for args in ((2, 3), ((2, 3),), ([2, 3],), (nnrun.Size([2, 3]),)):
        t = factory(*args)
        assert t.shape == (2, 3)
        assert t.dtype == nnrun.float32
    assert factory(()).shape == ()
    assert factory(0, 4).numel() == 0
    assert factory(2, dtype=nnrun.float64).dtype == nnrun.float64
    assert factory(2, requires_grad=True).requires_grad


def test_zeros_ones_full_values():
    assert nnrun.zeros(2).tolist() == [0.0, 0.0]
    assert nnrun.ones(2, dtype=nnrun.int64).tolist() == [1, 1]
    assert nnrun.full((2,), 1.5).tolist() == [1.5, 1.5]


@pytest.mark.parametrize(("fill", "dtype"), [(1.5, nnrun.float32), (3, nnrun.int64), (True, nnrun.bool)])
def test_full_infers_dtype_from_fill_value(fill, dtype):
    t = nnrun.full((2, 2), fill)
    assert t.dtype == dtype and t.shape == (2, 2)


def test_like_factories_keep_shape_and_dtype():
    base = nnrun.tensor([[1, 2, 3]], dtype=nnrun.int32)
    for t in (
        nnrun.zeros_like(base),
        nnrun.ones_like(base),
        nnrun.empty_like(base),
        nnrun.full_like(base, 7),
    ):
        assert t.shape == (1, 3) and t.dtype == nnrun.int32
    assert nnrun.full_like(base, 7).tolist() == [[7, 7, 7]]
    assert nnrun.zeros_like(base, dtype=nnrun.float64).dtype == nnrun.float64
    f = nnrun.ones(2, 2)
    assert nnrun.rand_like(f).shape == (2, 2) and nnrun.randn_like(f).dtype == nnrun.float32
    assert nnrun.zeros_like(f, requires_grad=True).requires_grad


def test_arange():
    ints = nnrun.arange(5)
    assert ints.dtype == nnrun.int64 and ints.tolist() == [0, 1, 2, 3, 4]
    assert nnrun.arange(2, 8, 3).tolist() == [2, 5]
    assert nnrun.arange(10, 0, -3).tolist() == [10, 7, 4, 1]
    floats = nnrun.arange(1, 2.5, 0.5)
    assert floats.dtype == nnrun.float32 and floats.tolist() == [1.0, 1.5, 2.0]
    assert nnrun.arange(0.0, 1.0, 0.1).numel() == 10
    assert nnrun.arange(3, dtype=nnrun.float64).dtype == nnrun.float64
    assert nnrun.arange(0).numel() == 0
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        nnrun.arange(0, 5, 0)


def test_linspace_and_eye():
    lin = nnrun.linspace(0, 1, 5)
    assert lin.dtype == nnrun.float32
    np.testing.assert_allclose(lin.numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])
    assert nnrun.linspace(0, 1, 1).tolist() == [0.0]
    eye = nnrun.eye(3)
    assert eye.dtype == nnrun.float32 and eye.shape == (3, 3)
    np.testing.assert_array_equal(eye.numpy(), np.eye(3))
    assert nnrun.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def test_random_factories():
    u = nnrun.rand(1000)
    assert u.dtype == nnrun.float32
    assert u.min().item() >= 0.0 and u.max().item() < 1.0
    n = nnrun.randn(4000, dtype=nnrun.float64)
    assert abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1.0) < 0.1
    r = nnrun.randint(3, 7, (50,))
    assert r.dtype == nnrun.int64 and r.shape == (50,)
    assert r.min().item() >= 3 and r.max().item() < 7
    assert nnrun.randint(5, (2, 2)).shape == (2, 2)
    p = nnrun.randperm(10)
    assert p.dtype == nnrun.int64 and sorted(p.tolist()) == list(range(10))
    assert nnrun.randint(0, 5, (2,), dtype=nnrun.int32).dtype == nnrun.int32


def test_rand_and_randn_reject_integer_dtypes():
    with pytest.raises(RuntimeError, match="floating-point"):
        nnrun.rand(2, dtype=nnrun.int64)
    with pytest.raises(RuntimeError, match="floating-point"):
        nnrun.randn(2, dtype=nnrun.bool)


# ----- attributes -----
def test_shape_size_dim_numel():
    t = nnrun.zeros(2, 3, 4)
    assert isinstance(t.shape, nnrun.Size) and isinstance(t.shape, tuple)
    assert t.shape == (2, 3, 4) and t.size() == t.shape
    assert repr(t.shape) == "nnrun.Size([2, 3, 4])"
    assert t.size(0) == 2 and t.size(-1) == 4
    assert t.dim() == t.ndim == 3
    assert t.numel() == 24 and nnrun.numel(t) == 24
    assert len(t) == 2
    assert t.shape[1:] == (3, 4) and isinstance(t.shape[1:], nnrun.Size)


def test_item_tolist_numpy():
    assert nnrun.tensor(2.5).item() == 2.5
    assert nnrun.tensor([[7]]).item() == 7
    assert isinstance(nnrun.tensor([3]).item(), int)
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        nnrun.tensor([1, 2]).item()
    assert nnrun.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    t = nnrun.tensor([1.0, 2.0])
    array = t.numpy()
    array[0] = 5.0
    assert t.tolist() == [5.0, 2.0]  # numpy() shares memory
    with pytest.raises(RuntimeError, match="detach"):
        nnrun.ones(2, requires_grad=True).numpy()


def test_detach_clone_contiguous():
    x = nnrun.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.requires_grad and c.grad_fn is not None
    (c * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with nnrun.no_grad():
        c.add_(1.0)
    assert x.tolist() == [1.0, 2.0]
    m = nnrun.arange(6).reshape(2, 3).t()
    assert not m.is_contiguous()
    cm = m.contiguous()
    assert cm.is_contiguous() and cm.tolist() == m.tolist()
    assert cm.contiguous() is cm


@pytest.mark.parametrize(
    ("method", "dtype"),
    [
        ("float", nnrun.float32),
        ("double", nnrun.float64),
        ("half", nnrun.float16),
        ("long", nnrun.int64),
        ("int", nnrun.int32),
        ("bool", nnrun.bool),
    ],
)
def test_dtype_conversion_methods(method, dtype):
    t = getattr(nnrun.tensor([0.0, 1.5, -2.0]), method)()
    assert t.dtype == dtype and t.shape == (3,)


def test_conversion_values():
    assert nnrun.tensor([1.7, -1.7]).long().tolist() == [1, -1]
    assert nnrun.tensor([0.0, 2.0]).bool().tolist() == [False, True]
    assert nnrun.tensor([1, 2]).type_as(nnrun.zeros(1, dtype=nnrun.float64)).dtype == nnrun.float64


def test_to_dtype_device_and_tensor():
    t = nnrun.tensor([1.0, 2.0])
    assert t.to(nnrun.float64).dtype == nnrun.float64
    assert t.to(dtype=nnrun.int64).tolist() == [1, 2]
    assert t.to("cpu") is t and t.to(nnrun.device("cpu")) is t
    assert t.to(nnrun.float32) is t  # nothing to change: self, as torch does
    assert t.to("cpu", nnrun.float64).dtype == nnrun.float64
    assert t.to(nnrun.zeros(1, dtype=nnrun.int32)).dtype == nnrun.int32
    copied = t.to(nnrun.float32, copy=True)
    assert copied is not t and copied.tolist() == t.tolist()
    assert t.cpu() is t
    assert t.device == nnrun.device("cpu") and t.device == "cpu" and not t.is_cuda


def test_to_returns_new_differentiable_tensor():
    x = nnrun.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(nnrun.float64)
    assert y is not x and y.dtype == nnrun.float64
    assert y.requires_grad and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == nnrun.float32
    assert x.grad.tolist() == [2.0, 4.0]


def test_to_integer_dtype_is_not_differentiable():
    x = nnrun.tensor([1.5, 2.5], requires_grad=True)
    for converted in (x.long(), x.to(nnrun.int32), x.bool()):
        assert not converted.requires_grad and converted.grad_fn is None


# ----- truth values and comparisons -----
def test_bool_of_one_element_tensors():
    assert bool(nnrun.tensor([1.0]))
    assert not bool(nnrun.tensor(0))
    assert bool(nnrun.tensor([[True]]))
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        bool(nnrun.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(nnrun.zeros(0))


def test_while_loop_on_tensor_condition():
    x = nnrun.tensor([3.0, -4.0])
    steps = 0
    while x.abs().sum() > 1:
        x /= 2
        steps += 1
    assert steps == 3
    assert x.tolist() == [0.375, -0.5]


def test_comparisons_give_bool_tensors_without_grad():
    x = nnrun.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2, x > nnrun.tensor([0.0, 5.0, 1.0])):
        assert result.dtype == nnrun.bool
        assert not result.requires_grad and result.grad_fn is None
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x == nnrun.tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]
    assert (nnrun.tensor([1, 2]) < 1.5).tolist() == [True, False]


def test_scalar_conversions():
    assert float(nnrun.tensor([2.5])) == 2.5
    assert int(nnrun.tensor(3)) == 3
    assert [10, 20, 30][nnrun.tensor(1)] == 20
    assert f"{nnrun.tensor(0.5):.2f}" == "0.50"
