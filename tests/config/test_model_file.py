"""Model files keep their format: a file written by an earlier nnrun loads, and saving what it holds writes
the same bytes again."""

import json
import math
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.numpy

import nnrun
from nnrun import nn
from nnrun.config import model_file


def _tensor(name, dtype, shape, requires_grad=False, parameter=False):
    return {
        "type": "tensor",
        "name": name,
        "dtype": dtype,
        "shape": shape,
        "device": "cpu",
        "requires_grad": requires_grad,
        "parameter": parameter,
    }


# The nnrun metadata and tensors nnrun wrote (commit 4fa8eb7, when serialization.py built models itself)
# for {"model": Sequential(Linear(2, 2), ReLU) built from a config, "step": 3, "best": inf,
# "scale": Parameter([2.0]), "kept": (tensor([7, 8]), OrderedDict(b=None, a="x"))}.
OLD_DOCUMENT = {
    "format_version": 1,
    "object": {
        "type": "dict",
        "items": [
            [
                "model",
                {
                    "type": "module",
                    "config": "module:\n  Sequential:\n  - Linear: [2, 2]\n  - ReLU\n",
                    "state": {
                        "type": "OrderedDict",
                        "items": [
                            ["0.weight", _tensor("model.0.weight", "float32", [2, 2])],
                            ["0.bias", _tensor("model.0.bias", "float32", [2])],
                        ],
                    },
                },
            ],
            ["step", 3],
            ["best", {"type": "float", "value": "inf"}],
            ["scale", _tensor("scale", "float32", [1], requires_grad=True, parameter=True)],
            [
                "kept",
                {
                    "type": "tuple",
                    "items": [
                        _tensor("kept.0", "int64", [2]),
                        {"type": "OrderedDict", "items": [["b", None], ["a", "x"]]},
                    ],
                },
            ],
        ],
    },
}
OLD_TENSORS = {
    "model.0.weight": np.array([[1.0, -2.0], [0.5, 4.0]], dtype=np.float32),
    "model.0.bias": np.array([0.25, -1.0], dtype=np.float32),
    "scale": np.array([2.0], dtype=np.float32),
    "kept.0": np.array([7, 8], dtype=np.int64),
}


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / "old.safetensors"
    safetensors.numpy.save_file(OLD_TENSORS, str(path), metadata={"nnrun": json.dumps(OLD_DOCUMENT)})
    return path


def test_a_file_written_by_an_earlier_nnrun_loads(old_file):
    loaded = nnrun.load(old_file)
    assert list(loaded) == ["model", "step", "best", "scale", "kept"]
    model = loaded["model"]
    assert isinstance(model, nn.Sequential) and isinstance(model[1], nn.ReLU)
    assert model[0].weight.tolist() == [[1.0, -2.0], [0.5, 4.0]] and model[0].bias.tolist() == [0.25, -1.0]
    assert loaded["step"] == 3 and loaded["best"] == math.inf
    assert type(loaded["scale"]) is nn.Parameter and loaded["scale"].requires_grad
    kept = loaded["kept"]
    assert type(kept) is tuple and kept[0].dtype == nnrun.int64 and kept[0].tolist() == [7, 8]
    assert type(kept[1]) is OrderedDict and list(kept[1].items()) == [("b", None), ("a", "x")]


def test_saving_what_an_old_file_holds_writes_the_same_bytes(old_file, tmp_path):
    again = tmp_path / "again.safetensors"
    nnrun.save(nnrun.load(old_file), again)
    assert again.read_bytes() == old_file.read_bytes()


def test_module_config_names_where_an_unsavable_module_is():
    class Custom(nn.Module):
        pass

    with pytest.raises(TypeError, match=r"the Custom at obj\['net'\] as a module .* save its state_dict"):
        model_file.module_config(Custom(), "obj['net']")
