"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict."""

from collections import OrderedDict

import pytest

import nnrun
from nnrun import nn


@pytest.fixture(autouse=True)
def _seed():
    nnrun.manual_seed(0)


def layers(n):
    return [nn.Linear(2, 2) for _ in range(n)]


# ----- Sequential -----
def test_sequential_forward_chains_children():
    a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    seq = nn.Sequential(a, nn.ReLU(), b)
    x = nnrun.randn(5, 3)
    assert nnrun.allclose(seq(x), b(a(x).relu()))
    assert nn.Sequential()(x) is x


def test_sequential_from_ordered_dict_keeps_names():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert list(seq._modules) == ["fc", "act"]
    assert seq.fc is seq[0] and seq.act is seq[-1]
    assert [n for n, _ in seq.named_parameters()] == ["fc.weight", "fc.bias"]


def test_sequential_indexing():
    mods = layers(3)
    seq = nn.Sequential(*mods)
    assert seq[0] is mods[0] and seq[-1] is mods[2] and seq[-3] is mods[0]
    assert len(seq) == 3 and list(seq) == mods
    for bad in (3, -4):
        with pytest.raises(IndexError, match=f"^index {bad} is out of range$"):
            seq[bad]
    with pytest.raises(TypeError):
        seq["a"]


def test_sequential_slice_keeps_names():
    seq = nn.Sequential(OrderedDict([("a", nn.ReLU()), ("b", nn.Linear(1, 1)), ("c", nn.ReLU())]))
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential)
    assert list(tail._modules) == ["b", "c"] and tail.b is seq.b
    numbered = nn.Sequential(*layers(4))[::2]
    assert list(numbered._modules) == ["0", "2"]


def test_sequential_mutation():
    mods = layers(3)
    seq = nn.Sequential(*mods)
    new = nn.ReLU()
    seq[1] = new
    assert seq[1] is new and list(seq._modules) == ["0", "1", "2"]
    del seq[0]
    assert list(seq._modules) == ["0", "1"] and seq[0] is new
    assert seq.append(mods[0]) is seq and seq[-1] is mods[0]
    seq.extend([mods[1]])
    assert len(seq) == 4
    seq.insert(0, mods[2])
    assert seq[0] is mods[2] and len(seq) == 5
    seq.insert(-1, new)
    assert seq[4] is new and len(seq) == 6
    assert seq.pop(0) is mods[2] and len(seq) == 5
    seq.add_module("extra", nn.Identity())
    assert isinstance(seq[-1], nn.Identity)
    del seq[1:3]
    assert len(seq) == 4 and list(seq._modules) == ["0", "1", "2", "3"]


def test_sequential_insert_errors():
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(IndexError, match=r"^Index out of range: 5$"):
        seq.insert(5, nn.ReLU())
    with pytest.raises(AssertionError, match=r"module should be of type"):
        seq.insert(0, 3)


def test_sequential_add_and_mul():
    a, b = layers(2)
    left, right = nn.Sequential(a), nn.Sequential(b)
    both = left + right
    assert isinstance(both, nn.Sequential) and list(both) == [a, b] and len(left) == 1
    left += right
    assert list(left) == [a, b]
    tripled = nn.Sequential(a) * 3
    assert list(tripled._modules) == ["0", "1", "2"] and len(list(tripled.parameters())) == 2
    with pytest.raises(ValueError) as info:
        left + 3
    assert (
        str(info.value)
        == "add operator supports only objects of Sequential class, but <class 'int'> is given."
    )
    with pytest.raises(ValueError, match=r"Non-positive multiplication factor 0"):
        left * 0


# ----- ModuleList -----
def test_module_list_registers_and_indexes():
    mods = layers(3)
    ml = nn.ModuleList(mods)
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2"]
    assert len(list(ml.parameters())) == 6
    assert ml[-1] is mods[2] and list(ml) == mods and len(ml) == 3
    sub = ml[1:]
    assert isinstance(sub, nn.ModuleList) and list(sub) == mods[1:]
    with pytest.raises(IndexError, match=r"^index 3 is out of range$"):
        ml[3]


def test_module_list_mutation():
    mods = layers(4)
    ml = nn.ModuleList()
    assert ml.append(mods[0]) is ml
    ml.extend(mods[1:3])
    ml += [mods[3]]
    assert list(ml) == mods
    ml.insert(1, nn.ReLU())
    assert isinstance(ml[1], nn.ReLU) and len(ml) == 5
    assert isinstance(ml.pop(1), nn.ReLU)
    del ml[0]
    assert list(ml) == mods[1:] and list(ml._modules) == ["0", "1", "2"]
    ml[0] = mods[0]
    assert ml[0] is mods[0]
    combined = ml + nn.ModuleList([nn.ReLU()])
    assert isinstance(combined, nn.ModuleList) and len(combined) == 4 and len(ml) == 3
    del ml[::2]
    assert list(ml) == [mods[2]]


def test_module_list_errors():
    ml = nn.ModuleList(layers(1))
    with pytest.raises(
        NotImplementedError, match=r'^Module \[ModuleList\] is missing the required "forward"'
    ):
        ml(nnrun.zeros(2))
    with pytest.raises(
        TypeError, match=r"^ModuleList.extend should be called with an iterable, but got int$"
    ):
        ml.extend(3)


