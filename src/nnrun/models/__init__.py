"""Reference models written with ``nnrun.nn``: MLP, LeNet-5, CIFAR ResNet-20 and ResNet-18."""

from nnrun.models.lenet import LeNet5
from nnrun.models.mlp import MLP
from nnrun.models.resnet import BasicBlock, ResNet, resnet18, resnet20

__all__ = ["MLP", "BasicBlock", "LeNet5", "ResNet", "resnet18", "resnet20"]
