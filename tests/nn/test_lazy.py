"""Lazy layers: placeholders until the first call, then the regular layer, as in torch."""

import copy

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.summary import summary

torch = pytest.importorskip("torch")

# (constructor name, args, kwargs, input shape)
CASES = [
    ("LazyLinear", (3,), {}, (2, 5)),
    ("LazyLinear", (3,), {"bias": False}, (2, 4, 5)),
    ("LazyConv1d", (4, 3), {}, (2, 3, 9)),
    ("LazyConv1d", (4, 3), {"stride": 2, "padding": 1, "bias": False}, (3, 9)),
    ("LazyConv2d", (6, 3), {"stride": 2, "padding": 1, "dilation": 1}, (2, 3, 8, 8)),
    ("LazyConv2d", (4, (3, 2)), {"groups": 2, "dilation": 2}, (1, 4, 9, 9)),
    ("LazyBatchNorm1d", (), {}, (4, 3)),
    ("LazyBatchNorm1d", (), {"affine": False, "momentum": None}, (4, 3, 5)),
    ("LazyBatchNorm2d", (), {"eps": 1e-3, "track_running_stats": False}, (2, 3, 4, 4)),
    ("LazyBatchNorm2d", (), {"bias": False}, (2, 3, 4, 4)),
]


def both(name, args, kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


def keys_and_kinds(state):
    return [(k, type(v).__name__) for k, v in state.items()]


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CASES)
def test_lazy_layer_matches_torch_before_and_after_the_first_call(name, args, kwargs, shape):
    ours, theirs = both(name, args, kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.has_uninitialized_params() == theirs.has_uninitialized_params()
    assert keys_and_kinds(ours.state_dict()) == keys_and_kinds(theirs.state_dict())
    assert [repr(p) for p in ours.parameters()] == [repr(p) for p in theirs.parameters()]
    assert [repr(b) for b in ours.buffers() if isinstance(b, nn.UninitializedBuffer)] == [
        repr(b) for b in theirs.buffers() if isinstance(b, torch.nn.UninitializedBuffer)
    ]

    x = np.random.default_rng(0).standard_normal(shape)
    out = ours(nnrun.tensor(x, dtype=nnrun.float32))
    expected = theirs(torch.tensor(x, dtype=torch.float32))
    assert type(ours).__name__ == type(theirs).__name__ == name.removeprefix("Lazy")
    assert type(ours) is getattr(nn, name.removeprefix("Lazy"))
    assert repr(ours) == repr(theirs)
    assert not hasattr(ours, "has_uninitialized_params") and not hasattr(theirs, "has_uninitialized_params")
    assert tuple(out.shape) == tuple(expected.shape)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        assert tuple(ours_state[key].shape) == tuple(value.shape), key
        assert ours_state[key].dtype.itemsize == value.dtype.itemsize, key
    assert all(type(p) is nn.Parameter for p in ours.parameters())
    assert all(type(b) is nnrun.Tensor for b in ours.buffers())
    assert not ours._forward_pre_hooks and not ours._load_state_dict_pre_hooks


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CASES)
def test_values_after_copying_torch_weights(name, args, kwargs, shape):
    ours, theirs = both(name, args, kwargs)
    x = np.random.default_rng(1).standard_normal(shape)
    theirs(torch.tensor(x, dtype=torch.float32))  # sizes torch's layer
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    ours.load_state_dict({k: nnrun.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    out = ours(nnrun.tensor(x, dtype=nnrun.float32))
    expected = theirs(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    loaded = getattr(torch.nn, name)(*args, **kwargs)
    loaded.load_state_dict(theirs.state_dict())
    loaded(torch.tensor(x, dtype=torch.float32))
    assert repr(ours) == repr(loaded)  # sized by loading: conv and norm layers keep 0 channels, as torch


def test_the_default_init_matches_the_regular_layer():
    nnrun.manual_seed(3)
    lazy = nn.LazyLinear(4)
    lazy(nnrun.zeros(1, 6))
    nnrun.manual_seed(3)
    lazy_probe = nn.LazyLinear(4)
    lazy_probe(nnrun.zeros(1, 6))
    assert nnrun.equal(lazy.weight, lazy_probe.weight)
    bound = 1 / np.sqrt(6)
    assert float(lazy.weight.abs().max()) <= bound and float(lazy.bias.abs().max()) <= bound
    bn = nn.LazyBatchNorm1d()
    bn(nnrun.ones(2, 3))
    assert bn.weight.tolist() == [1.0] * 3 and bn.running_var.shape == (3,)


def test_uninitialized_placeholders_refuse_shape_questions_as_torch():
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    with pytest.raises(RuntimeError) as torch_error:
        _ = theirs.weight.shape
    with pytest.raises(RuntimeError) as error:
        _ = ours.weight.shape
    assert str(error.value) == str(torch_error.value)
    refused = (
        lambda p: p.numel(),
        lambda p: p.dim(),
        lambda p: len(p),
        lambda p: p.detach(),
        lambda p: p + 1,
        lambda p: p @ p,
        lambda p: p[0],
    )
    for use in refused:
        with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
            use(theirs.weight)
        with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
            use(ours.weight)
    assert tuple(ours.weight.size()) == tuple(theirs.weight.size()) == (0,)
    assert ours.weight.ndim == theirs.weight.ndim == 1
    assert str(ours.weight.dtype).split(".")[1] == str(theirs.weight.dtype).split(".")[1]
    assert repr(ours.weight) == repr(theirs.weight) == "<UninitializedParameter>"
    assert isinstance(ours.weight, nn.Parameter) and ours.weight.requires_grad
    assert ours.in_features == theirs.in_features == 0


def test_an_optimizer_may_hold_placeholders_and_keeps_them_after_the_first_call():
    model = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(1))
    tmodel = torch.nn.Sequential(torch.nn.LazyLinear(3), torch.nn.ReLU(), torch.nn.LazyLinear(1))
    torch.optim.SGD(tmodel.parameters(), lr=0.1)  # torch allows it: so do we
    params = list(model.parameters())
    optimizer = nnrun.optim.SGD(model.parameters(), lr=0.1)
    loss = model(nnrun.ones(2, 4)).sum()
    loss.backward()
    before = model[0].weight.detach().clone()
    optimizer.step()
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert optimizer.param_groups[0]["params"][0] is model[0].weight
    assert not nnrun.equal(model[0].weight, before)


def test_load_state_dict_sizes_a_lazy_layer_before_its_first_call():
    for lib in (nnrun, torch):
        source = lib.nn.Linear(5, 3)
        lazy = lib.nn.LazyLinear(3)
        lazy.load_state_dict(source.state_dict())
        assert type(lazy).__name__ == "LazyLinear" and tuple(lazy.weight.shape) == (3, 5)
        assert repr(lazy) == "LazyLinear(in_features=0, out_features=3, bias=True)"
        out = lazy(lib.ones(2, 5))
        assert repr(lazy) == "Linear(in_features=5, out_features=3, bias=True)"
        np.testing.assert_allclose(out.detach().numpy(), source(lib.ones(2, 5)).detach().numpy(), rtol=1e-6)

    conv = nn.LazyConv2d(4, 3)
    tconv = torch.nn.LazyConv2d(4, 3)
    conv.load_state_dict(nn.Conv2d(2, 4, 3).state_dict())
    tconv.load_state_dict(torch.nn.Conv2d(2, 4, 3).state_dict())
    conv(nnrun.zeros(1, 2, 5, 5))
    tconv(torch.zeros(1, 2, 5, 5))
    assert repr(conv) == repr(tconv)  # torch keeps in_channels=0 here; so do we

    bn = nn.LazyBatchNorm1d()
    bn.load_state_dict(nn.BatchNorm1d(2).state_dict())
    assert tuple(bn.running_mean.shape) == (2,) and type(bn.running_mean) is nnrun.Tensor


def test_partial_load_into_a_lazy_layer_reports_the_missing_key_as_torch():
    with pytest.raises(RuntimeError) as torch_error:
        torch.nn.LazyLinear(3).load_state_dict({"weight": torch.zeros(3, 5)})
    with pytest.raises(RuntimeError) as error:
        nn.LazyLinear(3).load_state_dict({"weight": nnrun.zeros(3, 5)})
    assert str(error.value).replace("nnrun", "torch") == str(torch_error.value)


def test_a_lazy_layer_loaded_into_a_sized_one_is_refused():
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        nn.Linear(5, 3).load_state_dict(nn.LazyLinear(3).state_dict())


def test_dtype_and_device_moves_before_the_first_call_are_kept():
    model = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d()).double()
    assert isinstance(model[1].running_mean, nn.UninitializedBuffer)
    model(nnrun.zeros(2, 4, dtype=nnrun.float64))
    assert model[0].weight.dtype == nnrun.float64 and model[1].running_var.dtype == nnrun.float64
    assert nn.LazyLinear(2, dtype=nnrun.float64).weight.dtype == nnrun.float64


def test_deepcopy_of_a_lazy_layer_stays_lazy_and_independent():
    lazy = nn.LazyLinear(3)
    copied = copy.deepcopy(lazy)
    copied(nnrun.zeros(1, 7))
    assert repr(copied) == "Linear(in_features=7, out_features=3, bias=True)"
    assert lazy.has_uninitialized_params() and type(lazy) is nn.LazyLinear
    lazy(nnrun.zeros(1, 2))
    assert lazy.in_features == 2


def test_bad_input_to_a_lazy_conv_raises_value_error_as_torch():
    with pytest.raises(
        ValueError, match="Expected 2D \\(unbatched\\) or 3D \\(batched\\) input to LazyConv1d"
    ):
        nn.LazyConv1d(2, 3)(nnrun.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(nnrun.zeros(1, 3, 5, 5))


def test_lazy_layers_are_yaml_layers_and_the_dry_run_sizes_them():
    for name in ("LazyLinear", "LazyConv1d", "LazyConv2d", "LazyBatchNorm1d", "LazyBatchNorm2d"):
        assert name in nn.LAYERS
    text = (
        "input_shape: [3, 8, 8]\nmodule:\n  Sequential:\n    - {LazyConv2d: [4, 3]}\n    - LazyBatchNorm2d\n"
        "    - Flatten\n    - {LazyLinear: {out_features: 2}}\n"
    )
    model = nnrun.config.build_model(text)
    assert [type(m).__name__ for m in model] == ["Conv2d", "BatchNorm2d", "Flatten", "Linear"]
    assert model[3].in_features == 4 * 6 * 6
    assert tuple(model(nnrun.zeros(5, 3, 8, 8)).shape) == (5, 2)

    unsized = nnrun.config.build_model("module:\n  Sequential:\n    - {LazyLinear: [4]}\n    - ReLU\n")
    assert unsized[0].has_uninitialized_params()
    assert tuple(unsized(nnrun.zeros(2, 3)).shape) == (2, 4)


def test_summary_of_a_lazy_model():
    model = nn.Sequential(nn.LazyLinear(3))
    assert "Total params: 0" in str(summary(model))
    assert "Total params: 18" in str(summary(model, input_size=(5,)))
    assert type(model[0]) is nn.Linear
