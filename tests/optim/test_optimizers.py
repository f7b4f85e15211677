"""Optimizers against torch.optim: trajectories, param groups, skipped parameters, state_dict, repr."""

import ast
import copy
from pathlib import Path

import numpy as np
import pytest
from raised import raised

import nnrun
from nnrun import nn, optim

torch = pytest.importorskip("torch")

# (name, constructor kwargs): every optimizer over a grid of its options
CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "betas": (0.3, 0.99), "maximize": True, "amsgrad": True, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "maximize": True, "betas": (0.7, 0.95)}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5, "maximize": True, "alpha": 0.8}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 0.5, "maximize": True}),
    ("Adamax", {"lr": 0.01}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "betas": (0.3, 0.99), "maximize": True, "weight_decay": 0.05}),
    ("NAdam", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1, "momentum_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.01, "betas": (0.8, 0.5), "eps": 1e-6, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("Rprop", {"lr": 0.02, "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 1e-2, "alpha": 0.5, "t0": 4, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 2, "maximize": True}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]
NAMES = [
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "Rprop",
    "ASGD",
]


class Pair:
    """The same small model in nnrun and torch: two Linear layers and tanh, a squared-error loss written
    with tensor ops, and a spare parameter that never gets a gradient."""

    def __init__(self, dtype=np.float64, seed=0):
        nnrun.manual_seed(seed)
        ndtype, tdtype = getattr(nnrun, np.dtype(dtype).name), getattr(torch, np.dtype(dtype).name)
        self.layers = [nn.Linear(4, 6, dtype=ndtype), nn.Linear(6, 3, dtype=ndtype)]
        self.spare = nn.Parameter(nnrun.ones(2, dtype=ndtype))
        self.t_layers = [torch.nn.Linear(4, 6).to(tdtype), torch.nn.Linear(6, 3).to(tdtype)]
        self.t_spare = torch.nn.Parameter(torch.ones(2, dtype=tdtype))
        with torch.no_grad():
            for ours, theirs in zip(self.params(), self.t_params()):
                theirs.copy_(torch.from_numpy(ours.detach().numpy().copy()))
        self.dtype = dtype

    def params(self):
        a, b = self.layers
        return [a.weight, a.bias, self.spare, b.weight, b.bias]

    def t_params(self):
        a, b = self.t_layers
        return [a.weight, a.bias, self.t_spare, b.weight, b.bias]

    def groups(self, lr2=0.03, t=False):
        """Two param groups, the second with its own learning rate."""
        p = self.t_params() if t else self.params()
        return [{"params": p[:3]}, {"params": p[3:], "lr": lr2}]

    def loss(self, x, y):
        a, b = self.layers
        return ((b(a(nnrun.tensor(x)).tanh()) - nnrun.tensor(y)) ** 2).mean()

    def t_loss(self, x, y):
        a, b = self.t_layers
        return ((b(a(torch.from_numpy(x)).tanh()) - torch.from_numpy(y)) ** 2).mean()

    def batch(self, rng):
        return rng.standard_normal((8, 4)).astype(self.dtype), rng.standard_normal((8, 3)).astype(self.dtype)

    def step(self, opt, x, y, set_to_none=True):
        opt.zero_grad(set_to_none)
        self.loss(x, y).backward()
        opt.step()

    def t_step(self, opt, x, y, set_to_none=True):
        opt.zero_grad(set_to_none)
        self.t_loss(x, y).backward()
        opt.step()

    def step_both(self, ours, theirs, rng, set_to_none=True):
        """One step of both optimizers on the same fresh batch."""
        x, y = self.batch(rng)
        self.step(ours, x, y, set_to_none)
        self.t_step(theirs, x, y, set_to_none)

    def max_diff(self):
        return max(
            float(np.abs(ours.detach().numpy() - theirs.detach().numpy()).max())
            for ours, theirs in zip(self.params(), self.t_params())
        )


