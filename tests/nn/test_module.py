"""Module: attribute routing, registration, lookup, iteration, conversion, modes, training a custom layer."""

import copy

import numpy as np
import pytest

import nnrun
from nnrun import nn


@pytest.fixture(autouse=True)
def _seed():
    nnrun.manual_seed(0)


class BaseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 3)

    def forward(self, x):
        return self.net(x)


class MyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(BaseNet(), nn.ReLU(), nn.Linear(3, 2))

    def forward(self, x):
        return self.net(x)


class MyLinear(nn.Module):
    def __init__(self, inp, outp):
        super().__init__()
        self.w = nn.Parameter(nnrun.randn(outp, inp))
        self.b = nn.Parameter(nnrun.randn(outp))

    def forward(self, x):
        return x @ self.w.t() + self.b


class MySequential(nn.Module):
    def __init__(self, *args):
        super().__init__()
        for i, block in enumerate(args):
            self._modules[str(i)] = block

    def forward(self, x):
        for block in self._modules.values():
            x = block(x)
        return x


class FixedHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.rand_weight = nnrun.rand((20, 20))  # a constant: not a parameter
        self.linear = nn.Linear(20, 20)

    def forward(self, x):
        x = self.linear(x)
        x = nn.functional.relu(x @ self.rand_weight + 1)
        x = self.linear(x)  # the same layer again: shared weights
        while x.abs().sum() > 1:
            x /= 2
        return x.sum()


# ----- acceptance: the tutorial models -----
def test_sequential_named_parameters():
    net = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 2))
    named = list(net.named_parameters())
    assert [name for name, _ in named] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert named[0][1].shape == nnrun.Size([2, 4])
    assert all(isinstance(p, nn.Parameter) for _, p in named)
    printed = str(list(net.parameters()))
    assert printed.startswith("[Parameter containing:\ntensor(")
    assert printed.count("Parameter containing:") == 4


def test_nested_model_iteration():
    model = MyNet()
    children = list(model.children())
    assert len(children) == 1 and isinstance(children[0], nn.Sequential)
    modules = list(model.modules())
    assert len(modules) == 6 and modules[0] is model
    names = [name for name, _ in model.named_modules()]
    assert names == ["", "net", "net.0", "net.0.net", "net.1", "net.2"]
    assert [n for n, _ in model.named_parameters()] == [
        "net.0.net.weight",
        "net.0.net.bias",
        "net.2.weight",
        "net.2.bias",
    ]
    assert model(nnrun.randn(5, 4)).shape == nnrun.Size([5, 2])


def test_my_sequential_via_modules_dict():
    net = MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    out = net(nnrun.rand(2, 20))
    assert out.shape == nnrun.Size([2, 10])
    assert [n for n, _ in net.named_children()] == ["0", "1", "2"]
    assert len(list(net.parameters())) == 4


def test_my_linear_has_two_parameters_and_trains():
    layer = MyLinear(5, 3)
    params = list(layer.parameters())
    assert len(params) == 2
    x = nnrun.randn(16, 5)
    target = x @ nnrun.randn(5, 3)
    losses = []
    for _ in range(50):
        layer.zero_grad()
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        with nnrun.no_grad():
            for p in layer.parameters():
                p -= 0.1 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


def test_fixed_hidden_mlp_forward_backward():
    net = FixedHiddenMLP()
    assert [n for n, _ in net.named_parameters()] == ["linear.weight", "linear.bias"]
    assert "rand_weight" in net.__dict__ and not net.rand_weight.requires_grad
    out = net(nnrun.rand(2, 20))
    assert out.dim() == 0
    out.backward()
    assert net.linear.weight.grad.shape == nnrun.Size([20, 20])
    assert net.linear.bias.grad is not None


# ----- __setattr__ routing -----
def test_setattr_routes_by_type():
    m = nn.Module()
    m.p = nn.Parameter(nnrun.zeros(2))
    m.child = nn.ReLU()
    m.plain = nnrun.zeros(2)
    m.register_buffer("buf", nnrun.zeros(1))
    m.buf = nnrun.ones(1)  # a tensor assigned to an existing buffer name stays a buffer
    assert list(m._parameters) == ["p"]
    assert list(m._modules) == ["child"]
    assert list(m._buffers) == ["buf"] and m.buf.tolist() == [1.0]
    assert "plain" in m.__dict__ and "plain" not in m._parameters
    assert m.p is m._parameters["p"] and m.child is m._modules["child"]


