"""Printed forms: modules through extra_repr, nested trees, containers, parameters."""

import pytest

import nnrun
from nnrun import nn


def build_my_net(lib):
    class BaseNet(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = lib.nn.Linear(4, 3)

    class MyNet(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = lib.nn.Sequential(BaseNet(), lib.nn.ReLU(), lib.nn.Linear(3, 2))

    return MyNet()


MY_NET_TEXT = """MyNet(
  (net): Sequential(
    (0): BaseNet(
      (net): Linear(in_features=4, out_features=3, bias=True)
    )
    (1): ReLU()
    (2): Linear(in_features=3, out_features=2, bias=True)
  )
)"""


def test_one_line_modules():
    assert repr(nn.Linear(4, 3)) == "Linear(in_features=4, out_features=3, bias=True)"
    assert repr(nn.Linear(4, 3, bias=False)) == "Linear(in_features=4, out_features=3, bias=False)"
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.Identity()) == "Identity()"
    assert repr(nn.Sequential()) == "Sequential()"
    assert repr(nn.ModuleList()) == "ModuleList()"


def test_sequential_text():
    seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    assert str(seq) == (
        "Sequential(\n  (0): Linear(in_features=4, out_features=3, bias=True)\n  (1): ReLU()\n)"
    )


def test_nested_tree_text():
    assert str(build_my_net(nnrun)) == MY_NET_TEXT


def test_extra_repr_with_children_and_multiple_lines():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 1)

        def extra_repr(self):
            return "scale=2\nshift=1"

    assert str(Block()) == (
        "Block(\n  scale=2\n  shift=1\n  (fc): Linear(in_features=1, out_features=1, bias=True)\n)"
    )
    module = nn.Module()
    module.empty = None
    module.add_module("missing", None)
    assert str(module) == "Module(\n  (missing): None\n)"


def test_module_list_groups_repeats():
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)])
    assert str(ml) == (
        "ModuleList(\n"
        "  (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)\n"
        "  (2): ReLU()\n"
        "  (3): Linear(in_features=2, out_features=2, bias=True)\n"
        ")"
    )


def test_parameter_containers_text():
    pl = nn.ParameterList([nnrun.zeros(2)])
    assert str(pl) == "ParameterList(  (0): Parameter containing: [nnrun.float32 of size 2])"
    pl.append(nnrun.zeros(2, 3))
    pl.append("hi")
    assert str(pl) == (
        "ParameterList(\n"
        "    (0): Parameter containing: [nnrun.float32 of size 2]\n"
        "    (1): Parameter containing: [nnrun.float32 of size 2x3]\n"
        "    (2): Object of type: str\n"
        ")"
    )
    pd = nn.ParameterDict({"b": nnrun.zeros(2), "a": nnrun.ones(3)})
    assert str(pd) == (
        "ParameterDict(\n"
        "    (a): Parameter containing: [nnrun.FloatTensor of size 3]\n"
        "    (b): Parameter containing: [nnrun.FloatTensor of size 2]\n"
        ")"
    )
    assert str(nn.ParameterDict()) == "ParameterDict()"


def test_parameter_repr():
    assert repr(nn.Parameter(nnrun.zeros(2))) == "Parameter containing:\ntensor([0., 0.], requires_grad=True)"
    assert (
        repr(nn.Parameter(nnrun.zeros(2), requires_grad=False)) == "Parameter containing:\ntensor([0., 0.])"
    )
    assert repr(nn.Parameter()) == "Parameter containing:\ntensor([], requires_grad=True)"


@pytest.mark.parametrize(
    "build",
    [
        build_my_net,
        lambda lib: lib.nn.Sequential(lib.nn.Linear(4, 2), lib.nn.ReLU(inplace=True), lib.nn.Identity()),
        lambda lib: lib.nn.ModuleList([lib.nn.Linear(2, 2)] * 3 + [lib.nn.Sequential(lib.nn.ReLU())]),
        lambda lib: lib.nn.ModuleDict({"a": lib.nn.Linear(1, 2, bias=False), "b": lib.nn.ModuleList()}),
        lambda lib: lib.nn.ParameterList([lib.zeros(2, 3), lib.zeros(4)]),
        lambda lib: lib.nn.ParameterDict({"w": lib.zeros(2, dtype=lib.float64)}),
    ],
)
def test_text_matches_torch(build):
    torch = pytest.importorskip("torch")
    assert str(build(nnrun)) == str(build(torch)).replace("torch.", "nnrun.")


def test_parameter_text_matches_torch():
    torch = pytest.importorskip("torch")
    values = [[0.5, -1.25], [2.0, 3.0]]
    ours = repr(nn.Parameter(nnrun.tensor(values)))
    theirs = repr(torch.nn.Parameter(torch.tensor(values)))
    assert ours == theirs
