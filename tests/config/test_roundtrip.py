"""Config-built models survive ``nnrun.save``/``nnrun.load`` (config + weights, no Python code) and
``to_yaml``/``build_model``."""

import json
from pathlib import Path

import pytest
import safetensors
import safetensors.numpy

import nnrun
from nnrun import nn
from nnrun.config import CONFIG_ATTRIBUTE, build_model, load, to_yaml
from nnrun.serialization import CheckpointError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(nnrun.equal(sa[k], sb[k]) for k in sa)


def test_save_and_load_a_config_built_model(tmp_path):
    model = build_model(CONFIGS / "containers_demo.yaml")
    path = tmp_path / "model.safetensors"
    nnrun.save(model, path)
    loaded = nnrun.load(path)
    assert type(loaded).__name__ == "ContainersDemo" and _same_state(model, loaded)
    model.eval(), loaded.eval()
    x = nnrun.randn(3, 8)
    assert nnrun.equal(model(x), loaded(x))
    assert to_yaml(loaded) == to_yaml(model)  # the rebuilt model remembers its config too


def test_saved_file_is_a_plain_state_dict_for_other_tools(tmp_path):
    model = build_model("module: {Sequential: [{Linear: [3, 2]}, Tanh]}\n")
    path = tmp_path / "model.safetensors"
    nnrun.save(model, path)
    assert sorted(safetensors.numpy.load_file(str(path))) == ["0.bias", "0.weight"]


def test_load_leaves_the_rng_alone(tmp_path):
    path = tmp_path / "model.safetensors"
    nnrun.save(build_model("module: {Linear: [64, 64]}\n"), path)
    nnrun.manual_seed(0)
    expected = nnrun.rand(2)
    nnrun.manual_seed(0)
    nnrun.load(path)
    assert nnrun.equal(nnrun.rand(2), expected)


def test_module_nested_in_a_checkpoint(tmp_path):
    model = build_model("module: {Linear: [2, 2]}\n")
    path = tmp_path / "ckpt.safetensors"
    nnrun.save({"model": model, "epoch": 3}, path)
    loaded = nnrun.load(path)
    assert loaded["epoch"] == 3 and _same_state(loaded["model"], model)


def test_python_tree_of_registered_layers_can_be_saved(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU(inplace=True), nn.Dropout(0.2))
    path = tmp_path / "seq.safetensors"
    nnrun.save(model, path)
    loaded = nnrun.load(path)
    assert repr(loaded) == repr(model) and _same_state(loaded, model)


def test_unregistered_module_cannot_be_saved_as_a_module(tmp_path):
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="save its state_dict"):
        nnrun.save(Custom(), tmp_path / "x.safetensors")


def _replace_saved_config(path, config):
    """Rewrite the model config stored in a checkpoint (as an attacker or a bug could)."""
    metadata = safetensors.safe_open(str(path), "np").metadata()
    document = json.loads(metadata["nnrun"])
    document["object"]["config"] = config
    arrays = safetensors.numpy.load_file(str(path))
    safetensors.numpy.save_file(arrays, str(path), metadata={"nnrun": json.dumps(document)})


def test_loading_never_imports_code(tmp_path):
    path = tmp_path / "m.safetensors"
    nnrun.save(build_model("imports: [json]\nmodule: ReLU\n"), path)  # json is imported already: fine
    assert isinstance(nnrun.load(path), nn.ReLU)
    _replace_saved_config(path, "imports: [no_such_module_abc]\nmodule: ReLU\n")
    with pytest.raises(CheckpointError, match="loading never imports code"):
        nnrun.load(path)


def test_a_tampered_config_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "m.safetensors"
    nnrun.save(build_model("module: {Linear: [2, 2]}\n"), path)
    _replace_saved_config(path, "module: {Linear: [2]}\n")
    with pytest.raises(CheckpointError, match="missing required argument"):
        nnrun.load(path)


@pytest.mark.parametrize(
    "text",
    [
        "module: {Sequential: [{Linear: [4, 3]}, {ReLU: {inplace: true}}, {Linear: [3, 2, false]}]}\n",
        "module: {Sequential: {fc: {Linear: [2, 2]}, act: Tanh}}\n",
        "module: {ModuleDict: {a: {ModuleList: [ReLU, {LayerNorm: [[3]]}]}}}\n",
        "module: {Sequential: [Flatten, {Dropout: {p: 0.3}}, {BatchNorm1d: [4, 1.0e-3, 0.5]}]}",
    ],
)
def test_to_yaml_of_a_python_tree_round_trips(text):
    model = build_model(text)
    delattr_config(model)
    rebuilt = build_model(to_yaml(model))
    assert repr(rebuilt) == repr(model)
    assert [(k, v.shape) for k, v in rebuilt.state_dict().items()] == [
        (k, v.shape) for k, v in model.state_dict().items()
    ]


def delattr_config(model):
    model.__dict__.pop(CONFIG_ATTRIBUTE, None)


def test_to_yaml_of_blocks_round_trips():
    model = build_model(CONFIGS / "containers_demo.yaml")
    assert load(to_yaml(model)).yaml == to_yaml(model)
    tree = nn.Sequential(model.heads, nn.ReLU())  # a YAML block inside a Python-built tree
    rebuilt = build_model(to_yaml(tree))
    assert type(rebuilt[0]).__name__ == "Heads" and repr(rebuilt) == repr(tree)


def test_to_yaml_refuses_unregistered_classes():
    class Custom(nn.Module):
        pass

    with pytest.raises(TypeError, match="not a registered layer"):
        to_yaml(nn.Sequential(Custom()))
