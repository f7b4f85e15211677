"""dtype promotion checked against torch by running both, and error types/messages users see."""

import itertools

import numpy as np
import pytest

import nnrun
from nnrun.autograd import function as autograd_function

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]

BINARY_OPS = {
    "add": lambda lib, x, y: x + y,
    "sub": lambda lib, x, y: x - y,
    "mul": lambda lib, x, y: x * y,
    "truediv": lambda lib, x, y: x / y,
    "maximum": lambda lib, x, y: lib.maximum(x, y),
    "where": lambda lib, x, y: lib.where(x > 0, x, y),
    "lt": lambda lib, x, y: x < y,
    "eq": lambda lib, x, y: x == y,
    "ne": lambda lib, x, y: x != y,
}


def _ones(lib, dtype, shape):
    return lib.ones(shape, dtype=getattr(lib, dtype))


def _result_dtype(lib, fn, *args):
    """The result's dtype name, or None when the library rejects the combination."""
    try:
        out = fn(lib, *args)
    except (RuntimeError, TypeError):
        return None
    return str(out.dtype).split(".")[-1]


def _assert_same_dtype(fn, make_args):
    want = _result_dtype(torch, fn, *make_args(torch))
    if want is None:
        pytest.skip("torch rejects this combination")
    assert _result_dtype(nnrun, fn, *make_args(nnrun)) == want


# (shape of a, shape of b): both with dims, and a 0-d tensor (which ranks below dimensioned tensors)
SHAPE_PAIRS = [((2,), (2,)), ((), (2,)), ((2,), ())]


