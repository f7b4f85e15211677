"""``nnrun.summary``: shapes, parameter counts and multiply-adds against known numbers and torch."""

import json

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.summary import ModelSummary, format_count, format_shape, mult_adds


def _rows(result, cls):
    return [layer for layer in result.layers if layer.class_name == cls]


def _lenet():
    from nnrun.models import LeNet5

    return LeNet5()


# ----- known models -----
def test_mlp_784_256_256_10():
    from nnrun.models import MLP

    result = nnrun.summary(MLP(), (1, 28, 28))
    assert isinstance(result, ModelSummary)
    assert result.total_params == 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10 == 269_322
    assert [layer.output_shape for layer in _rows(result, "Linear")] == [[1, 256], [1, 256], [1, 10]]
    assert [layer.num_params for layer in _rows(result, "Linear")] == [200_960, 65_792, 2_570]
    assert result.total_mult_adds == 784 * 256 + 256 * 256 + 256 * 10
    assert result.layers[0].output_shape == [1, 10]


def test_lenet5_shapes_and_parameters():
    result = nnrun.summary(_lenet(), (1, 28, 28))
    shown = [layer.output_shape for layer in result.layers if layer.class_name not in ("ReLU", "Sequential")]
    assert shown == [
        [1, 10],  # the model itself
        [1, 6, 28, 28],
        [1, 6, 14, 14],
        [1, 16, 10, 10],
        [1, 16, 5, 5],
        [1, 400],
        [1, 120],
        [1, 84],
        [1, 10],
    ]
    assert result.total_params == result.trainable_params == 61_706
    assert result.non_trainable_params == 0
    assert [layer.num_params for layer in _rows(result, "Conv2d")] == [156, 2_416]
    # conv: output elements × in_channels × 5 × 5; linear: in × out
    conv = 6 * 28 * 28 * 1 * 25 + 16 * 10 * 10 * 6 * 25
    assert result.total_mult_adds == conv + 400 * 120 + 120 * 84 + 84 * 10
    text = str(result)
    assert "61,706" in text
    for shape in ("[1, 6, 28, 28]", "[1, 16, 5, 5]", "[1, 400]", "[1, 84]"):
        assert shape in text


def test_resnet18_imagenet_matches_torchinfo():
    from nnrun.models import resnet18

    result = nnrun.summary(resnet18(), (3, 224, 224), depth=1)
    assert result.total_params == 11_689_512
    assert format_count(result.total_mult_adds) == "1.81 G"  # torchinfo: "Total mult-adds (G): 1.81"
    assert result.layers[0].output_shape == [1, 1000]
    layer4 = next(layer for layer in result.layers if layer.name == "layer4")
    assert layer4.output_shape == [1, 512, 7, 7]
    assert result.buffer_bytes > 0 and result.param_bytes == 11_689_512 * 4
    # depth=1 folds each stage into one row showing its whole parameter count
    assert all(layer.depth <= 1 for layer in result.visible_layers())
    assert f"{layer4.params_total:,}" in str(result)


def _conv_net(layers):
    """A small conv net with a BatchNorm and a Linear without bias, built from ``layers``: ``nnrun.nn`` or
    ``torch.nn``."""
    return layers.Sequential(
        layers.Conv2d(1, 6, 5, padding=2),
        layers.ReLU(),
        layers.MaxPool2d(2),
        layers.Conv2d(6, 16, 5),
        layers.BatchNorm2d(16),
        layers.MaxPool2d(2),
        layers.Flatten(),
        layers.Linear(400, 120),
        layers.Linear(120, 10, bias=False),
    )


def test_parameter_counts_per_module_match_torch():
    torch = pytest.importorskip("torch")
    reference, model = _conv_net(torch.nn), _conv_net(nn)
    expected = {
        name: sum(p.numel() for p in module.parameters(recurse=False))
        for name, module in reference.named_modules()
    }
    result = nnrun.summary(model, (1, 28, 28))
    assert {layer.name: layer.num_params for layer in result.layers} == expected
    assert result.total_params == sum(p.numel() for p in reference.parameters())
    with torch.no_grad():
        out = reference.eval()(torch.zeros(1, 1, 28, 28))
    assert result.layers[0].output_shape == list(out.shape)


# ----- counting rules -----
def test_shared_parameters_and_modules_are_counted_once():
    shared = nn.Linear(8, 8)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    tied = nn.Sequential(nn.Linear(8, 8, bias=False), nn.Linear(8, 8, bias=False))
    tied[1].weight = tied[0].weight
    result = nnrun.summary(model, (8,))
    assert result.total_params == 72
    assert [layer.is_recursive for layer in _rows(result, "Linear")] == [False, True]
    assert result.total_mult_adds == 2 * 64  # compute is per call
    assert "(recursive)" in str(result)
    tied_result = nnrun.summary(tied, (8,))
    assert tied_result.total_params == 64
    assert [layer.num_params for layer in _rows(tied_result, "Linear")] == [64, 0]


def test_trainable_and_non_trainable():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    model[0].requires_grad_(False)
    result = nnrun.summary(model, (4,))
    assert (result.total_params, result.trainable_params, result.non_trainable_params) == (23, 8, 15)
    assert "Non-trainable params: 15" in str(result)


