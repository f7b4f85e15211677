"""Named datasets: standard files (MNIST, Fashion-MNIST, CIFAR-10 binary, npz), synthetic, embedded sample."""

from nnrun.data.datasets.cifar10 import load_cifar10, read_cifar_binary
from nnrun.data.datasets.mnist import FASHION_MNIST, MNIST, load_idx_family
from nnrun.data.datasets.npz import load_npz
from nnrun.data.datasets.registry import DATASETS, load_dataset
from nnrun.data.datasets.sample import load_mnist_sample
from nnrun.data.datasets.synthetic import make_classification, make_first_token

__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "MNIST",
    "load_cifar10",
    "load_dataset",
    "load_idx_family",
    "load_mnist_sample",
    "load_npz",
    "make_classification",
    "make_first_token",
    "read_cifar_binary",
]