@pytest.mark.parametrize("op", sorted(BINARY_OPS))
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=["dims", "zerodim_a", "zerodim_b"])
def test_tensor_tensor_promotion_matches_torch(op, shapes):
    fn = BINARY_OPS[op]
    mismatches = []
    for a, b in itertools.product(DTYPES, DTYPES):
        want = _result_dtype(torch, fn, _ones(torch, a, shapes[0]), _ones(torch, b, shapes[1]))
        if want is None:
            continue
        got = _result_dtype(nnrun, fn, _ones(nnrun, a, shapes[0]), _ones(nnrun, b, shapes[1]))
        if got != want:
            mismatches.append(f"{a} {op} {b}: nnrun {got}, torch {want}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "lt", "eq"])
@pytest.mark.parametrize("scalar", [True, 3, 2.5], ids=["bool", "int", "float"])
@pytest.mark.parametrize("scalar_first", [False, True], ids=["tensor_op_scalar", "scalar_op_tensor"])
def test_tensor_scalar_promotion_matches_torch(op, scalar, scalar_first):
    fn = BINARY_OPS[op]
    mismatches = []
    for dtype in DTYPES:

        def args(lib, dtype=dtype):
            t = _ones(lib, dtype, (2,))
            return (scalar, t) if scalar_first else (t, scalar)

        want = _result_dtype(torch, fn, *args(torch))
        if want is None:
            continue
        got = _result_dtype(nnrun, fn, *args(nnrun))
        if got != want:
            mismatches.append(f"{dtype} with {scalar!r}: nnrun {got}, torch {want}")
    assert not mismatches, "\n".join(mismatches)


# Named cases from the rules, so a failure reads as the rule that broke.
NAMED_RULES = [
    ("int64 + float32 -> float32", lambda lib: _ones(lib, "int64", (2,)) + _ones(lib, "float32", (2,))),
    ("int + python float -> default float", lambda lib: _ones(lib, "int64", (2,)) + 1.5),
    ("int32 + python int -> int32", lambda lib: _ones(lib, "int32", (2,)) + 7),
    ("bool + int -> int64", lambda lib: _ones(lib, "bool", (2,)) + _ones(lib, "int64", (2,))),
    ("bool + python int -> int64", lambda lib: _ones(lib, "bool", (2,)) + 2),
    ("uint8 + int8 -> int16", lambda lib: _ones(lib, "uint8", (2,)) + _ones(lib, "int8", (2,))),
    ("float16 + float32 -> float32", lambda lib: _ones(lib, "float16", (2,)) + _ones(lib, "float32", (2,))),
    ("float16 + python float -> float16", lambda lib: _ones(lib, "float16", (2,)) * 0.5),
    ("int / int -> default float", lambda lib: _ones(lib, "int64", (2,)) / _ones(lib, "int64", (2,))),
    ("int32 / python int -> default float", lambda lib: _ones(lib, "int32", (2,)) / 2),
    ("comparison -> bool", lambda lib: _ones(lib, "float32", (2,)) < _ones(lib, "int64", (2,))),
    ("float32 0-d + int64 -> float32", lambda lib: _ones(lib, "float32", ()) + _ones(lib, "int64", (2,))),
    ("float64 0-d + float32 -> float32", lambda lib: _ones(lib, "float64", ()) + _ones(lib, "float32", (2,))),
    ("int64 0-d + int8 -> int8", lambda lib: _ones(lib, "int64", ()) + _ones(lib, "int8", (2,))),
    ("sum of int32 -> int64", lambda lib: _ones(lib, "int32", (2,)).sum()),
    ("sum of bool -> int64", lambda lib: _ones(lib, "bool", (2,)).sum()),
    ("exp of int64 -> default float", lambda lib: _ones(lib, "int64", (2,)).float().exp()),
    ("tensor from python floats", lambda lib: lib.tensor([1.0, 2.0])),
    ("tensor from python ints", lambda lib: lib.tensor([1, 2])),
    ("tensor from python bools", lambda lib: lib.tensor([True, False])),
    ("arange of ints", lambda lib: lib.arange(3)),
    ("arange with a float step", lambda lib: lib.arange(0, 1, 0.5)),
]


@pytest.mark.parametrize("fn", [fn for _, fn in NAMED_RULES], ids=[name for name, _ in NAMED_RULES])
def test_named_promotion_rule(fn):
    assert str(fn(nnrun).dtype).split(".")[-1] == str(fn(torch).dtype).split(".")[-1]


def test_default_dtype_governs_python_floats():
    nnrun.set_default_dtype(nnrun.float64)
    try:
        assert (nnrun.ones(2, dtype=nnrun.int64) + 1.5).dtype == nnrun.float64
        assert nnrun.tensor([1.0]).dtype == nnrun.float64
        assert (nnrun.ones(2, dtype=nnrun.float32) + 1.5).dtype == nnrun.float32
    finally:
        nnrun.set_default_dtype(nnrun.float32)


# ----- error messages -----
def _error(lib, fn):
    """(exception type name, message) that ``fn(lib)`` raises."""
    with pytest.raises(Exception) as info:
        fn(lib)
    return type(info.value).__name__, str(info.value)


def _assert_same_error(fn):
    ours, theirs = _error(nnrun, fn), _error(torch, fn)
    assert ours == (theirs[0], theirs[1].replace("torch.", "nnrun."))


SAME_ERRORS = {
    "broadcast_mismatch": lambda lib: lib.ones(2, 3) + lib.ones(4, 3),
    "broadcast_mismatch_inner_dim": lambda lib: lib.ones(2, 3, 1) * lib.ones(4, 5),
    "broadcast_mismatch_comparison": lambda lib: lib.ones(3) < lib.ones(4),
    "matmul_mismatch": lambda lib: lib.ones(2, 3) @ lib.ones(4, 5),
    "mm_mismatch": lambda lib: lib.mm(lib.ones(2, 3), lib.ones(4, 5)),
    "backward_non_scalar": lambda lib: (lib.ones(2, 3, requires_grad=True) * 2).backward(),
    "backward_without_grad": lambda lib: (lib.ones(2) * 2).sum().backward(),
    "backward_gradient_shape": lambda lib: (lib.ones(2, requires_grad=True) * 2).backward(lib.ones(3)),
    "view_non_contiguous": lambda lib: lib.ones(2, 3).t().view(6),
    "view_bad_shape": lambda lib: lib.ones(2, 3).view(4, -1),
    "reshape_bad_shape": lambda lib: lib.ones(2, 3).reshape(4, 2),
    "inplace_leaf_requires_grad": lambda lib: lib.ones(2, requires_grad=True).add_(1),
    "inplace_broadcast_output": lambda lib: lib.ones(3).add_(lib.ones(2, 3)),
    "requires_grad_on_int": lambda lib: lib.ones(2, dtype=lib.int64).requires_grad_(),
    "cat_size_mismatch": lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 4)]),
    "cat_ndim_mismatch": lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 3, 1)]),
    "stack_size_mismatch": lambda lib: lib.stack([lib.ones(2, 3), lib.ones(2, 4)]),
    "dim_out_of_range": lambda lib: lib.ones(2, 3).sum(dim=2),
    "expand_mismatch": lambda lib: lib.ones(2, 3).expand(4, 3),
    "item_of_many": lambda lib: lib.ones(2).item(),
    "bool_of_many": lambda lib: bool(lib.ones(2)),
    "numpy_requires_grad": lambda lib: lib.ones(2, requires_grad=True).numpy(),
    "gather_index_ndim": lambda lib: lib.ones(2, 3).gather(1, lib.zeros(2, dtype=lib.int64)),
    "permute_wrong_length": lambda lib: lib.ones(2, 3).permute(0, 1, 2),
}


