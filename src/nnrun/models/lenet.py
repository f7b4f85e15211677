"""LeNet-5 (LeCun et al. 1998) with ReLU and max pooling, for 28×28 or 32×32 images."""

from __future__ import annotations

from nnrun._tensor import Tensor
from nnrun.nn import Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential


class LeNet5(Module):
    """Two 5×5 convolutions (6 and 16 channels) each followed by ReLU and 2×2 max pooling, then 120-84-classes
    fully connected layers. Input ``(N, in_channels, 28, 28)`` (padded to 32×32 by the first convolution) or
    ``(N, in_channels, 32, 32)`` with ``padding=0``; output ``(N, num_classes)`` logits."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, padding: int = 2) -> None:
        super().__init__()
        self.features = Sequential(
            Conv2d(in_channels, 6, kernel_size=5, padding=padding),
            ReLU(inplace=True),
            MaxPool2d(2),
            Conv2d(6, 16, kernel_size=5),
            ReLU(inplace=True),
            MaxPool2d(2),
        )
        self.classifier = Sequential(
            Flatten(),
            Linear(16 * 5 * 5, 120),
            ReLU(inplace=True),
            Linear(120, 84),
            ReLU(inplace=True),
            Linear(84, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