def test_setattr_moves_a_name_between_kinds():
    m = nn.Module()
    m.x = nnrun.zeros(1)
    m.x = nn.Parameter(nnrun.zeros(1))
    assert "x" not in m.__dict__ and "x" in m._parameters
    m.register_buffer("y", nnrun.zeros(1), persistent=False)
    m.y = nn.Parameter(nnrun.zeros(1))
    assert "y" not in m._buffers and "y" not in m._non_persistent_buffers_set
    m.z = nn.Parameter(nnrun.zeros(1))
    del m.z
    m.z = nn.ReLU()
    assert "z" in m._modules and "z" not in m._parameters
    m.p = nn.Parameter(nnrun.zeros(1))
    m.p = None
    assert m._parameters["p"] is None and m.p is None


def test_setattr_errors():
    class Early(nn.Module):
        def __init__(self, value):
            self.value = value

    with pytest.raises(AttributeError, match=r"^cannot assign parameters before Module.__init__\(\) call$"):
        Early(nn.Parameter(nnrun.zeros(1)))
    with pytest.raises(AttributeError, match=r"^cannot assign module before Module.__init__\(\) call$"):
        Early(nn.ReLU())
    layer = nn.Linear(2, 3)
    with pytest.raises(TypeError) as info:
        layer.weight = nnrun.zeros(3, 2)
    assert str(info.value) == (
        "cannot assign 'nnrun.FloatTensor' as parameter 'weight' (nnrun.nn.Parameter or None expected)"
    )
    with pytest.raises(TypeError) as info:
        layer.weight = 3
    assert (
        str(info.value) == "cannot assign 'int' as parameter 'weight' (nnrun.nn.Parameter or None expected)"
    )
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError) as info:
        seq.__setattr__("0", nnrun.zeros(1, dtype=nnrun.float64))
    assert str(info.value) == (
        "cannot assign 'nnrun.DoubleTensor' as child module '0' (nnrun.nn.Module or None expected)"
    )
    layer.register_buffer("buf", nnrun.zeros(1))
    with pytest.raises(TypeError) as info:
        layer.buf = 3
    assert (
        str(info.value)
        == "cannot assign 'int' as buffer 'buf' (nnrun.nn.Buffer, nnrun.Tensor or None expected)"
    )


def test_getattr_and_delattr_and_dir():
    layer = nn.Linear(2, 3)
    layer.register_buffer("buf", nnrun.zeros(1))
    with pytest.raises(AttributeError, match=r"^'Linear' object has no attribute 'nope'$"):
        _ = layer.nope
    names = dir(layer)
    assert {"weight", "bias", "buf", "forward", "in_features"} <= set(names)
    del layer.buf
    assert "buf" not in layer._buffers
    del layer.weight
    assert "weight" not in layer._parameters
    with pytest.raises(AttributeError):
        del layer.nope
    assert "0" not in dir(nn.Sequential(nn.ReLU()))


