"""The model language: node forms, containers, repetition, blocks with forward, substitution, auto shapes,
the registry."""

from pathlib import Path

import pytest

import nnrun
from nnrun import nn
from nnrun.config import ConfigError, build_model, load, register, unregister

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_node_forms():
    model = build_model(
        """
        module:
          Sequential:
            - ReLU                                              # a name alone
            - {Linear: {in_features: 4, out_features: 3}}       # keywords
            - {Linear: [3, 2, false]}                           # positionals
            - {Dropout: 0.25}                                   # a scalar: one positional
        """
    )
    assert isinstance(model, nn.Sequential)
    assert [type(m).__name__ for m in model] == ["ReLU", "Linear", "Linear", "Dropout"]
    assert model[2].bias is None and model[3].p == 0.25


def test_container_forms_demo():
    model = build_model(CONFIGS / "containers_demo.yaml")
    assert list(model.trunk._modules) == ["fc1", "act1"]
    assert isinstance(model.towers, nn.ModuleList) and len(model.towers) == 3
    assert isinstance(model.branches, nn.ModuleDict) and list(model.branches) == ["a", "b"]
    assert isinstance(model.branches["b"], nn.Sequential) and len(model.branches["b"]) == 2
    assert model.trunk.fc1.in_features == 16  # auto
    assert model(nnrun.randn(5, 8)).shape == (5, 8)
    # every copy made by Repeat has its own parameters
    assert model.towers[1].weight is not model.towers[2].weight


def test_sequential_mapping_keeps_file_order():
    model = build_model("module:\n  Sequential: {z: ReLU, a: Tanh, m: Sigmoid}\n")
    assert list(model._modules) == ["z", "a", "m"]


def test_block_with_forward_matches_python():
    model = build_model(
        """
        blocks:
          Residual:
            args: {width: int, scale: {type: float, default: 1.0}}
            modules:
              fc: {Linear: ["${width}", "${width * 2}"]}
              proj: {Linear: ["${width * 2}", "${width}"]}
            forward:
              - h = relu(fc(x))
              - return x + proj(h) * ${scale}
        module: {Residual: {width: 3, scale: 0.5}}
        """.replace("${scale}", "0.5")
    )
    assert type(model).__name__ == "Residual"
    x = nnrun.randn(2, 3)
    expected = x + model.proj(model.fc(x).relu()) * 0.5
    assert nnrun.allclose(model(x), expected)
    assert model.fc.out_features == 6


def test_optional_child_and_conditional():
    text = """
    blocks:
      Maybe:
        args: {extra: {type: node, default: null}}
        modules: {extra: "${extra}"}
        forward:
          - return extra(x) if extra else -x
    modules:
      with_: {Maybe: {extra: Tanh}}
      without: Maybe
    forward:
      - return with_(x), without(x)
    """
    model = build_model(text)
    assert "extra" not in model.without._modules
    x = nnrun.randn(3)
    a, b = model(x)
    assert nnrun.allclose(a, x.tanh()) and nnrun.allclose(b, -x)


def test_multiple_inputs_and_tuple_outputs():
    model = build_model(
        """
        inputs: [x, y]
        modules: {fc: {Linear: [2, 2]}}
        forward:
          - a, b = fc(x), fc(y)
          - s = cat([a, b], dim=1)
          - return s.sum(dim=1), s[0]
        """
    )
    total, first = model(nnrun.randn(4, 2), nnrun.randn(4, 2))
    assert total.shape == (4,) and first.shape == (4,)


def test_block_without_forward_runs_children_in_order():
    model = build_model("blocks:\n  Stack: {modules: {a: {Linear: [2, 3]}, b: Tanh}}\nmodule: Stack\n")
    x = nnrun.randn(1, 2)
    assert nnrun.allclose(model(x), model.b(model.a(x)))


def test_repeat_standalone_and_spliced():
    model = build_model(
        """
        modules:
          alone: {Repeat: {times: 2, node: {Linear: [2, 2]}}}
          spliced:
            Sequential:
              - Tanh
              - {Repeat: {times: 3, node: ReLU}}
              - Tanh
        """
    )
    assert list(model.alone._modules) == ["0", "1"]
    assert [type(m).__name__ for m in model.spliced] == ["Tanh", "ReLU", "ReLU", "ReLU", "Tanh"]


