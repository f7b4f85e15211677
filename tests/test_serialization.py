"""nnrun.save / nnrun.load: exact round trips, safetensors interop, clear errors, atomic writes."""

import io
import json
import math
import os
import pickle
import re
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import safetensors
import safetensors.numpy

import nnrun
from nnrun import _backend, serialization
from nnrun.serialization import CheckpointError

ALL_DTYPES = [
    nnrun.float16,
    nnrun.float32,
    nnrun.float64,
    nnrun.uint8,
    nnrun.int8,
    nnrun.int16,
    nnrun.int32,
    nnrun.int64,
    nnrun.bool,
]
SHAPES = [(), (0,), (2, 0, 3), (5,), (2, 3, 4)]


def assert_same(actual, expected):
    """Equal values, types and order, recursively; tensors equal in dtype, shape, values and flags."""
    assert type(actual) is type(expected)
    if isinstance(expected, nnrun.Tensor):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        assert actual.requires_grad == expected.requires_grad and actual.device == expected.device
        a, e = np.asarray(actual), np.asarray(expected)
        assert a.tobytes() == np.ascontiguousarray(e).tobytes()  # bit-exact, NaN and -0.0 included
    elif isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_same(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same(a, e)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual)
    else:
        assert actual == expected
        if isinstance(expected, float):
            assert math.copysign(1, actual) == math.copysign(1, expected)


def round_trip(obj, tmp_path, **load_kwargs):
    path = tmp_path / "checkpoint.safetensors"
    nnrun.save(obj, path)
    return nnrun.load(path, **load_kwargs)


def sample(dtype, shape):
    values = np.random.default_rng(0).normal(size=shape) * 50
    return nnrun.tensor(values.astype(dtype.np))


def forge(path, arrays, document):
    """Write a safetensors file with hand-made nnrun metadata, as a tamperer could."""
    metadata = {"nnrun": document if isinstance(document, str) else json.dumps(document)}
    safetensors.numpy.save_file(arrays, str(path), metadata=metadata)


def tensor_node(name, dtype="float32", shape=(2,), device="cpu", **extra):
    node = {"type": "tensor", "name": name, "dtype": dtype, "shape": list(shape), "device": device}
    return {**node, "requires_grad": False, "parameter": False, **extra}


# ----- round trips -----
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_tensor_round_trip_every_dtype_and_shape(tmp_path, dtype, shape):
    tensor = sample(dtype, shape)
    assert_same(round_trip(tensor, tmp_path), tensor)


def test_non_contiguous_and_offset_views_save_their_own_values(tmp_path):
    base = nnrun.arange(24, dtype=nnrun.float64).reshape(2, 3, 4)
    views = [base.transpose(0, 2), base[:, 1:, ::2], base[1], base[0, 1:]]
    loaded = round_trip(views, tmp_path)
    for got, view in zip(loaded, views):
        assert got.is_contiguous()
        assert_same(got, view.contiguous())


def test_special_float_values_are_bit_exact(tmp_path):
    tensor = nnrun.tensor([math.nan, math.inf, -math.inf, -0.0, 1e-45, 3.4e38], dtype=nnrun.float32)
    assert_same(round_trip(tensor, tmp_path), tensor)


def test_requires_grad_is_kept_and_loaded_tensors_are_leaves(tmp_path):
    leaf = nnrun.randn(3, requires_grad=True)
    computed = leaf * 2
    loaded_leaf, loaded_computed, plain = round_trip([leaf, computed, nnrun.ones(2)], tmp_path)
    assert loaded_leaf.requires_grad and loaded_leaf.is_leaf
    assert loaded_computed.requires_grad and loaded_computed.is_leaf
    assert not plain.requires_grad
    (loaded_leaf * loaded_computed).sum().backward()
    assert loaded_leaf.grad is not None


def test_loaded_tensors_are_writable(tmp_path):
    loaded = round_trip(nnrun.zeros(3), tmp_path)
    loaded.add_(1)
    assert loaded.tolist() == [1.0, 1.0, 1.0]


