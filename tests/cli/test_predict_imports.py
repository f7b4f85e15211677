"""A checkpoint whose config imports the user's code (a registered layer): predict and eval never import it
themselves; --import (imports= in Python) names the file, and then they work."""

import sys

import numpy as np

import nnrun
from nnrun.nn import LAYERS

LAYER = """\
import nnrun
from nnrun import nn


@nnrun.register
class HalfScale(nn.Module):
    def forward(self, x):
        return x * 0.5
"""

CONFIG = """\
imports: [half_scale.py]
seed: 0
device: cpu
input_shape: [3]
model: {{module: {{Sequential: [{{Linear: [3, 2]}}, HalfScale]}}}}
data: {{dataset: npz, root: {root}, batch_size: 8}}
optimizer: {{SGD: {{lr: 0.1}}}}
train: {{epochs: 1, test: false}}
output: {output}
"""


def test_a_checkpoint_that_needs_user_code_asks_for_it(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", x=rng.normal(size=(16, 3)).astype(np.float32), y=np.arange(16) % 2)
    (tmp_path / "half_scale.py").write_text(LAYER)
    (tmp_path / "run.yaml").write_text(CONFIG.format(root=tmp_path, output=tmp_path / "run"))
    try:
        result = invoke("train", "run.yaml", "--quiet")
        assert result.exit_code == 0, result.output
        checkpoint = tmp_path / "run" / "checkpoints" / "last.safetensors"
        LAYERS.unregister("HalfScale")  # a new session: the user's code is not imported
        for name in [name for name in sys.modules if name.endswith("half_scale")]:
            del sys.modules[name]
        result = invoke("predict", checkpoint, tmp_path / "train.npz")
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "'half_scale.py' is not imported, and loading never imports code" in result.output
        assert "--import half_scale.py" in result.output
        result = invoke("predict", checkpoint, tmp_path / "train.npz", "--import", "half_scale.py")
        assert result.exit_code == 0, result.output
        result = invoke("eval", checkpoint, "--data", tmp_path / "train.npz", "--import", "half_scale.py")
        assert result.exit_code == 0 and "data/accuracy" in result.output, result.output
        predictions = nnrun.predict(checkpoint, tmp_path / "train.npz", imports=["half_scale.py"])
        assert len(predictions) == 16
    finally:
        LAYERS.unregister("HalfScale")