def test_string_interpolation_and_expressions():
    model = build_model(
        """
        blocks:
          B:
            args: {n: int, act: {type: str, default: Tanh}}
            modules:
              fc: {Linear: ["${n}", "${n // 2 + 1}"]}
              act: "${act}"
        module: {B: {n: 6, act: ReLU}}
        """
    )
    assert model.fc.out_features == 4 and type(model.act).__name__ == "ReLU"


def test_auto_arguments_are_inferred():
    config = load(
        """
        input_shape: [3, 5]
        module:
          Sequential:
            - {LayerNorm: {normalized_shape: auto}}
            - Flatten
            - {Linear: {in_features: auto, out_features: 7}}
            - {BatchNorm1d: auto}
        """
    )
    model = build_model(config)
    assert model[0].normalized_shape == (5,)
    assert model[2].in_features == 15 and model[3].num_features == 7
    assert all(m.training for m in model.modules())
    assert model[3].running_mean.abs().sum().item() == 0  # the dry run did not touch the statistics


def test_input_shape_from_a_training_config(tmp_path):
    (tmp_path / "net.yaml").write_text("module: {Linear: {in_features: auto, out_features: 2}}\n")
    (tmp_path / "train.yaml").write_text("model: !include net.yaml\ninput_shape: [6]\noptimizer: whatever\n")
    config = load(tmp_path / "train.yaml")
    assert config.input_shape == (6,) and config.path == "model"
    assert build_model(config).in_features == 6


def test_load_does_not_consume_the_rng():
    nnrun.manual_seed(0)
    expected = nnrun.rand(3)
    nnrun.manual_seed(0)
    load("module: {Linear: [4, 4]}\n")
    assert nnrun.equal(nnrun.rand(3), expected)


def test_build_is_reproducible_under_a_seed():
    config = load("module: {Linear: [4, 4]}\n")
    nnrun.manual_seed(1)
    a = build_model(config)
    nnrun.manual_seed(1)
    b = build_model(config)
    nnrun.manual_seed(1)
    c = nn.Linear(4, 4)
    assert nnrun.equal(a.weight, b.weight) and nnrun.equal(a.weight, c.weight)


def test_registered_class_and_imports(tmp_path):
    (tmp_path / "my_layers.py").write_text(
        "import nnrun\n"
        "@nnrun.register\n"
        "class Scale(nnrun.nn.Module):\n"
        "    def __init__(self, factor: float = 2.0) -> None:\n"
        "        super().__init__()\n"
        "        self.factor = factor\n"
        "    def forward(self, x):\n"
        "        return x * self.factor\n"
    )
    path = tmp_path / "net.yaml"
    path.write_text("imports: [my_layers.py]\nmodule: {Scale: {factor: 3}}\n")
    try:
        model = build_model(path)
        assert type(model).__name__ == "Scale" and model.factor == 3
        with pytest.raises(ConfigError, match="must be float"):
            load("module: {Scale: {factor: three}}\n")
    finally:
        unregister("Scale")


def test_register_decorator_and_name_clash():
    @register(name="Twice")
    class Twice(nn.Module):
        def forward(self, x):
            return 2 * x

    try:
        assert isinstance(build_model("module: Twice\n"), Twice)
        with pytest.raises(ValueError, match="already registered"):
            register(name="Linear")(Twice)
        with pytest.raises(TypeError):
            register(int)
    finally:
        unregister("Twice")


def test_dotted_path_only_when_allowed():
    text = "module:\n  nnrun.nn.Tanh\n"
    with pytest.raises(ConfigError, match="dotted path"):
        load(text)
    assert isinstance(build_model(load(text, allow_dotted_paths=True)), nn.Tanh)


def test_module_typed_arguments_are_nodes():
    @register
    class Wrap(nn.Module):
        def __init__(self, body: nn.Module, times: int = 1) -> None:
            super().__init__()
            self.body = body
            self.times = times

        def forward(self, x):
            return self.body(x)

    try:
        model = build_model("module: {Wrap: {body: {Linear: [2, 3]}}}\n")
        assert isinstance(model.body, nn.Linear)
    finally:
        unregister("Wrap")
