"""``nnrun validate``: ``ok`` and a one-line summary for the zoo, every error and exit code 2 otherwise."""

from pathlib import Path

import pytest

from nnrun import config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

ZOO = sorted(CONFIGS.glob("*.yaml"))
PARAMETERS = {
    "lenet_mnist.yaml": "61,706",
    "mlp_mnist.yaml": "269,322",
    "resnet20_cifar10.yaml": "272,474",
    "resnet18_imagenet.yaml": "11,689,512",
}


def _no_traceback(result):
    assert "Traceback" not in result.output


def test_zoo_is_found():
    assert {"lenet_mnist.yaml", "mlp_mnist.yaml"} <= {path.name for path in ZOO}
    examples = {path.name for path in READS_SKLEARN_DATA}
    assert {"diabetes_regression.yaml", "digits_image_folder.yaml"} <= examples


#: Configs that read files written by scripts/export_sklearn_data.py (from the data scikit-learn ships).
READS_SKLEARN_DATA = {path for path in ZOO if "root: data/sklearn/" in path.read_text(encoding="utf-8")}


@pytest.mark.parametrize("path", ZOO, ids=lambda path: path.name)
def test_zoo_configs_are_valid(invoke, path, request, monkeypatch):
    if path in READS_SKLEARN_DATA:
        monkeypatch.chdir(request.getfixturevalue("sklearn_data"))
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok: {path}: model ")
    assert len(result.stdout.strip().splitlines()) == 1
    if path.name in PARAMETERS:
        assert f"{PARAMETERS[path.name]} parameters" in result.stdout


def test_lenet_summary_line(invoke):
    result = invoke("validate", CONFIGS / "lenet_mnist.yaml")
    assert result.stdout.strip() == (
        f"ok: {CONFIGS / 'lenet_mnist.yaml'}: model LeNet5, 61,706 parameters, "
        "input [1, 1, 28, 28] -> output [1, 10]; training mnist, SGD, 2 epochs"
    )


def test_every_error_is_listed(invoke, write_config):
    path = write_config(
        "input_shape: [4]\n"
        "module:\n"
        "  Sequential:\n"
        "    - {Linar: [4, 3]}\n"
        "    - {Linear: {in_features: 3, out_feature: 2}}\n"
        "    - {Conv2d: {in_channels: -1, out_channels: 2, kernel_size: 3}}\n"
    )
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert len(errors) >= 3
    assert "invalid config" in result.stderr
    # Linear first among the suggestions (Bilinear and LazyLinear are near too)
    assert f"{path}:4:" in result.stderr and "did you mean Linear or " in result.stderr
    assert "out_feature" in result.stderr and f"{path}:6:" in result.stderr
    _no_traceback(result)


def test_shape_mismatch(invoke, write_config):
    path = write_config("input_shape: [5]\nmodule: {Sequential: [{Linear: [4, 3]}]}\n")
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert "(Linear): expected input [*, 4], got [*, 5]" in result.stderr
    _no_traceback(result)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid config"),
        ("module: [unclosed\n", "invalid config"),
        ("- just\n- a list\n", "invalid config"),
    ],
    ids=["empty", "bad-yaml", "not-a-mapping"],
)
def test_unreadable_configs(invoke, write_config, text, message):
    result = invoke("validate", write_config(text))
    assert result.exit_code == 2
    assert message in result.stderr
    _no_traceback(result)


def test_missing_file(invoke, tmp_path):
    result = invoke("validate", tmp_path / "missing.yaml")
    assert result.exit_code == 2
    assert "missing.yaml" in result.stderr
    _no_traceback(result)


def test_debug_shows_the_exception(invoke, write_config):
    result = invoke("--debug", "validate", write_config("module: {Nope: 1}\n"))
    assert isinstance(result.exception, config.ConfigError)


def test_a_training_config_s_callbacks_are_checked(invoke, tiny_config):
    path = tiny_config()
    path.write_text(path.read_text(encoding="utf-8") + "callbacks: [{NoSuchCallback: {patience: 3}}]\n")
    result = invoke("validate", path)
    assert result.exit_code == 2, result.output
    line = len(path.read_text(encoding="utf-8").splitlines())
    assert f"{path}:{line}:14: callbacks.0.NoSuchCallback: unknown callback 'NoSuchCallback'" in result.stderr
    _no_traceback(result)