def test_nested_structure_round_trip_keeps_types_order_and_scalars(tmp_path):
    obj = OrderedDict(
        [
            ("zeta", {"b": 1, "a": 2.5, 7: [None, True, False, "ü text", ""]}),
            ("alpha", (1, (2, [3]), [])),
            ("floats", [math.inf, -math.inf, math.nan, -0.0, 0.1, 1e300]),
            ("ints", [0, -1, 2**70, -(2**63)]),
            ("empty", [{}, OrderedDict(), (), []]),
            ("tensors", {"w": nnrun.randn(2, 2), 0: (nnrun.tensor(3), [nnrun.tensor([True])])}),
        ]
    )
    assert_same(round_trip(obj, tmp_path), obj)


@pytest.mark.parametrize("obj", [None, 3, 2.5, math.nan, "text", True, [], ()], ids=repr)
def test_plain_python_values_round_trip(tmp_path, obj):
    assert_same(round_trip(obj, tmp_path), obj)


def test_optimizer_style_state_dict_round_trip(tmp_path):
    state = {
        "state": {0: {"step": 3, "momentum_buffer": nnrun.randn(4, 3)}, 1: {"step": 3, "exp_avg": None}},
        "param_groups": [{"lr": 0.1, "momentum": 0.9, "nesterov": False, "params": [0, 1]}],
    }
    assert_same(round_trip(state, tmp_path), state)


def test_flat_state_dict_is_stored_under_its_own_keys(tmp_path):
    state = OrderedDict(
        [("fc2.weight", nnrun.randn(2, 3)), ("fc1.bias", nnrun.randn(3)), ("0.w", nnrun.ones(1))]
    )
    path = tmp_path / "model.safetensors"
    nnrun.save(state, path)
    with safetensors.safe_open(str(path), framework="np") as handle:
        assert sorted(handle.keys()) == sorted(state)
    assert_same(nnrun.load(path), state)


def test_colliding_and_reserved_names_stay_distinct(tmp_path):
    obj = {"a": {"b": nnrun.tensor([1.0])}, "a.b": nnrun.tensor([2.0]), "__metadata__": nnrun.tensor([3.0])}
    obj[0] = nnrun.tensor([4.0])
    obj["0"] = nnrun.tensor([5.0])
    assert_same(round_trip(obj, tmp_path), obj)


def test_a_tensor_saved_twice_loads_as_two_equal_tensors(tmp_path):
    shared = nnrun.randn(3)
    first, second = round_trip([shared, shared], tmp_path)
    assert first is not second
    assert_same(first, shared) and assert_same(second, shared)


