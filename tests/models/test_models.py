import pytest

import nnrun
from nnrun import models, nn


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def test_mlp_shapes_and_size():
    model = models.MLP()
    assert model(nnrun.randn(5, 1, 28, 28)).shape == (5, 10)
    assert count_parameters(model) == 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10


def test_lenet5_shapes_and_size():
    model = models.LeNet5()
    assert model(nnrun.randn(2, 1, 28, 28)).shape == (2, 10)
    assert models.LeNet5(padding=0, in_channels=3)(nnrun.randn(2, 3, 32, 32)).shape == (2, 10)
    # conv 6*(1*25+1) + conv 16*(6*25+1) + 400*120+120 + 120*84+84 + 84*10+10
    assert count_parameters(model) == 61706


def test_resnet18_matches_torchvision_layout():
    model = models.resnet18()
    state = model.state_dict()
    assert count_parameters(model) == 11_689_512  # torchvision's resnet18
    assert len(state) == 122
    expected = {
        "conv1.weight": (64, 3, 7, 7),
        "bn1.running_mean": (64,),
        "layer1.0.conv1.weight": (64, 64, 3, 3),
        "layer2.0.downsample.0.weight": (128, 64, 1, 1),
        "layer2.0.downsample.1.num_batches_tracked": (),
        "layer4.1.bn2.running_var": (512,),
        "fc.weight": (1000, 512),
        "fc.bias": (1000,),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert state["layer2.0.downsample.1.num_batches_tracked"].dtype == nnrun.int64
    assert model(nnrun.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_resnet18_cifar_stem():
    model = models.resnet18(num_classes=10, stem="cifar")
    assert tuple(model.conv1.weight.shape) == (64, 3, 3, 3)
    assert isinstance(model.maxpool, nn.Identity)
    assert model(nnrun.randn(2, 3, 32, 32)).shape == (2, 10)


def test_resnet20_structure():
    model = models.resnet20()
    assert [len(stage) for stage in model.stages()] == [3, 3, 3]
    assert [stage[0].conv1.out_channels for stage in model.stages()] == [16, 32, 64]
    assert model.layer1[0].downsample is None and model.layer2[0].downsample is not None
    assert model(nnrun.randn(2, 3, 32, 32)).shape == (2, 10)
    # 0.27M parameters as in He et al. (with 1x1 projection shortcuts at the two stage changes)
    assert 270_000 < count_parameters(model) < 275_000


def test_bad_stem_is_rejected():
    with pytest.raises(ValueError, match="stem must be 'imagenet' or 'cifar'"):
        models.ResNet([2, 2], (8, 16), stem="tiny")


def test_resnet_trains_one_step():
    nnrun.manual_seed(0)
    model = models.resnet20()
    optimizer = nnrun.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = nnrun.randn(8, 3, 16, 16), nnrun.randint(0, 10, (8,))
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert model.bn1.num_batches_tracked.item() == 5