def test_module_list_in_custom_model():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(3, 3) for _ in range(2))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    model = Stack()
    assert [n for n, _ in model.named_parameters()][:2] == ["layers.0.weight", "layers.0.bias"]
    assert model(nnrun.randn(1, 3)).shape == nnrun.Size([1, 3])


# ----- ModuleDict -----
def test_module_dict():
    md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Linear(1, 1)})
    assert list(md) == ["b", "a"] and list(md.keys()) == ["b", "a"]
    assert "a" in md and "z" not in md and len(md) == 2
    assert [type(m).__name__ for m in md.values()] == ["ReLU", "Linear"]
    assert [k for k, _ in md.items()] == ["b", "a"]
    md["c"] = nn.Identity()
    md.update([("d", nn.ReLU())])
    md.update(nn.ModuleDict({"e": nn.ReLU()}))
    assert list(md) == ["b", "a", "c", "d", "e"]
    assert isinstance(md.pop("c"), nn.Identity) and "c" not in md
    del md["d"]
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    md.clear()
    assert len(md) == 0


def test_module_dict_errors():
    md = nn.ModuleDict()
    with pytest.raises(TypeError) as info:
        md.update(3)
    assert (
        str(info.value)
        == "ModuleDict.update should be called with an iterable of key/value pairs, but got int"
    )
    with pytest.raises(TypeError, match=r"^ModuleDict update sequence element #0 should be Iterable; isint$"):
        md.update([3])
    with pytest.raises(
        ValueError, match=r"^ModuleDict update sequence element #0 has length 3; 2 is required$"
    ):
        md.update([(1, 2, 3)])
    with pytest.raises(KeyError):
        md["x"]


# ----- ParameterList / ParameterDict -----
def test_parameter_list():
    pl = nn.ParameterList([nnrun.zeros(2), nn.Parameter(nnrun.ones(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pl.append(nnrun.zeros(4))
    pl += [nnrun.zeros(1)]
    assert len(pl) == 4 and pl[-1].shape == nnrun.Size([1])
    sliced = pl[1:3]
    assert isinstance(sliced, nn.ParameterList) and sliced[0] is pl[1]
    pl[0] = nnrun.ones(2)
    assert isinstance(pl[0], nn.Parameter) and pl[0].tolist() == [1.0, 1.0]
    with pytest.raises(IndexError, match=r"^index 4 is out of range$"):
        pl[4]
    with pytest.raises(RuntimeError, match=r"^ParameterList should not be called.$"):
        pl(1)
    with pytest.raises(
        TypeError, match=r"^ParameterList.extend should be called with an iterable, but got Tensor$"
    ):
        pl.extend(nnrun.zeros(2))


def test_parameter_list_in_model_trains():
    class Scales(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList(nnrun.ones(1) for _ in range(3))

        def forward(self, x):
            for s in self.scales:
                x = x * s
            return x

    model = Scales()
    model(nnrun.full((2,), 2.0)).sum().backward()
    assert [p.grad.item() for p in model.parameters()] == [4.0, 4.0, 4.0]
    assert list(model.state_dict()) == ["scales.0", "scales.1", "scales.2"]


def test_parameter_dict():
    pd = nn.ParameterDict({"b": nnrun.zeros(2), "a": nnrun.ones(3)})
    assert list(pd.keys()) == ["a", "b"]  # a plain dict is taken in sorted order, as PyTorch does
    ordered = nn.ParameterDict(OrderedDict([("z", nnrun.zeros(1)), ("y", nnrun.zeros(1))]))
    assert list(ordered) == ["z", "y"]
    assert isinstance(pd["a"], nn.Parameter) and "a" in pd and len(pd) == 2
    pd["c"] = nnrun.zeros(1)
    assert [k for k, _ in pd.items()] == ["a", "b", "c"] and len(list(pd.values())) == 3
    assert pd.get("nope") is None and pd.get("a") is pd["a"]
    assert pd.setdefault("d", nnrun.zeros(5)).shape == nnrun.Size([5])
    assert pd.pop("d").shape == nnrun.Size([5]) and "d" not in pd
    key, _ = pd.popitem()
    assert key == "c"
    copied = pd.copy()
    assert list(copied) == ["a", "b"] and copied["a"] is pd["a"]
    merged = pd | nn.ParameterDict({"e": nnrun.zeros(1)})
    assert list(merged) == ["a", "b", "e"] and list(pd) == ["a", "b"]
    assert [n for n, _ in pd.named_parameters()] == ["a", "b"]
    del pd["a"]
    pd.clear()
    assert len(pd) == 0


def test_parameter_dict_errors():
    pd = nn.ParameterDict()
    with pytest.raises(RuntimeError, match=r"^ParameterDict should not be called.$"):
        pd(1)
    with pytest.raises(TypeError) as info:
        pd[1]
    assert str(info.value) == (
        "Index given to ParameterDict cannot be used as a key as it is not a string (type is 'int'). Open an "
        "issue on github if you need non-string keys."
    )
    with pytest.raises(TypeError, match=r"^ParametersDict.update should be called with an iterable"):
        pd.update(3)
    with pytest.raises(
        ValueError, match=r"^ParameterDict update sequence element #0 has length 3; 2 is required$"
    ):
        pd.update([(1, 2, 3)])
    with pytest.raises(AttributeError, match=r"^'ParameterDict' object has no attribute 'zz'$"):
        pd["zz"]