def test_overwrite_replaces_file_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "model.safetensors"
    nnrun.save({"w": nnrun.zeros(2)}, path)
    nnrun.save({"w": nnrun.ones(2)}, str(path))
    assert nnrun.load(str(path))["w"].tolist() == [1.0, 1.0]
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_saved_file_permissions_follow_the_umask(tmp_path):
    path = tmp_path / "model.safetensors"
    nnrun.save(nnrun.ones(1), path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


# ----- saving: what is refused -----
class _Opaque:
    pass


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({1, 2}, "type set at obj"),
        ({"a": [np.float64(1.0)]}, "type float64 at obj['a'][0]"),
        ({"a": _Opaque()}, "type _Opaque"),
        ({1.5: nnrun.ones(1)}, "keys must be str or int"),
        ({(1, 2): 3}, "keys must be str or int"),
        ({True: 3}, "keys must be str or int"),
        (np.ones(2), "type ndarray"),
    ],
)
def test_save_refuses_what_cannot_round_trip(tmp_path, obj, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        nnrun.save(obj, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_refuses_self_referencing_containers(tmp_path):
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="self-referencing"):
        nnrun.save(loop, tmp_path / "x.safetensors")


@pytest.mark.parametrize("function", [nnrun.save, nnrun.load])
def test_file_objects_are_refused(function):
    args = (nnrun.ones(1), io.BytesIO()) if function is nnrun.save else (io.BytesIO(),)
    with pytest.raises(TypeError, match="expects a file path"):
        function(*args)


# ----- atomic writes -----
def test_failed_save_leaves_existing_file_untouched(tmp_path):
    path = tmp_path / "model.safetensors"
    nnrun.save({"w": nnrun.randn(3)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        nnrun.save({"w": nnrun.randn(3), "bad": {1, 2}}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_crash_mid_write_leaves_existing_file_untouched(tmp_path, monkeypatch, error):
    path = tmp_path / "model.safetensors"
    nnrun.save({"w": nnrun.randn(3)}, path)
    before = path.read_bytes()

    def half_write(arrays, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(before[: len(before) // 2])
        raise error

    monkeypatch.setattr(safetensors.numpy, "save_file", half_write)
    with pytest.raises(type(error)):
        nnrun.save({"w": nnrun.randn(300)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_failed_rename_removes_the_temporary(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError("read-only target")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        nnrun.save(nnrun.ones(2), tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


# ----- loading: what is refused, always with the path in the message -----
def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        nnrun.load(tmp_path / "absent.safetensors")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        nnrun.load(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00" * 7,
        # Fixed bytes: random ones start with 0x80 (pickle's magic) one time in 256.
        np.random.default_rng(0).bytes(256),
        b"hello, this is a text file\n",
        b"\x08\x00\x00\x00\x00\x00\x00\x00{bad}",
    ],
    ids=["empty", "short", "random", "text", "bad-header"],
)
def test_non_safetensors_files_give_a_clear_error(tmp_path, content):
    path = tmp_path / "weights.bin"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a valid safetensors file") as info:
        nnrun.load(path)
    assert str(path) in str(info.value)


def test_truncated_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "model.safetensors"
    nnrun.save({"w": nnrun.randn(10)}, path)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(CheckpointError, match="not a valid safetensors file") as info:
        nnrun.load(path)
    assert str(path) in str(info.value)


def test_pickle_files_are_refused_without_running_them(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError, match="pickle"):
        nnrun.load(path)
    assert not marker.exists()


def test_torch_save_files_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="pickle"):
        nnrun.load(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b'"shape":[2,3]', b'"shape":[3,2]', r"float32\[3, 2\] in the file but float32\[2, 3\]"),
        (b'"dtype":"F32"', b'"dtype":"I32"', r"int32\[2, 3\] in the file but float32"),
        (b'"shape":[2,3]', b'"shape":[2,4]', "not a valid safetensors file"),
        (b'"dtype":"F32"', b'"dtype":"X32"', "not a valid safetensors file"),
    ],
)
def test_tampered_tensor_header_is_detected(tmp_path, old, new, message):
    path = tmp_path / "model.safetensors"
    nnrun.save({"w": nnrun.randn(2, 3)}, path)
    data = path.read_bytes()
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))
    with pytest.raises(CheckpointError, match=message):
        nnrun.load(path)


W = {"w": np.ones(2, dtype=np.float32)}


@pytest.mark.parametrize(
    ("arrays", "document", "message"),
    [
        (W, "{not json", "not valid JSON"),
        (W, [1, 2], "no 'object' entry"),
        (W, {"object": None}, "invalid format_version"),
        ({}, {"format_version": 1, "object": tensor_node("w")}, "'w' .* is missing from the file"),
        (W, {"format_version": 1, "object": None}, r"tensors \['w'\] are not referenced"),
        (W, {"format_version": 1, "object": [tensor_node("w"), tensor_node("w")]}, "unexpected list"),
        (
            W,
            {"format_version": 1, "object": {"type": "list", "items": [tensor_node("w"), tensor_node("w")]}},
            "referenced twice",
        ),
        (W, {"format_version": 1, "object": tensor_node("w", dtype="float64")}, "float64"),
        (W, {"format_version": 1, "object": tensor_node("w", shape=(1, 2))}, r"\[1, 2\] in the nnrun"),
        (W, {"format_version": 1, "object": tensor_node("w", device="tpu")}, "invalid device 'tpu'"),
        (W, {"format_version": 1, "object": tensor_node("w", requires_grad="yes")}, "flags"),
        (W, {"format_version": 1, "object": {"name": "w"}}, "invalid entry"),
        (W, {"format_version": 1, "object": {"type": "set", "items": []}}, "invalid entry"),
        (W, {"format_version": 1, "object": {"type": "float", "value": "1e9"}}, "invalid float"),
        (W, {"format_version": 1, "object": {"type": "dict", "items": [[None, 1]]}}, "invalid dict item"),
        (W, {"format_version": 1, "object": {"type": "dict", "items": [["a", 1, 2]]}}, "invalid dict item"),
        (W, {"format_version": 99, "object": None}, "format 99; this nnrun reads format 1"),
    ],
)
def test_tampered_metadata_is_detected(tmp_path, arrays, document, message):
    path = tmp_path / "model.safetensors"
    forge(path, arrays, document)
    with pytest.raises(CheckpointError, match=message) as info:
        nnrun.load(path)
    assert str(path) in str(info.value)


def test_deeply_nested_metadata_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    deep = '{"type": "list", "items": [' * 5000 + "]}" * 5000
    forge(path, {}, '{"format_version": 1, "object": ' + deep + "}")
    with pytest.raises(CheckpointError, match="nested too deeply"):
        nnrun.load(path)


# ----- plain safetensors files and map_location -----
def test_plain_safetensors_file_loads_as_sorted_ordered_dict(tmp_path):
    path = tmp_path / "plain.safetensors"
    arrays = {"b": np.arange(6, dtype=np.int32).reshape(2, 3), "a": np.array(1.5), "c": np.zeros(0, np.bool_)}
    safetensors.numpy.save_file(arrays, str(path), metadata={"format": "np"})
    loaded = nnrun.load(path)
    assert type(loaded) is OrderedDict and list(loaded) == ["a", "b", "c"]
    for key, array in arrays.items():
        assert_same(loaded[key], nnrun.tensor(array))


def test_unsupported_safetensors_dtype_is_named(tmp_path):
    path = tmp_path / "plain.safetensors"
    safetensors.numpy.save_file({"x": np.ones(2, dtype=np.uint16)}, str(path))
    with pytest.raises(CheckpointError, match="'x' has dtype U16, which nnrun does not support"):
        nnrun.load(path)


@pytest.mark.parametrize(
    "map_location", ["cpu", nnrun.device("cpu"), {"cpu": "cpu"}, {"cuda:0": "cpu"}], ids=repr
)
def test_map_location_to_cpu(tmp_path, map_location):
    tensor = nnrun.randn(2, requires_grad=True)
    assert_same(round_trip(tensor, tmp_path, map_location=map_location), tensor)


def test_map_location_callable_sees_the_saved_device(tmp_path):
    seen = []

    def to_double(tensor, location):
        seen.append(location)
        return tensor.double()

    loaded = round_trip({"w": nnrun.ones(2, requires_grad=True)}, tmp_path, map_location=to_double)
    assert seen == ["cpu"]
    assert loaded["w"].dtype == nnrun.float64 and loaded["w"].requires_grad


def test_map_location_of_wrong_type_is_refused(tmp_path):
    with pytest.raises(TypeError, match="map_location"):
        round_trip(nnrun.ones(1), tmp_path, map_location=3)


def test_cuda_checkpoint_without_cuda_names_map_location(tmp_path):
    if _backend.cuda_is_available():
        pytest.skip("CUDA is available here")
    path = tmp_path / "gpu.safetensors"
    forge(
        path,
        W,
        {
            "format_version": 1,
            "object": {"type": "dict", "items": [["w", tensor_node("w", device="cuda:0")]]},
        },
    )
    with pytest.raises(
        CheckpointError, match=r"saved on cuda:0 on cuda:0: CUDA is not available.*map_location='cpu'"
    ):
        nnrun.load(path)
    assert nnrun.load(path, map_location="cpu")["w"].tolist() == [1.0, 1.0]


@pytest.mark.gpu
def test_cuda_tensors_round_trip_to_their_device(tmp_path):
    if not _backend.cuda_is_available():
        pytest.skip("needs CUDA")
    tensor = nnrun.randn(3, 4).cuda().t()  # non-contiguous on the GPU
    loaded = round_trip({"w": tensor}, tmp_path)["w"]
    assert loaded.device == tensor.device
    assert_same(loaded, tensor.contiguous())
    on_cpu = nnrun.load(tmp_path / "checkpoint.safetensors", map_location="cpu")["w"]
    assert on_cpu.device == nnrun.device("cpu") and on_cpu.tolist() == tensor.tolist()


# ----- interop with PyTorch -----
def test_nnrun_state_dict_loads_into_torch_linear(tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    state = OrderedDict([("weight", nnrun.randn(3, 4)), ("bias", nnrun.randn(3))])
    path = tmp_path / "linear.safetensors"
    nnrun.save(state, path)
    torch_state = safetensors.torch.load_file(str(path))
    for key, tensor in state.items():
        assert np.array_equal(torch_state[key].numpy(), tensor.numpy())
    linear = torch.nn.Linear(4, 3)
    linear.load_state_dict(torch_state)
    x = nnrun.randn(5, 4)
    expected = x @ state["weight"].t() + state["bias"]
    actual = linear(torch.from_numpy(x.numpy())).detach().numpy()
    np.testing.assert_allclose(actual, expected.numpy(), atol=1e-6)


def test_torch_saved_state_dict_loads_in_nnrun(tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    linear = torch.nn.Linear(4, 3)
    extra = {"steps": torch.tensor(7), "mask": torch.tensor([True, False]), "half": torch.ones(2).half()}
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file({**linear.state_dict(), **extra}, str(path))
    state = nnrun.load(path)
    assert list(state) == sorted(["weight", "bias", *extra])
    for key, tensor in {**linear.state_dict(), **extra}.items():
        assert str(tensor.dtype).removeprefix("torch.") == state[key].dtype.name
        assert np.array_equal(state[key].numpy(), tensor.numpy())
    x = torch.randn(5, 4)
    expected = linear(x).detach().numpy()
    actual = nnrun.tensor(x.numpy()) @ state["weight"].t() + state["bias"]
    np.testing.assert_allclose(actual.numpy(), expected, atol=1e-6)


def test_torch_bfloat16_file_is_refused_by_name(tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(CheckpointError, match="dtype BF16"):
        nnrun.load(path)


# ----- nnrun.nn (skipped until it exists) -----
def _nn():
    nn = pytest.importorskip("nnrun.nn")
    if not hasattr(nn, "Linear") or not hasattr(nn, "Parameter"):
        pytest.skip("nnrun.nn.Linear/Parameter not written yet")
    return nn


def test_parameter_round_trips_as_parameter(tmp_path):
    nn = _nn()
    weight = nn.Parameter(nnrun.randn(2, 3))
    frozen = nn.Parameter(nnrun.randn(2), requires_grad=False)
    loaded, loaded_frozen = round_trip([weight, frozen], tmp_path)
    assert type(loaded) is nn.Parameter and loaded.requires_grad
    assert type(loaded_frozen) is nn.Parameter and not loaded_frozen.requires_grad
    assert loaded.tolist() == weight.tolist()


def test_linear_state_dict_round_trip_and_torch_parity(tmp_path):
    nn = _nn()
    torch = pytest.importorskip("torch")
    import safetensors.torch

    net = nn.Linear(4, 3)
    path = tmp_path / "linear.safetensors"
    nnrun.save(net.state_dict(), path)
    fresh = nn.Linear(4, 3)
    fresh.load_state_dict(nnrun.load(path))
    x = nnrun.randn(5, 4)
    assert (fresh(x) == net(x)).all()
    torch_linear = torch.nn.Linear(4, 3)
    torch_linear.load_state_dict(safetensors.torch.load_file(str(path)))
    expected = torch_linear(torch.from_numpy(x.numpy())).detach().numpy()
    np.testing.assert_allclose(net(x).detach().numpy(), expected, atol=1e-6)


# ----- Modules: stored through the config layer, which nnrun.save/nnrun.load pass in -----
def test_serialization_alone_refuses_modules_and_names_what_they_need(tmp_path):
    nn = _nn()
    path = tmp_path / "model.safetensors"
    with pytest.raises(TypeError, match=r"cannot save the Linear at obj\['m'\]: saving a Module needs"):
        serialization.save({"m": nn.Linear(2, 2)}, path)
    nnrun.save({"m": nn.Linear(2, 2)}, path)
    with pytest.raises(CheckpointError, match=r"holds a Module at object\['m'\]; loading it needs"):
        serialization.load(path)


def test_tensors_are_saved_and_loaded_without_importing_the_config_layer(tmp_path):
    loaded = "('nnrun.config', 'pydantic', 'yaml')"
    code = (
        "import sys, nnrun\n"
        f"nnrun.save({{'w': nnrun.nn.Parameter(nnrun.ones(2))}}, {str(tmp_path / 'w.safetensors')!r})\n"
        f"nnrun.load({str(tmp_path / 'w.safetensors')!r})\n"
        f"print(any(name in sys.modules for name in {loaded}))\n"
        f"nnrun.save(nnrun.nn.Linear(2, 2), {str(tmp_path / 'm.safetensors')!r})\n"
        "print('nnrun.config' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]
