"""The layers added for issue 20's PyTorch programs are layers a YAML model can name."""

import nnrun
from nnrun.config import build_model


def test_new_layers_build_from_yaml():
    model = build_model(
        """
        module:
          Sequential:
            - {ConvTranspose1d: {in_channels: 3, out_channels: 4, kernel_size: 3, stride: 2}}
            - Mish
            - {PReLU: {num_parameters: 4}}
            - {MaxPool1d: 2}
            - {AvgPool1d: {kernel_size: 2, stride: 1}}
            - {AdaptiveAvgPool1d: 2}
            - Hardswish
        """
    )
    assert [type(m).__name__ for m in model] == [
        "ConvTranspose1d", "Mish", "PReLU", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "Hardswish",
    ]  # fmt: skip
    assert tuple(model(nnrun.randn(2, 3, 6)).shape) == (2, 4, 2)
    bag = build_model("module: {EmbeddingBag: {num_embeddings: 10, embedding_dim: 3, mode: sum}}")
    assert repr(bag) == "EmbeddingBag(10, 3, mode='sum')"
