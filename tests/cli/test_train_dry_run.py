"""``nnrun train CONFIG --dry-run``: one training step, one val and one test batch, and nothing written."""

import nnrun

CONFIG = """\
name: quick
seed: 0
device: cpu
input_shape: [1, 4, 4]
model: {module: {Sequential: [Flatten, {Linear: [16, 3]}]}}
data:
  dataset: synthetic
  batch_size: 8
  val_split: 0.25
  options: {train_size: 64, test_size: 16, num_classes: 3, shape: [1, 4, 4]}
optimizer: {SGD: {lr: 0.1}}
train: {epochs: 5, test: false, accumulate_batches: 2}
"""


def test_dry_run_trains_one_step_and_writes_nothing(invoke, write_config, tmp_path):
    run = tmp_path / "run"
    config = write_config(CONFIG + f"output: {run}\n", "quick.yaml")
    result = invoke("train", config, "--dry-run")
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("dry run of quick on cpu: 1 training step (train/loss ")
    assert "1 val batch (val/loss " in last and "1 test batch (test/loss " in last  # test despite test: false
    assert last.endswith("; nothing was written")
    assert not run.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["quick.yaml"]


def test_dry_run_reports_init_from_and_refuses_resume(invoke, write_config, tmp_path):
    weights = tmp_path / "w.safetensors"
    nnrun.save({"1.weight": nnrun.zeros(3, 16)}, weights)
    text = (
        CONFIG.replace("val_split: 0.25", "val_split: 0") + f"init_from: {{path: {weights}, strict: false}}\n"
    )
    config = write_config(text + f"output: {tmp_path / 'run'}\n", "quick.yaml")
    result = invoke("train", config, "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        "init_from " + str(weights) + ": loaded 1 tensor(s); missing (left as built): 1.bias" in result.stdout
    )
    assert "no val split" in result.stdout
    result = invoke("train", config, "--dry-run", "--resume", "auto")
    assert result.exit_code == 2 and "--dry-run writes nothing and resumes nothing" in result.output
    assert "Traceback" not in result.output
    bad = write_config(CONFIG.replace("accumulate_batches: 2", "accumulate_batches: 0"), "bad.yaml")
    result = invoke("train", bad, "--dry-run")
    assert (
        result.exit_code == 2
        and f"{bad}:12:53: train.accumulate_batches: Input should be greater than 0" in result.output
    )