def _build(name, pair, kwargs, groups=True):
    params = pair.groups() if groups else pair.params()
    t_params = pair.groups(t=True) if groups else pair.t_params()
    return getattr(optim, name)(params, **kwargs), getattr(torch.optim, name)(t_params, **kwargs)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_matches_torch_float64(name, kwargs):
    pair = Pair(np.float64)
    ours, theirs = _build(name, pair, kwargs)
    rng = np.random.default_rng(1)
    for _ in range(20):
        pair.step_both(ours, theirs, rng)
        assert pair.max_diff() < 1e-12
    assert np.array_equal(pair.spare.detach().numpy(), np.ones(2))  # never had a gradient: untouched
    assert pair.max_diff() < 1e-12
    start = Pair(np.float64)
    assert (
        max(float(np.abs((a - b).detach().numpy()).max()) for a, b in zip(pair.params(), start.params()))
        > 1e-3
    )


FIRST = {name: next(i for i, config in enumerate(CONFIGS) if config[0] == name) for name in NAMES}
IN_PLACE = [1, 3, 16, *(FIRST[name] for name in ("Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"))]


@pytest.mark.parametrize(("name", "kwargs"), [CONFIGS[i] for i in IN_PLACE], ids=[IDS[i] for i in IN_PLACE])
def test_matches_torch_with_gradients_zeroed_in_place(name, kwargs):
    """zero_grad(set_to_none=False) reuses the gradient arrays: optimizer buffers must not alias them."""
    pair = Pair(np.float64)
    ours, theirs = _build(name, pair, kwargs)
    rng = np.random.default_rng(7)
    for _ in range(10):
        pair.step_both(ours, theirs, rng, set_to_none=False)
    assert pair.max_diff() < 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_matches_torch_float32(name):
    kwargs = dict(next(kw for n, kw in CONFIGS[1:] if n == name))  # a config with momentum where there is one
    pair = Pair(np.float32)
    ours, theirs = _build(name, pair, kwargs, groups=False)
    rng = np.random.default_rng(2)
    for _ in range(20):
        pair.step_both(ours, theirs, rng)
    assert all(p.dtype == nnrun.float32 for p in pair.params())
    assert all(v.dtype == nnrun.float32 for s in ours.state.values() for v in s.values())
    assert pair.max_diff() < 1e-6


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_state_dict_like_torch(name, kwargs):
    pair = Pair(np.float64)
    ours, theirs = _build(name, pair, kwargs)
    rng = np.random.default_rng(3)
    for _ in range(3):
        pair.step_both(ours, theirs, rng)
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert list(mine) == ["state", "param_groups"]
    assert mine["param_groups"] == ref["param_groups"]
    assert list(mine["state"]) == list(ref["state"])
    for key, state in ref["state"].items():
        assert list(mine["state"][key]) == list(state)
        for field, value in state.items():
            got = mine["state"][key][field]
            assert isinstance(got, nnrun.Tensor)
            assert got.shape == tuple(value.shape) and got.dtype.name == str(value.dtype).split(".")[1]
            np.testing.assert_allclose(got.numpy(), value.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_state_dict_resume(name, kwargs):
    """Half a run, state_dict into a fresh optimizer over a fresh model, in both libraries: the rest of the
    run is identical to the uninterrupted one wherever torch's is (NAdam's float32 ``mu_product`` becomes
    float64 on loading into float64 parameters, in torch as here), and matches torch's resumed run."""
    pair = Pair(np.float64)
    ours, theirs = _build(name, pair, kwargs)
    rng = np.random.default_rng(4)
    batches = [pair.batch(rng) for _ in range(20)]
    for x, y in batches[:10]:
        pair.step(ours, x, y)
        pair.t_step(theirs, x, y)
    saved, t_saved = ours.state_dict(), copy.deepcopy(theirs.state_dict())  # torch's loading may alias
    fresh = Pair(np.float64, seed=5)
    with nnrun.no_grad(), torch.no_grad():
        for dst, src in zip(fresh.params(), pair.params()):
            dst.copy_(src)
        for dst, src in zip(fresh.t_params(), pair.t_params()):
            dst.copy_(src)
    resumed = getattr(optim, name)(
        fresh.groups(lr2=0.5), **{**kwargs, "lr": 1.0}
    )  # loading restores both lrs
    t_resumed = getattr(torch.optim, name)(fresh.groups(lr2=0.5, t=True), **{**kwargs, "lr": 1.0})
    resumed.load_state_dict(saved)
    t_resumed.load_state_dict(t_saved)
    assert [g["lr"] for g in resumed.param_groups] == [g["lr"] for g in ours.param_groups]
    for x, y in batches[10:]:
        pair.step(ours, x, y)
        pair.t_step(theirs, x, y)
        fresh.step(resumed, x, y)
        fresh.t_step(t_resumed, x, y)
    assert pair.max_diff() < 1e-12 and fresh.max_diff() < 1e-12
    torch_exact = all(torch.equal(a, b) for a, b in zip(pair.t_params(), fresh.t_params()))
    assert torch_exact == (name != "NAdam")
    for a, b in zip(pair.params(), fresh.params()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy()) or not torch_exact


def test_resume_through_save_and_load(tmp_path):
    pair = Pair(np.float32)
    ours = optim.Adam(pair.groups(), lr=0.01, amsgrad=True)
    rng = np.random.default_rng(6)
    batches = [pair.batch(rng) for _ in range(6)]
    for x, y in batches[:3]:
        pair.step(ours, x, y)
    nnrun.save(ours.state_dict(), tmp_path / "opt.safetensors")
    loaded = nnrun.load(tmp_path / "opt.safetensors")
    fresh = Pair(np.float32)
    with nnrun.no_grad():
        for dst, src in zip(fresh.params(), pair.params()):
            dst.copy_(src)
    resumed = optim.Adam(fresh.groups(), lr=0.01, amsgrad=True)
    resumed.load_state_dict(loaded)
    assert resumed.param_groups[0]["betas"] == (0.9, 0.999)
    for x, y in batches[3:]:
        pair.step(ours, x, y)
        fresh.step(resumed, x, y)
    for a, b in zip(pair.params(), fresh.params()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_load_state_dict_copies_and_casts():
    pair = Pair(np.float64)
    ours = optim.SGD(pair.params(), lr=0.1, momentum=0.9)
    pair.step(ours, *pair.batch(np.random.default_rng(0)))
    saved = ours.state_dict()
    target = Pair(np.float32)
    other = optim.SGD(target.params(), lr=0.1, momentum=0.9)
    other.load_state_dict(saved)
    buf = other.state[target.params()[0]]["momentum_buffer"]
    assert buf.dtype == nnrun.float32  # cast to the parameter's dtype
    assert buf._data is not saved["state"][0]["momentum_buffer"]._data
    adam = optim.Adam(pair.params())
    pair.step(adam, *pair.batch(np.random.default_rng(0)))
    other = optim.Adam(target.params())
    other.load_state_dict(adam.state_dict())
    state = other.state[target.params()[0]]
    assert state["step"].dtype == nnrun.float32 and state["step"].item() == 1  # step keeps its own dtype
    assert state["exp_avg"].dtype == nnrun.float32


def test_load_state_dict_errors_match_torch():
    pair = Pair()
    for ours, theirs, build in [
        (optim.SGD(pair.params()), torch.optim.SGD(pair.t_params()), lambda m, p: m.SGD(p[:2])),
        (optim.SGD(pair.groups()), torch.optim.SGD(pair.groups(t=True)), lambda m, p: m.SGD(p)),
    ]:
        with pytest.raises(ValueError) as expected:
            build(torch.optim, pair.t_params()).load_state_dict(theirs.state_dict())
        with pytest.raises(ValueError) as got:
            build(optim, pair.params()).load_state_dict(ours.state_dict())
        assert str(got.value) == str(expected.value)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_printed_form_matches_torch(name, kwargs):
    pair = Pair()
    ours, theirs = _build(name, pair, kwargs)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)


def test_printed_form_example():
    ours = optim.SGD(Pair().params(), lr=0.001, momentum=0.9)
    assert str(ours).startswith("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n")


@pytest.mark.parametrize("name", NAMES)
def test_defaults_match_torch(name):
    pair = Pair()
    ours, theirs = getattr(optim, name)(pair.params()), getattr(torch.optim, name)(pair.t_params())
    assert ours.defaults == theirs.defaults


def test_params_without_grad_are_skipped():
    pair = Pair()
    ours = optim.Adam(pair.params(), lr=0.1)
    pair.layers[1].bias.requires_grad_(False)
    before = pair.layers[1].bias.detach().numpy().copy()
    pair.step(ours, *pair.batch(np.random.default_rng(0)))
    assert np.array_equal(pair.layers[1].bias.detach().numpy(), before)
    assert pair.layers[1].bias not in ours.state and pair.spare not in ours.state
    assert pair.layers[0].weight in ours.state


def test_step_is_outside_autograd():
    pair = Pair()
    ours = optim.SGD(pair.params(), lr=0.1, momentum=0.9)
    weight = pair.layers[0].weight
    version = weight._version
    pair.step(ours, *pair.batch(np.random.default_rng(0)))
    assert weight.is_leaf and weight.grad_fn is None and weight.requires_grad
    assert weight._version > version  # in-place update is visible to autograd's staleness checks
    assert ours.state[weight]["momentum_buffer"].grad_fn is None


def test_step_with_closure_returns_loss():
    pair = Pair()
    ours, theirs = optim.SGD(pair.params(), lr=0.1), torch.optim.SGD(pair.t_params(), lr=0.1)
    x, y = pair.batch(np.random.default_rng(0))
    calls = []

    def closure():
        calls.append(nnrun.is_grad_enabled())
        ours.zero_grad()
        loss = pair.loss(x, y)
        loss.backward()
        return loss

    def t_closure():
        theirs.zero_grad()
        loss = pair.t_loss(x, y)
        loss.backward()
        return loss

    with nnrun.no_grad():
        loss = ours.step(closure)
    t_loss = theirs.step(t_closure)
    assert calls == [True]  # the closure records a graph even inside no_grad
    assert abs(loss.item() - t_loss.item()) < 1e-12
    assert pair.max_diff() < 1e-12
    assert ours.step() is None


def test_zero_grad():
    pair = Pair()
    ours = optim.SGD(pair.params(), lr=0.1)
    pair.loss(*pair.batch(np.random.default_rng(0))).backward()
    weight = pair.layers[0].weight
    ours.zero_grad(set_to_none=False)
    assert weight.grad is not None and not weight.grad.numpy().any()
    assert pair.spare.grad is None
    ours.zero_grad()
    assert all(p.grad is None for p in pair.params())


def test_add_param_group_and_named_params():
    pair = Pair()
    ours = optim.SGD(pair.params()[:2], lr=0.1, momentum=0.5)
    ours.add_param_group({"params": pair.params()[3:], "lr": 0.01})
    assert ours.param_groups[1]["momentum"] == 0.5 and ours.param_groups[1]["lr"] == 0.01
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        ours.add_param_group({"params": [pair.layers[0].weight]})
    named = optim.Adam(pair.layers[0].named_parameters())
    t_named = torch.optim.Adam(pair.t_layers[0].named_parameters())
    assert named.param_groups[0]["param_names"] == ["weight", "bias"]
    assert str(named) == str(t_named)
    assert named.state_dict()["param_groups"] == t_named.state_dict()["param_groups"]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("SGD", {"lr": -1}),
        ("SGD", {"momentum": -0.5}),
        ("SGD", {"weight_decay": -1e-3}),
        ("SGD", {"nesterov": True}),
        ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
        ("Adam", {"lr": -0.1}),
        ("Adam", {"eps": -1.0}),
        ("Adam", {"betas": (1.0, 0.999)}),
        ("Adam", {"betas": (0.9, -0.1)}),
        ("Adam", {"weight_decay": -1.0}),
        ("AdamW", {"betas": (0.9, 1.5)}),
        ("RMSprop", {"alpha": -0.1}),
        ("RMSprop", {"momentum": -0.1}),
        ("RMSprop", {"eps": -0.1}),
        ("Adagrad", {"lr_decay": -0.1}),
        ("Adagrad", {"initial_accumulator_value": -1.0}),
        ("Adagrad", {"eps": -1.0}),
        ("Adadelta", {"lr": -1.0}),
        ("Adadelta", {"rho": 1.5}),
        ("Adadelta", {"eps": -1e-6}),
        ("Adadelta", {"weight_decay": -0.1}),
        ("Adamax", {"eps": -1.0}),
        ("Adamax", {"betas": (0.9, 1.0)}),
        ("Adamax", {"weight_decay": -0.1}),
        ("NAdam", {"lr": -1.0}),
        ("NAdam", {"betas": (-0.1, 0.999)}),
        ("NAdam", {"momentum_decay": -1e-3}),
        ("RAdam", {"eps": -1.0}),
        ("RAdam", {"betas": (0.9, 1.0)}),
        ("RAdam", {"weight_decay": -0.1}),
        ("Rprop", {"lr": -0.1}),
        ("Rprop", {"etas": (1.2, 0.5)}),
        ("Rprop", {"etas": (0.0, 1.2)}),
        ("ASGD", {"lr": -0.1}),
        ("ASGD", {"weight_decay": -0.1}),
    ],
)
def test_validation_errors_match_torch(name, kwargs):
    pair = Pair()
    expected = raised(lambda: getattr(torch.optim, name)(pair.t_params(), **kwargs))
    assert expected is not None and expected[0] is ValueError
    assert raised(lambda: getattr(optim, name)(pair.params(), **kwargs)) == expected


