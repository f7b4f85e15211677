"""``nnrun inspect``: module tree and summary of configs and checkpoints, text and JSON, and its errors."""

import json
from pathlib import Path

import pytest

import nnrun
from nnrun import config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

LENET = CONFIGS / "lenet_mnist.yaml"
LENET_SHAPES = ["[1, 6, 28, 28]", "[1, 6, 14, 14]", "[1, 16, 10, 10]", "[1, 16, 5, 5]", "[1, 400]"]
UNNAMED_MLP = """\
module:
  Sequential:
    - Flatten
    - {Linear: [12, 5]}
    - ReLU
    - {Linear: [5, 2]}
"""


def _no_traceback(result):
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr


def test_lenet_config_shows_tree_shapes_and_parameters(invoke):
    result = invoke("inspect", LENET)
    assert result.exit_code == 0, result.output
    assert "LeNet5(" in result.stdout and "(0): Conv2d(1, 6, kernel_size=(5, 5)" in result.stdout
    for shape in [*LENET_SHAPES, "[1, 120]", "[1, 84]", "[1, 10]"]:
        assert shape in result.stdout
    assert "Total params: 61,706" in result.stdout
    assert "Conv2d (0): 2-1" in result.stdout and "Total mult-adds: 416.52 k" in result.stdout


def test_json_is_the_same_data(invoke):
    result = invoke("inspect", LENET, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["module_tree"].startswith("LeNet5(")
    summary = data["summary"]
    assert summary["totals"]["total_params"] == 61_706
    assert summary["input_shapes"] == [[1, 1, 28, 28]]
    shapes = [layer["output_shape"] for layer in summary["layers"] if layer["class_name"] == "Conv2d"]
    assert shapes == [[1, 6, 28, 28], [1, 16, 10, 10]]


def test_depth_folds_the_table(invoke):
    result = invoke("inspect", LENET, "--depth", "1")
    assert result.exit_code == 0, result.output
    assert "Sequential (features): 1-1" in result.stdout and "2,572" in result.stdout  # both convolutions
    assert "2-1" not in result.stdout
    data = json.loads(invoke("inspect", LENET, "--depth", "0", "--format", "json").stdout)
    assert [layer["depth"] for layer in data["summary"]["layers"]] == [0]


def test_input_shape_option(invoke, write_config):
    path = write_config(UNNAMED_MLP)
    without = invoke("inspect", path)
    assert without.exit_code == 0, without.output
    assert "Total params: 77" in without.stdout and "--input-shape" in without.stdout
    assert json.loads(invoke("inspect", path, "--format", "json").stdout)["summary"] is None
    with_shape = invoke("inspect", path, "--input-shape", "3,4")
    assert with_shape.exit_code == 0, with_shape.output
    assert "[1, 3, 4]" not in with_shape.stdout and "[1, 12]" in with_shape.stdout


def test_checkpoint_of_a_config_built_model(invoke, tmp_path):
    path = tmp_path / "lenet.safetensors"
    nnrun.save(config.build_model(LENET), path)
    result = invoke("inspect", path)
    assert result.exit_code == 0, result.output
    assert "Total params: 61,706" in result.stdout and "[1, 16, 5, 5]" in result.stdout
    bad_shape = invoke("inspect", path, "--input-shape", "1,20,20")
    assert bad_shape.exit_code == 1
    assert "module 'classifier.1' (Linear) failed on input [1, 144]" in bad_shape.stderr
    _no_traceback(bad_shape)


def test_checkpoint_without_a_model(invoke, tmp_path):
    path = tmp_path / "weights.safetensors"
    nnrun.save({"w": nnrun.ones(2)}, path)
    result = invoke("inspect", path)
    assert result.exit_code == 2
    assert "not a model" in result.stderr
    _no_traceback(result)


def test_rich_table_on_a_terminal(invoke):
    result = invoke("inspect", LENET, env={"FORCE_COLOR": "1", "COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "┏" in result.stdout and "Output Shape" in result.stdout
    assert "61,706" in result.stdout and "[1, 16, 10, 10]" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no/such/file.yaml"], "no such file"),
        ([CONFIGS], "is a directory"),
        ([LENET, "--input-shape", "one,two"], "--input-shape must be sizes"),
        ([LENET, "--input-shape", "3,32,32"], "(Conv2d): expected input [*, 1, *, *], got [*, 3, *, *]"),
    ],
)
def test_usage_errors_exit_2_without_traceback(invoke, args, message):
    result = invoke("inspect", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    _no_traceback(result)


def test_broken_config_lists_errors(invoke, write_config):
    path = write_config("module:\n  Sequential:\n    - {Conv3d: 3}\n    - {Linear: {in_feature: 3}}\n")
    result = invoke("inspect", path)
    assert result.exit_code == 2
    assert f"{path}:3:" in result.stderr and "unknown layer 'Conv3d'" in result.stderr
    assert "unknown argument 'in_feature'" in result.stderr
    _no_traceback(result)


def test_negative_depth_is_a_usage_error(invoke):
    assert invoke("inspect", LENET, "--depth", "-1").exit_code == 2


@pytest.mark.parametrize("where", ["global", "command"])
def test_debug_lets_the_exception_through(invoke, write_config, where):
    path = write_config("module: {Nope: 1}\n")
    args = ["--debug", "inspect", path] if where == "global" else ["inspect", path, "--debug"]
    result = invoke(*args)
    assert isinstance(result.exception, config.ConfigError)