# ----- registration -----
def test_register_parameter_and_buffer():
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(nnrun.ones(2)))
    m.register_parameter("unused", None)
    m.register_buffer("running", nnrun.zeros(2))
    m.register_buffer("scratch", nnrun.zeros(2), persistent=False)
    assert [n for n, _ in m.named_parameters()] == ["w"]
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    assert list(m.state_dict()) == ["w", "running"]
    assert m._non_persistent_buffers_set == {"scratch"}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m: m.register_buffer("a.b", nnrun.zeros(1)), KeyError, 'buffer name can\'t contain "."'),
        (lambda m: m.register_buffer("", nnrun.zeros(1)), KeyError, 'buffer name can\'t be empty string ""'),
        (
            lambda m: m.register_buffer("weight", nnrun.zeros(1)),
            KeyError,
            "attribute 'weight' already exists",
        ),
        (
            lambda m: m.register_buffer(3, nnrun.zeros(1)),
            TypeError,
            "buffer name should be a string. Got int",
        ),
        (
            lambda m: m.register_buffer("c", 3),
            TypeError,
            "cannot assign 'int' object to buffer 'c' (nnrun Tensor or None required)",
        ),
        (lambda m: m.register_parameter("a.b", None), KeyError, 'parameter name can\'t contain "."'),
        (lambda m: m.register_parameter("", None), KeyError, 'parameter name can\'t be empty string ""'),
        (lambda m: m.register_parameter("forward", None), KeyError, "attribute 'forward' already exists"),
        (lambda m: m.register_parameter(1, None), TypeError, "parameter name should be a string. Got int"),
        (
            lambda m: m.register_parameter("c", nnrun.zeros(1)),
            TypeError,
            "cannot assign 'nnrun.FloatTensor' object to parameter 'c' (nnrun.nn.Parameter or None required)",
        ),
        (lambda m: m.add_module("a.b", None), KeyError, 'module name can\'t contain ".", got: a.b'),
        (lambda m: m.add_module("", None), KeyError, 'module name can\'t be empty string ""'),
        (lambda m: m.add_module("weight", None), KeyError, "attribute 'weight' already exists"),
        (lambda m: m.add_module(1, None), TypeError, "module name should be a string. Got int"),
        (lambda m: m.add_module("x", 3), TypeError, "int is not a Module subclass"),
        (
            lambda m: m.register_module("x", nnrun.zeros(1)),
            TypeError,
            "nnrun.FloatTensor is not a Module subclass",
        ),
    ],
)
def test_registration_errors(call, error, message):
    with pytest.raises(error) as info:
        call(nn.Linear(2, 2))
    text = info.value.args[0]
    assert text == message


def test_register_non_leaf_parameter_rejected():
    m = nn.Module()
    w = nn.Parameter(nnrun.ones(2))
    non_leaf = nn.Parameter(nnrun.ones(2))
    non_leaf.grad_fn = (w * 2).grad_fn  # a Parameter that has history
    with pytest.raises(ValueError, match=r"Cannot assign non-leaf Tensor to parameter 'p'"):
        m.register_parameter("p", non_leaf)


def test_registration_before_init():
    class Early(nn.Module):
        def __init__(self):
            self.register_buffer("b", nnrun.zeros(1))

    with pytest.raises(AttributeError, match=r"^cannot assign buffer before Module.__init__\(\) call$"):
        Early()

    class EarlyParam(nn.Module):
        def __init__(self):
            self.register_parameter("b", None)

    with pytest.raises(AttributeError, match=r"^cannot assign parameter before Module.__init__\(\) call$"):
        EarlyParam()


def test_buffer_marker():
    m = nn.Module()
    m.stats = nn.Buffer(nnrun.zeros(2), persistent=False)
    assert type(m._buffers["stats"]) is nnrun.Tensor
    assert m._non_persistent_buffers_set == {"stats"}
    m.stats = nnrun.ones(2)  # keeps being non-persistent
    assert m._non_persistent_buffers_set == {"stats"}
    assert list(m.state_dict()) == []


# ----- lookup by path -----
def test_get_submodule_parameter_buffer():
    model = MyNet()
    model.net[2].register_buffer("buf", nnrun.zeros(1))
    assert model.get_submodule("") is model
    assert model.get_submodule("net.0.net") is model.net[0].net
    assert model.get_parameter("net.2.weight") is model.net[2].weight
    assert model.get_buffer("net.2.buf") is model.net[2].buf


@pytest.mark.parametrize(
    ("method", "target", "message"),
    [
        ("get_submodule", "net.0.x", "BaseNet has no attribute `x`"),
        ("get_submodule", "net.5", "Sequential has no attribute `5`"),
        ("get_submodule", "net.2.weight", "`weight` is not an nn.Module"),
        ("get_parameter", "net.2.x", "Linear has no attribute `x`"),
        ("get_parameter", "net.2.buf", "`buf` is not an nn.Parameter"),
        ("get_buffer", "net.2.weight", "`weight` is not a buffer"),
        ("get_buffer", "net.2.nope", "Linear has no attribute `nope`"),
    ],
)
def test_lookup_errors(method, target, message):
    model = MyNet()
    model.net[2].register_buffer("buf", nnrun.zeros(1))
    with pytest.raises(AttributeError) as info:
        getattr(model, method)(target)
    assert str(info.value) == message


# ----- iteration -----
def test_iterators_are_generators():
    model = MyNet()
    for it in (model.children(), model.modules(), model.parameters(), model.named_buffers()):
        assert iter(it) is it and not isinstance(it, (list, tuple))


