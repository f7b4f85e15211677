"""state_dict / load_state_dict: keys, detaching, strict errors, assign, hooks, extra state."""

from collections import OrderedDict

import numpy as np
import pytest

import nnrun
from nnrun import nn


@pytest.fixture(autouse=True)
def _seed():
    nnrun.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 3)
        self.register_buffer("rm", nnrun.zeros(3))
        self.register_buffer("scratch", nnrun.zeros(1), persistent=False)

    def forward(self, x):
        return self.a(x) + self.rm


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.output = nn.Linear(256, 10)

    def forward(self, x):
        return self.output(nn.functional.relu(self.hidden(x)))


def test_state_dict_keys_order_and_detached():
    net = Net()
    sd = net.state_dict()
    assert type(sd) is OrderedDict
    assert list(sd) == ["rm", "a.weight", "a.bias"]
    assert not sd["a.weight"].requires_grad and type(sd["a.weight"]) is nnrun.Tensor
    with nnrun.no_grad():
        net.a.weight.add_(1)
    assert nnrun.equal(sd["a.weight"], net.a.weight)  # shares memory with the module
    kept = net.state_dict(keep_vars=True)
    assert kept["a.weight"] is net.a.weight
    assert list(net.state_dict(prefix="m.")) == ["m.rm", "m.a.weight", "m.a.bias"]
    destination = {}
    assert net.state_dict(destination=destination) is destination


def test_load_into_fresh_instance_gives_equal_outputs():
    net = MLP()
    x = nnrun.rand(2, 20)
    y = net(x)
    clone = MLP()
    result = clone.load_state_dict(net.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    y2 = clone(x)
    assert (y2 == y).all()
    assert clone.hidden.weight is not net.hidden.weight  # copied, not shared


def test_load_copies_in_place_keeping_identity():
    net = Net()
    weight = net.a.weight
    sd = {k: v.clone() + 1 for k, v in Net().state_dict().items()}
    net.load_state_dict(sd)
    assert net.a.weight is weight and weight.requires_grad
    assert nnrun.equal(weight, sd["a.weight"])


def test_strict_error_lists_everything():
    net = Net()
    sd = net.state_dict()
    del sd["a.bias"], sd["rm"]
    sd["x"] = nnrun.zeros(1)
    sd["a.q"] = nnrun.zeros(1)
    sd["a.weight"] = nnrun.zeros(4, 2)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Net:\n"
        '\tMissing key(s) in state_dict: "rm", "a.bias". \n'
        '\tUnexpected key(s) in state_dict: "x", "a.q". \n'
        "\tsize mismatch for a.weight: copying a param with shape nnrun.Size([4, 2]) from checkpoint, "
        "the shape in current model is nnrun.Size([3, 2])."
    )
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd, strict=False)  # a size mismatch is an error even when not strict
    assert str(info.value) == (
        "Error(s) in loading state_dict for Net:\n"
        "\tsize mismatch for a.weight: copying a param with shape nnrun.Size([4, 2]) from checkpoint, "
        "the shape in current model is nnrun.Size([3, 2])."
    )
    sd["a.weight"] = nnrun.ones(3, 2)
    result = net.load_state_dict(sd, strict=False)
    assert result == (["rm", "a.bias"], ["x", "a.q"])
    assert result.missing_keys == ["rm", "a.bias"] and result.unexpected_keys == ["x", "a.q"]
    assert repr(result) == "_IncompatibleKeys(missing_keys=['rm', 'a.bias'], unexpected_keys=['x', 'a.q'])"
    assert net.a.weight.tolist() == [[1.0, 1.0]] * 3


def test_strict_message_matches_torch():
    torch = pytest.importorskip("torch")

    def message(lib):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))
        sd = net.state_dict()
        del sd["0.bias"]
        sd["2.extra"] = lib.zeros(1)
        sd["2.weight"] = lib.zeros(2, 3)
        with pytest.raises(RuntimeError) as info:
            net.load_state_dict(sd)
        return str(info.value)

    assert message(nnrun) == message(torch).replace("torch.", "nnrun.")


def test_load_errors():
    net = Net()
    with pytest.raises(TypeError, match=r"^Expected state_dict to be dict-like, got <class 'int'>.$"):
        net.load_state_dict(3)
    sd = dict(net.state_dict())
    sd["a.bias"] = 3
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Net:\n"
        '\tWhile copying the parameter named "a.bias", expected nnrun.Tensor or Tensor-like object from '
        "checkpoint but received <class 'int'>"
    )


