"""Metrics other than accuracy over 2 ranks: each rank evaluates its shard, the states are merged (AUROC
concatenates its scores), and the values equal one process's."""

import numpy as np
import pytest

datasets = pytest.importorskip("sklearn.datasets")

CONFIG = """\
name: cancer
task: binary
seed: 0
device: cpu
input_shape: [30]
model: {{module: {{Sequential: [{{Linear: [30, 8]}}, Tanh, {{Linear: [8, 1]}}]}}}}
data: {{dataset: npz, root: {root}, batch_size: 32, batch_scope: global}}
optimizer: {{Adam: {{lr: 0.01}}}}
train: {{epochs: 2, log_every: 4, metrics: [accuracy, f1, auroc, confusion_matrix]}}
"""


def test_binary_metrics_over_two_ranks_equal_one_process(mpi, tmp_path):
    x, y = datasets.load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    root = tmp_path / "data"
    root.mkdir()
    np.savez(root / "train.npz", x=x[:448], y=y[:448])
    np.savez(root / "test.npz", x=x[448:], y=y[448:])  # 121 samples: the ranks' shards differ in size
    config = tmp_path / "cancer.yaml"
    config.write_text(CONFIG.format(root=root), encoding="utf-8")
    trained = mpi.launch(2, "nnrun", "train", str(config), "--output", str(tmp_path / "run"), "-q")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    checkpoint = str(tmp_path / "run" / "checkpoints" / "last.safetensors")
    reports = [mpi.launch(ranks, "nnrun", "eval", str(config), "-c", checkpoint) for ranks in (2, None)]
    for report in reports:
        assert report.returncode == 0, report.stdout + report.stderr
    two_ranks, one = (report.stdout.splitlines() for report in reports)
    assert len(two_ranks) == len(one) == 5  # the scores, then the confusion matrix (title, header, 2 rows)
    scalar = [part for part in one[0].split(": ", 1)[1].split("  ") if not part.startswith("test/loss")]
    assert scalar == [
        part for part in two_ranks[0].split(": ", 1)[1].split("  ") if not part.startswith("test/loss")
    ]
    assert [line.split()[0] for line in scalar] == ["test/accuracy", "test/f1", "test/auroc"]
    assert two_ranks[1:] == one[1:]
    counts = [int(n) for line in one[3:] for n in line.split()[1:]]
    assert sum(counts) == 121