def test_shared_module_deduplicated_and_grads_accumulate():
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, shared)
    assert len(list(net.parameters())) == 2
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(net.named_parameters(remove_duplicate=False))) == 4
    assert len(list(net.modules())) == 2
    assert len(list(net.named_modules(remove_duplicate=False))) == 3
    assert len(list(net.children())) == 1
    x = nnrun.randn(2, 3)
    net(x).sum().backward()
    # d/dW of sum(W(Wx+b)+b) = outer(g1, x) + outer(ones, h) with g1 = W^T 1
    w, b = shared.weight.detach().numpy(), shared.bias.detach().numpy()
    xs = x.numpy()
    h = xs @ w.T + b
    g1 = np.ones((2, 3)) @ w
    expected = g1.T @ xs + np.ones((2, 3)).T @ h
    np.testing.assert_allclose(shared.weight.grad.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(shared.bias.grad.numpy(), (g1 + 1).sum(0), rtol=1e-5)


def test_shared_parameter_across_modules():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    net = nn.Sequential(a, b)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_named_members_prefix_and_recurse():
    model = MyNet()
    assert next(model.named_parameters(prefix="model"))[0] == "model.net.0.net.weight"
    assert list(model.named_parameters(recurse=False)) == []
    assert [n for n, _ in model.net[2].named_parameters(recurse=False)] == ["weight", "bias"]
    assert [n for n, _ in model.named_modules(prefix="m")][:2] == ["m", "m.net"]


# ----- whole-module operations -----
def test_apply_visits_children_first():
    seen = []
    MyNet().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BaseNet", "ReLU", "Linear", "Sequential", "MyNet"]


def test_train_eval_recursive():
    model = MyNet()
    assert model.training and model.net[0].net.training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match=r"^training mode is expected to be boolean$"):
        model.train(1)


def test_requires_grad_and_zero_grad():
    model = MyNet()
    model(nnrun.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())


def test_to_dtype_keeps_parameter_identity_and_moves_grad():
    model = MyNet()
    model.register_buffer("steps", nnrun.zeros(1, dtype=nnrun.int64))
    params = list(model.parameters())
    model(nnrun.randn(2, 4)).sum().backward()
    assert model.double() is model
    assert list(model.parameters()) == params  # same objects: an optimizer holding them stays valid
    assert all(p.dtype == nnrun.float64 and p.grad.dtype == nnrun.float64 for p in params)
    assert model.steps.dtype == nnrun.int64  # integer buffers keep their dtype
    assert model(nnrun.randn(2, 4, dtype=nnrun.float64)).dtype == nnrun.float64
    assert model.to(nnrun.float32) is model and params[0].dtype == nnrun.float32
    assert model.half() is model and params[0].dtype == nnrun.float16
    assert model.float() is model and params[0].dtype == nnrun.float32
    assert model.to("cpu", nnrun.float64) is model and params[0].dtype == nnrun.float64
    assert model.to(device="cpu") is model and model.cpu() is model
    assert model.to(nnrun.zeros(1)) is model and params[0].dtype == nnrun.float32
    assert all(p.requires_grad and p.is_leaf for p in params)
    with pytest.raises(TypeError) as info:
        model.to(nnrun.int64)
    assert str(info.value) == (
        "nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=nnrun.int64"
    )


def test_forward_not_implemented():
    with pytest.raises(
        NotImplementedError, match=r'^Module \[Module\] is missing the required "forward" function$'
    ):
        nn.Module()(1)


def test_deepcopy_gives_independent_parameters():
    model = MyNet()
    clone = copy.deepcopy(model)
    x = nnrun.randn(3, 4)
    assert nnrun.equal(clone(x), model(x))
    with nnrun.no_grad():
        clone.net[2].bias.add_(1)
    assert not nnrun.equal(clone(x), model(x))
    assert clone.net[2].weight is not model.net[2].weight


def test_deepcopy_copies_buffers():
    model = nn.Linear(2, 2)
    model.register_buffer("steps", nnrun.zeros(1))
    clone = copy.deepcopy(model)
    clone.steps += 1
    assert model.steps.item() == 0 and clone.steps.item() == 1
    assert isinstance(clone.weight, nn.Parameter) and clone.weight.requires_grad