def test_load_casts_dtype_unless_assign():
    net = Net()
    sd = {k: v.double() for k, v in net.state_dict().items()}
    net.load_state_dict(sd)
    assert net.a.weight.dtype == nnrun.float32
    weight = net.a.weight
    net.load_state_dict(sd, assign=True)
    assert net.a.weight is not weight and isinstance(net.a.weight, nn.Parameter)
    assert net.a.weight.dtype == nnrun.float64 and net.a.weight.requires_grad
    assert net.rm is sd["rm"]


def test_non_persistent_buffer_not_saved_or_required():
    net = Net()
    assert "scratch" not in net.state_dict()
    net.load_state_dict(Net().state_dict())


def test_state_dict_hooks():
    net = Net()
    calls = []
    net.register_state_dict_pre_hook(
        lambda m, prefix, keep_vars: calls.append(("pre", type(m).__name__, prefix))
    )
    net.a.register_state_dict_pre_hook(
        lambda m, prefix, keep_vars: calls.append(("pre", type(m).__name__, prefix))
    )

    def post(module, state_dict, prefix, metadata):
        calls.append(("post", type(module).__name__, prefix))
        state_dict[prefix + "tag"] = nnrun.zeros(1)

    net.a.register_state_dict_post_hook(post)
    net.register_state_dict_post_hook(post)
    sd = net.state_dict()
    assert calls == [
        ("pre", "Net", ""),
        ("pre", "Linear", "a."),
        ("post", "Linear", "a."),
        ("post", "Net", ""),
    ]
    assert list(sd) == ["rm", "a.weight", "a.bias", "a.tag", "tag"]
    assert len(net._state_dict_hooks) == 1 and len(net._state_dict_pre_hooks) == 1


def test_load_state_dict_hooks():
    net = Net()
    calls = []

    def rename(module, state_dict, prefix, metadata, strict, missing, unexpected, errors):
        calls.append(("pre", prefix, sorted(state_dict)))
        if prefix + "old_weight" in state_dict:
            state_dict[prefix + "weight"] = state_dict.pop(prefix + "old_weight")

    handle = net.a.register_load_state_dict_pre_hook(rename)

    def drop_missing(module, incompatible):
        calls.append(("post", type(module).__name__))
        incompatible.missing_keys.clear()

    net.register_load_state_dict_post_hook(drop_missing)
    sd = net.state_dict()
    sd["a.old_weight"] = sd.pop("a.weight")
    del sd["rm"]
    result = net.load_state_dict(sd)  # the post hook cleared the missing key, so strict passes
    assert result.missing_keys == []
    assert calls == [("pre", "a.", ["a.bias", "a.old_weight"]), ("post", "Net")]
    handle.remove()
    assert not net.a._load_state_dict_pre_hooks


def test_extra_state_round_trip():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.count = 0

        def get_extra_state(self):
            return {"count": self.count}

        def set_extra_state(self, state):
            self.count = state["count"]

    wrapper = nn.Sequential(Counter())
    wrapper[0].count = 7
    sd = wrapper.state_dict()
    assert sd["0._extra_state"] == {"count": 7}
    fresh = nn.Sequential(Counter())
    fresh.load_state_dict(sd)
    assert fresh[0].count == 7
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "0._extra_state"'):
        fresh.load_state_dict({})


def test_pytorch_model_loads_our_state_dict():
    torch = pytest.importorskip("torch")
    net = MLP()
    x = np.random.default_rng(0).random((3, 20), dtype=np.float32)
    ours = net(nnrun.tensor(x)).detach().numpy()
    model = torch.nn.Sequential(torch.nn.Linear(20, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    mapping = {"hidden": "0", "output": "2"}
    converted = {}
    for key, value in net.state_dict().items():
        layer, _, name = key.partition(".")
        converted[f"{mapping[layer]}.{name}"] = torch.from_numpy(value.numpy().copy())
    model.load_state_dict(converted)
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), ours, atol=1e-6)
    back = MLP()
    back.load_state_dict(
        {
            f"{layer}.{name}": nnrun.tensor(model.state_dict()[f"{index}.{name}"].numpy())
            for layer, index in mapping.items()
            for name in ("weight", "bias")
        }
    )
    np.testing.assert_allclose(back(nnrun.tensor(x)).detach().numpy(), ours, atol=1e-6)
