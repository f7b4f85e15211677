"""Residual networks (He et al. 2015): CIFAR ResNet-20 and ResNet-18 with torchvision's module names."""

from __future__ import annotations

from collections.abc import Sequence

from nnrun._tensor import Tensor
from nnrun.nn import (
    AdaptiveAvgPool2d,
    BatchNorm2d,
    Conv2d,
    Identity,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    init,
)


class BasicBlock(Module):
    """Two 3×3 convolutions with batch norm and a shortcut: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + s(x))``
    where ``s`` is ``downsample`` (a 1×1 projection) when given, else the identity."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Module | None = None) -> None:
        super().__init__()
        self.conv1 = Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU(inplace=True)
        self.conv2 = Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(Module):
    """A stem, one stage of ``BasicBlock``s per entry of ``layers`` (widths ``widths``, stride 2 from the
    second stage on), global average pooling and a linear classifier. Input ``(N, in_channels, H, W)``,
    output ``(N, num_classes)`` logits.

    ``stem="imagenet"``: 7×7 stride-2 convolution and 3×3 max pooling; ``stem="cifar"``: one 3×3 stride-1
    convolution and no pooling. Module names and state_dict keys follow torchvision's ResNet.
    """

    def __init__(
        self,
        layers: Sequence[int],
        widths: Sequence[int] = (64, 128, 256, 512),
        num_classes: int = 1000,
        in_channels: int = 3,
        stem: str = "imagenet",
    ) -> None:
        super().__init__()
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        if len(layers) != len(widths):
            raise ValueError(f"layers {list(layers)} and widths {list(widths)} must have the same length")
        self.inplanes = widths[0]
        if stem == "imagenet":
            self.conv1 = Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = Conv2d(in_channels, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = BatchNorm2d(self.inplanes)
        self.relu = ReLU(inplace=True)
        self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1) if stem == "imagenet" else Identity()
        for i, (blocks, width) in enumerate(zip(layers, widths)):
            self.add_module(f"layer{i + 1}", self._make_stage(width, blocks, stride=1 if i == 0 else 2))
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(self.inplanes, num_classes)
        self._init_weights()

    def _make_stage(self, planes: int, blocks: int, stride: int) -> Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = Sequential(
                Conv2d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False), BatchNorm2d(planes)
            )
        stage = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        stage += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return Sequential(*stage)

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, Conv2d):
                init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, BatchNorm2d):
                init.ones_(module.weight)
                init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self.stages():
            x = stage(x)
        return self.fc(self.avgpool(x).flatten(1))

    def stages(self) -> list[Module]:
        """The residual stages ``layer1``, ``layer2``, … in order."""
        return [module for name, module in self.named_children() if name.startswith("layer")]


def resnet18(num_classes: int = 1000, in_channels: int = 3, stem: str = "imagenet") -> ResNet:
    """ResNet-18: four stages of two ``BasicBlock``s, 64/128/256/512 channels."""
    return ResNet([2, 2, 2, 2], (64, 128, 256, 512), num_classes, in_channels, stem)


def resnet20(num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """CIFAR ResNet-20: a 3×3 stem and three stages of three ``BasicBlock``s, 16/32/64 channels, with 1×1
    projection shortcuts where the shape changes."""
    return ResNet([3, 3, 3], (16, 32, 64), num_classes, in_channels, stem="cifar")