def test_linear_mult_adds_count_every_row():
    result = nnrun.summary(nn.Linear(5, 7), (3, 5))  # input (1, 3, 5): 3 rows
    assert result.total_mult_adds == 3 * 5 * 7


def test_conv_mult_adds_use_groups_and_kernel():
    conv = nn.Conv2d(4, 8, kernel_size=3, stride=2, padding=1, groups=2)
    out = conv(nnrun.zeros(2, 4, 9, 9))
    assert mult_adds(conv, (nnrun.zeros(2, 4, 9, 9),), out) == 2 * 8 * 5 * 5 * (4 // 2) * 9


def test_batchnorm_uses_torchinfo_convention_and_parameter_free_layers_cost_nothing():
    result = nnrun.summary(nn.Sequential(nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2)), (3, 4, 4))
    batchnorm, relu, pool = result.layers[1:]
    assert batchnorm.mult_adds == 1 * 2 * 3  # batch × (weight + bias)
    assert relu.mult_adds == pool.mult_adds == 0


def test_memory_totals():
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5)).double()
    result = nnrun.summary(model, (10,))
    assert result.param_bytes == (220 + 105) * 8
    assert result.input_bytes == 10 * 8
    assert result.activation_bytes == (20 + 20 + 5) * 8  # leaf outputs: Linear, ReLU, Linear
    assert result.total_bytes == result.param_bytes + result.input_bytes + result.activation_bytes


# ----- inputs and depth -----
def test_input_data_keeps_its_batch():
    result = nnrun.summary(nn.Linear(3, 2), input_data=nnrun.ones(4, 3))
    assert result.layers[0].output_shape == [4, 2]
    assert result.input_shapes == [[4, 3]]


def test_several_inputs_and_tuple_output():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 2)
            self.b = nn.Linear(5, 2)

        def forward(self, x, y):
            return self.a(x), self.b(y)

    result = nnrun.summary(Pair(), [(3,), (5,)])
    assert result.layers[0].input_shape == [[1, 3], [1, 5]]
    assert result.layers[0].output_shape == [[1, 2], [1, 2]]
    assert format_shape(result.layers[0].output_shape) == "[1, 2], [1, 2]"


def test_depth_limits_rows_and_folds_counts():
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 2))), nn.ReLU())
    full = nnrun.summary(model, (4,), depth=5)
    assert max(layer.depth for layer in full.visible_layers()) == 3
    folded = nnrun.summary(model, (4,), depth=1)
    assert [layer.depth for layer in folded.visible_layers()] == [0, 1, 1]
    assert folded.rows()[1][2:] == ("30", "24")  # the folded Sequential shows its subtree's totals
    assert folded.total_params == full.total_params == 30
    only_model = nnrun.summary(model, (4,), depth=0)
    assert len(only_model.rows()) == 1 and only_model.rows()[0][2] == "30"


def test_without_input_lists_the_tree():
    result = nnrun.summary(nn.Sequential(nn.Linear(4, 4), nn.ModuleList([nn.Linear(4, 1)])))
    assert [layer.name for layer in result.layers] == ["", "0", "1", "1.0"]
    assert result.total_params == 25 and result.total_mult_adds == 0
    assert all(layer.output_shape is None for layer in result.layers)


def test_model_state_and_global_rng_are_untouched():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    model[0].eval()
    before = model[1].running_mean.numpy().copy()
    nnrun.manual_seed(0)
    expected = nnrun.rand(3)
    nnrun.manual_seed(0)
    nnrun.summary(model, (3,))
    assert np.array_equal(nnrun.rand(3).numpy(), expected.numpy())
    assert [m.training for m in model.modules()] == [True, False, True]
    assert np.array_equal(model[1].running_mean.numpy(), before)
    assert not model._forward_hooks and not model[0]._forward_pre_hooks


def test_to_dict_is_json():
    result = nnrun.summary(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), (3,), depth=1)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["totals"]["total_params"] == 8
    assert [layer["class_name"] for layer in data["layers"]] == ["Sequential", "Linear", "ReLU"]
    assert data["layers"][1]["output_shape"] == [1, 2]
    assert data["input_shapes"] == [[1, 3]]


# ----- errors -----
def test_failing_layer_is_named():
    model = nn.Sequential(nn.Linear(4, 8), nn.Sequential(nn.Linear(5, 2)))
    with pytest.raises(RuntimeError, match=r"module '1\.0' \(Linear\) failed on input \[1, 8\]"):
        nnrun.summary(model, (4,))
    assert not model[1][0]._forward_hooks  # hooks removed after a failure


def test_bad_arguments():
    with pytest.raises(ValueError, match="depth must be >= 0, got -1"):
        nnrun.summary(nn.ReLU(), (3,), depth=-1)
    with pytest.raises(ValueError, match="not both"):
        nnrun.summary(nn.ReLU(), (3,), input_data=nnrun.ones(1, 3))
    with pytest.raises(ValueError, match="non-negative"):
        nnrun.summary(nn.ReLU(), (3, -1))
