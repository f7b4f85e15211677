"""The model zoo in configs/: each YAML model equals its Python reference in nnrun.models."""

from pathlib import Path

import pytest

import nnrun
from nnrun import models, nn
from nnrun.config import build_model, load

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


class LSTMClassifier(nn.Module):
    """The Python twin of configs/models/lstm_classifier.yaml."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 32, num_layers=2, batch_first=True)
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.fc(h_n[-1])


ZOO = {
    "mlp_mnist.yaml": (models.MLP, (1, 28, 28), 269_322),
    "lenet_mnist.yaml": (models.LeNet5, (1, 28, 28), 61_706),
    "lenet_mnist_sample.yaml": (models.LeNet5, (1, 28, 28), 61_706),
    "resnet20_cifar10.yaml": (models.resnet20, (3, 32, 32), 272_474),
    "resnet18_cifar10.yaml": (lambda: models.resnet18(num_classes=10, stem="cifar"), (3, 32, 32), 11_173_962),
    "resnet18_imagenet.yaml": (models.resnet18, (3, 224, 224), 11_689_512),
    "lstm_first_token.yaml": (LSTMClassifier, (8, 4), 13_444),
}


def _layout(model):
    return [(key, tuple(value.shape)) for key, value in model.state_dict().items()]


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def built():
    return {name: build_model(load(CONFIGS / name)) for name in ZOO}


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_model_equals_the_python_reference(name, built):
    make_reference, input_shape, parameters = ZOO[name]
    model, reference = built[name], make_reference()
    assert load(CONFIGS / name).input_shape == input_shape
    assert _count(model) == _count(reference) == parameters
    assert _layout(model) == _layout(reference)
    assert repr(model) == repr(reference)


@pytest.mark.parametrize("name", ["resnet18_imagenet.yaml", "resnet18_cifar10.yaml", "resnet20_cifar10.yaml"])
def test_yaml_resnet_computes_what_the_python_resnet_computes(name, built):
    make_reference, _, _ = ZOO[name]
    model, reference = built[name], make_reference()
    model.load_state_dict(reference.state_dict())
    x = nnrun.randn(2, 3, 32, 32)
    for mode in (True, False):
        model.train(mode), reference.train(mode)
        with nnrun.no_grad():
            assert nnrun.allclose(model(x), reference(x), rtol=1e-5, atol=1e-6)


def test_model_files_are_usable_alone():
    model = build_model(CONFIGS / "models" / "lenet.yaml")
    assert model(nnrun.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_every_zoo_file_is_tested():
    # the Transformer config has no Python reference model: tests/train/test_transformer_task.py trains it;
    # the examples on scikit-learn's data are trained by tests/train/test_example_configs.py
    tested = set(ZOO) | {"containers_demo.yaml", "transformer_repeat_token.yaml"}
    tested |= {
        "diabetes_regression.yaml",
        "breast_cancer_binary.yaml",
        "wine_classification.yaml",
        "digits_image_folder.yaml",
        "digits_multilabel.yaml",
    }
    assert {path.name for path in CONFIGS.glob("*.yaml")} == tested


def test_yaml_lstm_classifier_computes_what_the_python_one_computes(built):
    model, reference = built["lstm_first_token.yaml"], LSTMClassifier()
    model.load_state_dict(reference.state_dict())
    x = nnrun.randn(3, 8, 4)
    with nnrun.no_grad():
        assert nnrun.allclose(model(x), reference(x), rtol=1e-5, atol=1e-6)
