"""``nnrun.nn.functional`` is the ops' own public functions: one hop to each ``Function``."""

import inspect

import nnrun.nn.functional as F


def _public_functions():
    return {name: f for name, f in vars(F).items() if inspect.isfunction(f) and not name.startswith("_")}


def test_functional_names_are_the_ops_functions():
    wrappers = sorted(
        name
        for name, f in _public_functions().items()
        if not f.__module__.startswith("nnrun.ops.") and name != "relu"  # relu picks relu_ or Relu
    )
    assert not wrappers, f"nn.functional wraps {wrappers}; bind the op's function instead"


def test_functional_keeps_pytorch_signatures():
    params = {name: list(inspect.signature(f).parameters) for name, f in _public_functions().items()}
    assert params["mse_loss"] == ["input", "target", "size_average", "reduce", "reduction", "weight"]
    assert params["cross_entropy"] == [
        "input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing",
    ]  # fmt: skip
    assert params["softmax"] == ["input", "dim", "_stacklevel", "dtype"]
    assert params["kl_div"] == ["input", "target", "size_average", "reduce", "reduction", "log_target"]
