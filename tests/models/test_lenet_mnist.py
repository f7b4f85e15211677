"""LeNet-5 learns real MNIST: one epoch of SGD reaches at least 97 % test accuracy."""

from pathlib import Path

import numpy as np
import pytest

import nnrun
from nnrun import models, nn
from nnrun.data import read_idx

MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


def load(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(MNIST / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(MNIST / f"{prefix}-labels-idx1-ubyte.gz")
    x = ((images.astype(np.float32) / 255.0 - 0.1307) / 0.3081)[:, None]
    return x, labels.astype(np.int64)


@pytest.mark.slow
@pytest.mark.skipif(not MNIST.is_dir(), reason=f"real MNIST not found at {MNIST}")
def test_lenet5_one_epoch_on_mnist():
    nnrun.manual_seed(0)
    x_train, y_train = load("train")
    x_test, y_test = load("test")
    model = models.LeNet5()
    optimizer = nnrun.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = np.random.default_rng(0).permutation(len(x_train))
    model.train()
    for start in range(0, len(order), 64):
        batch = order[start : start + 64]
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(
            model(nnrun.from_numpy(x_train[batch])), nnrun.from_numpy(y_train[batch])
        )
        loss.backward()
        optimizer.step()
    model.eval()
    correct = 0
    with nnrun.no_grad():
        for start in range(0, len(x_test), 1000):
            logits = model(nnrun.from_numpy(x_test[start : start + 1000]))
            correct += int((logits.argmax(dim=1).numpy() == y_test[start : start + 1000]).sum())
    accuracy = correct / len(x_test)
    assert accuracy >= 0.97, f"test accuracy {accuracy:.4f} after one epoch"
