"""A multi-layer perceptron over flattened inputs."""

from __future__ import annotations

from collections.abc import Sequence

from nnrun._tensor import Tensor
from nnrun.nn import Flatten, Linear, Module, ReLU, Sequential


class MLP(Module):
    """``Flatten`` then ``Linear``/``ReLU`` pairs and a final ``Linear``: input ``(N, *)`` with
    ``in_features`` elements per sample, output ``(N, num_classes)`` logits."""

    def __init__(
        self, in_features: int = 784, hidden: Sequence[int] = (256, 256), num_classes: int = 10
    ) -> None:
        super().__init__()
        layers: list[Module] = [Flatten()]
        width = in_features
        for size in hidden:
            layers += [Linear(width, size), ReLU(inplace=True)]
            width = size
        layers.append(Linear(width, num_classes))
        self.layers = Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