def test_param_errors_match_torch():
    pair = Pair()
    weight, t_weight = pair.layers[0].weight, pair.t_layers[0].weight
    cases = [
        (lambda m, p: m.SGD([], lr=0.1), None, None),
        (lambda m, p: m.SGD(p, lr=0.1), weight, t_weight),
        (lambda m, p: m.SGD([p, 3], lr=0.1), weight, t_weight),
        (lambda m, p: m.SGD([{"params": {p}}], lr=0.1), weight, t_weight),
        (lambda m, p: m.SGD([p * 2], lr=0.1), weight, t_weight),
        (lambda m, p: m.SGD([{"params": [p]}, {"params": [p]}], lr=0.1), weight, t_weight),
    ]
    for build, ours, theirs in cases:
        expected = raised(lambda build=build, theirs=theirs: build(torch.optim, theirs))
        got = raised(lambda build=build, ours=ours: build(optim, ours))
        assert got is not None and expected is not None
        assert got[0] is expected[0]
        assert got[1] == expected[1].replace("torch.DoubleTensor", "nnrun.DoubleTensor")


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("SGD", {"foreach": True}),
        ("SGD", {"fused": True}),
        ("SGD", {"differentiable": True}),
        ("Adam", {"capturable": True}),
        ("AdamW", {"fused": True}),
        ("RMSprop", {"foreach": True}),
        ("Adagrad", {"fused": True}),
        ("Adadelta", {"capturable": True}),
        ("Adamax", {"differentiable": True}),
        ("NAdam", {"foreach": True}),
        ("RAdam", {"capturable": True}),
        ("Rprop", {"foreach": True}),
        ("ASGD", {"capturable": True}),
    ],
)
def test_unsupported_kernels_are_refused(name, kwargs):
    with pytest.raises(NotImplementedError, match=next(iter(kwargs))):
        getattr(optim, name)(Pair().params(), **kwargs)