@pytest.mark.parametrize("name", sorted(SAME_ERRORS))
def test_error_matches_torch(name):
    _assert_same_error(SAME_ERRORS[name])


def test_broadcast_error_names_both_sizes():
    with pytest.raises(RuntimeError, match=r"tensor a \(2\) must match the size of tensor b \(4\)"):
        nnrun.ones(2, 3) + nnrun.ones(4, 3)


def test_matmul_error_text():
    with pytest.raises(RuntimeError, match=r"^mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)$"):
        nnrun.ones(2, 3) @ nnrun.ones(4, 5)


def test_non_scalar_backward_message():
    y = nnrun.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()


def _modify_saved_output(lib):
    a = lib.ones(3, requires_grad=True)
    y = a.exp()  # exp saves its output for backward
    y.add_(1)
    y.sum().backward()


def _modify_saved_input(lib):
    a = lib.ones(3, requires_grad=True)
    b = a * 1
    y = b * b  # mul saves both inputs
    b.mul_(2)
    y.sum().backward()


@pytest.mark.parametrize("fn", [_modify_saved_output, _modify_saved_input], ids=["output", "input"])
def test_modified_saved_tensor_version_error(fn):
    for lib in (torch, nnrun):
        with pytest.raises(RuntimeError) as info:
            fn(lib)
        message = str(info.value)
        assert message.startswith(
            "one of the variables needed for gradient computation has been modified by an inplace operation"
        )
        assert "FloatTensor [3]]" in message
        assert "is at version 1; expected version 0 instead" in message


def _second_backward(lib, retain):
    a = lib.ones(3, requires_grad=True)
    y = (a * a).sum()
    y.backward(retain_graph=retain)
    y.backward()
    return a.grad


def test_second_backward_after_graph_freed():
    ours, theirs = (
        _error(nnrun, lambda lib: _second_backward(lib, False)),
        _error(torch, lambda lib: _second_backward(lib, False)),
    )
    assert ours == theirs
    assert "Specify retain_graph=True" in ours[1]


def test_second_backward_with_retained_graph_accumulates():
    np.testing.assert_allclose(_second_backward(nnrun, True).numpy(), _second_backward(torch, True).numpy())


class _FakeCudaArray(np.ndarray):
    """A NumPy array that the patched device lookup below reports as living on cuda:0."""


def _fake_device_of(original):
    def device_of(array):
        if isinstance(array, _FakeCudaArray):
            return nnrun.device("cuda", 0)
        return original(array)

    return device_of


def test_device_mismatch_check_names_both_devices(monkeypatch):
    # Without a GPU no CUDA tensor can exist: drive the check in Function.apply with an array type that
    # differs from NumPy's and a device lookup that calls it cuda:0.
    monkeypatch.setattr(nnrun._backend, "device_of", _fake_device_of(nnrun._backend.device_of))
    cpu = nnrun.ones(3)
    fake_cuda = nnrun.Tensor._make(np.ones(3, dtype=np.float32).view(_FakeCudaArray))
    expected = (
        r"^Expected all tensors to be on the same device, but found at least two devices, cpu and cuda:0!$"
    )
    with pytest.raises(RuntimeError, match=expected):
        autograd_function._raise_device_mismatch(cpu._data, fake_cuda._data)
    with pytest.raises(RuntimeError, match=expected):
        nnrun.add(cpu, fake_cuda)


@pytest.mark.gpu
def test_device_mismatch_on_gpu():
    pytest.importorskip("cupy")
    if not nnrun.cuda.is_available():
        pytest.skip("no CUDA device")
    with pytest.raises(RuntimeError, match="cpu and cuda:0"):
        nnrun.ones(3) + nnrun.ones(3, device="cuda")
