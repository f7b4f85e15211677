"""repr/str of tensors, Size, dtype and device match torch's (with ``torch.`` read as ``nnrun.``).

Both tensors are built from the same NumPy array, so the printed values are identical by construction.
"""

import numpy as np
import pytest

import nnrun

torch = pytest.importorskip("torch")


def _rng(seed=0):
    return np.random.default_rng(seed)


def as_torch_text(text):
    return text.replace("torch.", "nnrun.")


def assert_same_print(array, **kwargs):
    ours = nnrun.tensor(array, **kwargs)
    theirs = torch.tensor(array, **kwargs)
    assert repr(ours) == as_torch_text(repr(theirs))
    assert str(ours) == as_torch_text(str(theirs))


@pytest.fixture
def restore_printoptions():
    yield
    nnrun.set_printoptions(profile="default", sci_mode=None)
    torch.set_printoptions(profile="default", sci_mode=None)


ARRAYS = {
    "scalar_float": np.array(3.5, dtype=np.float32),
    "scalar_negative": np.array(-0.125, dtype=np.float32),
    "scalar_int": np.array(7),
    "scalar_bool": np.array(True),
    "vector": _rng(1).standard_normal(5).astype(np.float32),
    "matrix": _rng(2).standard_normal((3, 4)).astype(np.float32),
    "cube": _rng(3).standard_normal((2, 3, 4)).astype(np.float32),
    "four_d": _rng(4).standard_normal((2, 2, 2, 2)).astype(np.float32),
    "large_vector": _rng(5).standard_normal(2000).astype(np.float32),
    "large_matrix": _rng(6).standard_normal((100, 100)).astype(np.float32),
    "large_cube": np.ones((20, 20, 20), dtype=np.float32),
    "large_int": np.arange(2000),
    "wrapped_row": _rng(7).standard_normal((2, 40)).astype(np.float32),
    "negatives": -np.arange(6, dtype=np.float32).reshape(2, 3),
    "integers": np.arange(-5, 7).reshape(3, 4),
    "big_integers": np.array([123456789012, -3]),
    "int32": np.arange(4, dtype=np.int32),
    "uint8": np.arange(4, dtype=np.uint8),
    "int8": np.array([-128, 0, 127], dtype=np.int8),
    "bool": np.array([[True, False, True], [False, False, True]]),
    "float64": _rng(8).standard_normal((2, 2)),
    "float16": np.array([1.5, 2.25, -0.1], dtype=np.float16),
    "integral_floats": np.array([1.0, 2.0, 300.0], dtype=np.float32),
    "zeros": np.zeros(4, dtype=np.float32),
    "signed_zero": np.array([-0.0, 0.0], dtype=np.float32),
    "huge_values": np.array([1e10, 1.0, -3e-5], dtype=np.float32),
    "tiny_values": np.array([1e-8, 2e-9], dtype=np.float32),
    "ratio_over_1000": np.array([0.001, 1.001], dtype=np.float32),
    "ratio_exactly_1000": np.array([0.001, 1.0], dtype=np.float32),
    "just_above_1e-4": np.array([1e-4, 0.5], dtype=np.float32),
    "wide_range_vector": _rng(9).standard_normal(30).astype(np.float32) * 1000,
    "float64_huge": np.array([1e20, 1.0]),
    "inf_nan": np.array([np.inf, -np.inf, np.nan, 1.5], dtype=np.float32),
    "inf_with_integers": np.array([np.inf, 2.0, 1000.0], dtype=np.float32),
    "only_nonfinite": np.array([np.inf, np.nan], dtype=np.float32),
    "empty": np.zeros((0,), dtype=np.float32),
    "empty_2d": np.zeros((2, 0), dtype=np.float32),
    "empty_int": np.zeros((0,), dtype=np.int64),
    "empty_float64": np.zeros((0, 3)),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_tensor_repr_matches_torch(name):
    assert_same_print(ARRAYS[name])


@pytest.mark.parametrize("name", ["scalar_float", "vector", "matrix", "float64", "empty", "large_matrix"])
def test_requires_grad_repr(name):
    assert_same_print(ARRAYS[name], requires_grad=True)


def test_summarized_output_has_ellipsis():
    text = repr(nnrun.tensor(ARRAYS["large_vector"]))
    assert "..." in text
    assert len(text.splitlines()) == 1


# op -> the grad_fn name torch gives it; each op runs on a (3, 4) float tensor ``a`` and a (4, 5) ``b``
GRAD_FN_OPS = {
    "add": lambda lib, a, b: a + a,
    "add_scalar": lambda lib, a, b: a + 1.0,
    "sub": lambda lib, a, b: a - a,
    "mul": lambda lib, a, b: a * 2.0,
    "div": lambda lib, a, b: a / 3.0,
    "pow_scalar": lambda lib, a, b: a**2,
    "neg": lambda lib, a, b: -a,
    "exp": lambda lib, a, b: a.exp(),
    "tanh": lambda lib, a, b: a.tanh(),
    "sigmoid": lambda lib, a, b: a.sigmoid(),
    "relu": lambda lib, a, b: a.relu(),
    "abs": lambda lib, a, b: a.abs(),
    "sin": lambda lib, a, b: a.sin(),
    "sum": lambda lib, a, b: a.sum(),
    "sum_dim": lambda lib, a, b: a.sum(dim=1),
    "mean": lambda lib, a, b: a.mean(),
    "mean_dim": lambda lib, a, b: a.mean(0, keepdim=True),
    "prod": lambda lib, a, b: a.prod(),
    "max": lambda lib, a, b: a.max(),
    "max_dim": lambda lib, a, b: a.max(dim=1)[0],
    "min_dim": lambda lib, a, b: a.min(dim=0).values,
    "amax": lambda lib, a, b: a.amax(dim=1),
    "logsumexp": lambda lib, a, b: a.logsumexp(1),
    "var": lambda lib, a, b: a.var(),
    "mm": lambda lib, a, b: a @ b,
    "mm_method": lambda lib, a, b: a.mm(b),
    "mv": lambda lib, a, b: a @ b[:, 0],
    "dot": lambda lib, a, b: a[0] @ b[:, 0],
    "cat": lambda lib, a, b: lib.cat([a, a]),
    "stack": lambda lib, a, b: lib.stack([a, a]),
    "clamp": lambda lib, a, b: a.clamp(-0.5, 0.5),
    "clone": lambda lib, a, b: a.clone(),
    "to_double": lambda lib, a, b: a.double(),
    "expand": lambda lib, a, b: a.expand(2, 3, 4),
    "flip": lambda lib, a, b: a.flip(0),
    "gather": lambda lib, a, b: a.gather(1, lib.zeros(3, 1, dtype=lib.int64)),
    "where": lambda lib, a, b: lib.where(a > 0, a, 0.0),
    "masked_fill": lambda lib, a, b: a.masked_fill(a > 0, 0.0),
    "maximum": lambda lib, a, b: lib.maximum(a, a * 2.0),
    "permute": lambda lib, a, b: a.permute(1, 0),
}


def _grad_fn_name(lib, fn):
    a = lib.tensor(ARRAYS["matrix"], requires_grad=True)
    b = lib.tensor(_rng(10).standard_normal((4, 5)).astype(np.float32))
    return fn(lib, a, b).grad_fn.name()


@pytest.mark.parametrize("op", sorted(GRAD_FN_OPS))
def test_grad_fn_name_matches_torch(op):
    fn = GRAD_FN_OPS[op]
    assert _grad_fn_name(nnrun, fn) == _grad_fn_name(torch, fn)


@pytest.mark.parametrize("op", ["add", "mul", "sum", "sum_dim", "mean", "mean_dim", "mm"])
def test_grad_fn_repr_matches_torch(op):
    fn = GRAD_FN_OPS[op]
    results = []
    for lib in (nnrun, torch):
        a = lib.tensor(ARRAYS["matrix"], requires_grad=True)
        b = lib.tensor(_rng(10).standard_normal((4, 5)).astype(np.float32))
        results.append(repr(fn(lib, a, b)))
    assert results[0] == as_torch_text(results[1])


def test_grad_fn_repr_wraps_like_torch():
    values = (ARRAYS["vector"][:4] * 1000).astype(np.float32)
    outputs = [repr(lib.tensor(values, requires_grad=True) * 1.0) for lib in (nnrun, torch)]
    assert outputs[0] == as_torch_text(outputs[1])


def test_detached_and_no_grad_results_have_no_suffix():
    a = nnrun.tensor(ARRAYS["vector"], requires_grad=True)
    with nnrun.no_grad():
        assert repr(a * 2.0) == repr(torch.tensor(ARRAYS["vector"]) * 2.0)
    assert repr(a.detach()) == repr(torch.tensor(ARRAYS["vector"]))


@pytest.mark.parametrize("shape", [[3, 4], [], [5], [2, 0, 1]])
def test_size_repr(shape):
    assert repr(nnrun.Size(shape)) == as_torch_text(repr(torch.Size(shape)))
    assert str(nnrun.Size(shape)) == as_torch_text(str(torch.Size(shape)))
    assert repr(nnrun.zeros(shape).shape) == as_torch_text(repr(torch.zeros(shape).shape))


@pytest.mark.parametrize(
    "name",
    ["float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool", "double", "long"],
)
def test_dtype_repr(name):
    assert repr(getattr(nnrun, name)) == as_torch_text(repr(getattr(torch, name)))
    assert str(getattr(nnrun, name)) == as_torch_text(str(getattr(torch, name)))


@pytest.mark.parametrize("args", [("cpu",), ("cuda",), ("cuda", 0), ("cuda:1",)])
def test_device_repr(args):
    ours, theirs = nnrun.device(*args), torch.device(*args)
    assert repr(ours) == repr(theirs)
    assert str(ours) == str(theirs)


def test_tensor_device_repr():
    assert repr(nnrun.zeros(2).device) == repr(torch.zeros(2).device)


@pytest.mark.parametrize(
    "options",
    [
        {"precision": 2},
        {"precision": 6},
        {"precision": 6, "sci_mode": True},
        {"sci_mode": False},
        {"threshold": 5},
        {"linewidth": 30},
        {"edgeitems": 1, "threshold": 3},
        {"profile": "short"},
        {"profile": "full"},
    ],
)
@pytest.mark.parametrize("name", ["matrix", "huge_values", "large_vector", "integral_floats"])
def test_set_printoptions(restore_printoptions, options, name):
    nnrun.set_printoptions(**options)
    torch.set_printoptions(**options)
    assert_same_print(ARRAYS[name], requires_grad=True)


def test_set_printoptions_restored(restore_printoptions):
    before = repr(nnrun.tensor(ARRAYS["matrix"]))
    nnrun.set_printoptions(precision=1)
    assert repr(nnrun.tensor(ARRAYS["matrix"])) != before
    nnrun.set_printoptions(profile="default")
    assert repr(nnrun.tensor(ARRAYS["matrix"])) == before