def test_plain_kernel_flags_accepted():
    pair = Pair()
    ours = optim.Adam(pair.params(), foreach=False, fused=False)
    theirs = torch.optim.Adam(pair.t_params(), foreach=False, fused=False)
    assert str(ours) == str(theirs)


def test_layering():
    """optim sits above nn: nn never imports optim; optim imports nothing above itself."""
    src = Path(optim.__file__).resolve().parents[1]
    above = ("nnrun.data", "nnrun.config", "nnrun.train", "nnrun.models", "nnrun_cli")

    def imports(path):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                yield node.module
            elif isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)

    for path in (src / "nn").rglob("*.py"):
        assert not any(m.startswith("nnrun.optim") for m in imports(path)), path
    for path in (src / "optim").rglob("*.py"):
        assert not any(m.startswith(above) for m in imports(path)), path
        assert "torch" not in {m.split(".")[0] for m in imports(path)}, path


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_asgd_average_and_rprop_step_sizes_match_torch(dtype):
    """The state the trajectories do not show: ASGD's running average once averaging starts (t0), and
    Rprop's per-element step sizes, over a dozen steps."""
    for name, kwargs, field in [("ASGD", {"lr": 0.05, "t0": 3}, "ax"), ("Rprop", {"lr": 0.05}, "step_size")]:
        pair = Pair(dtype)
        ours, theirs = _build(name, pair, kwargs)
        rng = np.random.default_rng(8)
        for _ in range(12):
            pair.step_both(ours, theirs, rng)
        tol = 1e-12 if dtype == np.float64 else 1e-6
        for p, t in zip(pair.params()[:2], pair.t_params()[:2]):
            got, expected = ours.state[p][field].numpy(), theirs.state[t][field].numpy()
            assert got.dtype == expected.dtype
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
