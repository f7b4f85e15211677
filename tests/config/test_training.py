"""Training configs: defaults, overrides typed by the schema, schedulers with symbols, the resolved text."""

import pytest

from nnrun import optim
from nnrun.config import ConfigError, is_training_document, load_training, parse_yaml
from nnrun.config.training_nodes import build_optimizer, build_scheduler, resolve_symbols

CONFIG = """\
model: {module: {Linear: [4, 2]}}
data: {dataset: synthetic, transforms: [normalize: {mean: [0.0], std: [1.0]}]}
optimizer: {Adam: {lr: 1e-3, betas: [0.8, 0.99]}}
scheduler:
  SequentialLR:
    schedulers:
      - {LinearLR: {start_factor: 0.1, total_iters: 2}}
      - {CosineAnnealingLR: {T_max: epochs - 2}}
    milestones: [2]
"""


def test_defaults_and_nodes():
    cfg = load_training(CONFIG)
    assert (cfg.name, cfg.seed, cfg.device, cfg.output) == ("run", 0, "auto", "runs/run")
    assert cfg.train.epochs == 1 and cfg.train.metrics == ["accuracy"] and cfg.data.batch_size == 64
    assert cfg.checkpoint.keep_last == 3 and cfg.checkpoint.dir == "checkpoints"
    assert cfg.optimizer.cls is optim.Adam
    assert cfg.optimizer.kwargs == {"lr": 0.001, "betas": (0.8, 0.99)}  # 1e-3 is a float, lists become tuples
    assert cfg.scheduler.interval == "epoch" and [c.name for c in cfg.scheduler.node.children] == [
        "LinearLR", "CosineAnnealingLR",
    ]  # fmt: skip
    assert [spec.name for spec in cfg.eval_transforms] == ["normalize"]


def test_symbols_are_resolved_when_the_scheduler_is_built():
    cfg = load_training(CONFIG, ["train.epochs=7"])
    optimizer = build_optimizer(cfg.optimizer, [_param()])
    scheduler = build_scheduler(
        cfg.scheduler.node, optimizer, {"epochs": 7, "steps": 70, "steps_per_epoch": 10}
    )
    assert scheduler._schedulers[1].T_max == 5
    assert resolve_symbols(["steps // 2", "cos", 3], {"steps": 9}) == [4, "cos", 3]


def _param():
    from nnrun import nn, zeros

    return nn.Parameter(zeros(1))


def test_overrides_are_typed_by_the_schema():
    cfg = load_training(
        CONFIG, ["train.epochs=3", "seed=5", "data.transforms.0.normalize.std=[0.5]", "name=x"]
    )
    assert (cfg.train.epochs, cfg.seed, cfg.name, cfg.output) == (3, 5, "x", "runs/x")
    assert cfg.eval_transforms[0].kwargs == {"mean": [0.0], "std": [0.5]}
    cfg = load_training(CONFIG, ["scheduler=null", "checkpoint.keep_last=null"])
    assert cfg.scheduler is None and cfg.checkpoint.keep_last is None
    with pytest.raises(ConfigError) as info:
        load_training(CONFIG, ["train.epochs='3'"])
    assert info.value.errors[0].path == "train.epochs" and info.value.errors[0].file == "--set"


def test_every_problem_is_listed():
    text = CONFIG.replace("lr: 1e-3", "lr: -1.0").replace(
        "dataset: synthetic", "dataset: synthetic, batch_size: 0"
    )
    with pytest.raises(ConfigError) as info:
        load_training(text + "train: {epochs: 0}\n")
    paths = {error.path for error in info.value.errors}
    assert paths == {"data.batch_size", "train.epochs"}  # the schema first; nodes after it passes
    with pytest.raises(ConfigError) as info:
        load_training(text)
    assert [error.path for error in info.value.errors] == ["data.batch_size"]


def test_step_interval_and_bad_nodes():
    cfg = load_training(
        CONFIG.split("scheduler:")[0]
        + "scheduler: {OneCycleLR: {max_lr: 0.1, total_steps: steps}, interval: step}\n"
    )
    assert cfg.scheduler.interval == "step" and cfg.scheduler.node.kwargs["total_steps"] == "steps"
    for bad, message in [
        ("scheduler: {LambdaLR: {}}", "unknown scheduler 'LambdaLR'"),
        ("scheduler: {StepLR: {step_size: 1}, CosineAnnealingLR: {T_max: 2}}", "a scheduler is a name"),
        ("scheduler: {SequentialLR: {milestones: [1]}}", "SequentialLR needs schedulers"),
        ("scheduler: {StepLR: {step_size: 1}, interval: batch}", "interval is epoch or step"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_training(CONFIG.split("scheduler:")[0] + bad + "\n")


def test_resolved_text_loads_again_and_is_stable():
    cfg = load_training(CONFIG, ["train.epochs=4"])
    again = load_training(cfg.yaml)
    assert again.yaml == cfg.yaml and again.train.epochs == 4


def test_training_documents_are_recognised():
    assert is_training_document(parse_yaml(CONFIG)[0])
    assert not is_training_document(parse_yaml("model: {module: ReLU}\ninput_shape: [3]\n")[0])
    assert not is_training_document(parse_yaml("module: ReLU\n")[0])


@pytest.mark.parametrize(
    ("node", "cls", "kwargs"),
    [
        ("{Adadelta: {rho: 0.95}}", optim.Adadelta, {"rho": 0.95}),
        ("{Adamax: {betas: [0.8, 0.99]}}", optim.Adamax, {"betas": (0.8, 0.99)}),
        (
            "{NAdam: {lr: 0.01, momentum_decay: 0.01, decoupled_weight_decay: true, weight_decay: 0.1}}",
            optim.NAdam,
            {"lr": 0.01, "momentum_decay": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.1},
        ),
        ("{RAdam: {decoupled_weight_decay: true}}", optim.RAdam, {"decoupled_weight_decay": True}),
    ],
)
def test_more_optimizers_by_name(node, cls, kwargs):
    cfg = load_training(CONFIG.replace("{Adam: {lr: 1e-3, betas: [0.8, 0.99]}}", node))
    assert cfg.optimizer.cls is cls and cfg.optimizer.kwargs == kwargs
    param = _param()
    optimizer = build_optimizer(cfg.optimizer, [param])
    assert type(optimizer) is cls and all(optimizer.defaults[k] == v for k, v in kwargs.items())
    param.grad = param.detach() + 1
    optimizer.step()
    assert param.item() != 0


def test_more_optimizers_check_their_arguments_like_torch():
    with pytest.raises(ConfigError) as info:
        load_training(CONFIG.replace("{Adam: {lr: 1e-3, betas: [0.8, 0.99]}}", "{Adadelta: {rho: 1.5}}"))
    (error,) = info.value.errors
    assert (
        error.path == "optimizer.Adadelta" and error.message == "Adadelta: ValueError: Invalid rho value: 1.5"
    )


def test_a_stored_config_imports_nothing_new(tmp_path):
    """A checkpoint's config is data: its top-level imports: may only name modules imported already."""
    from nnrun.config import load_stored_training

    marker = tmp_path / "ran"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    text = (
        f"imports: [{tmp_path / 'evil.py'}]\nmodel: {{Linear: [4, 2]}}\ndata: {{dataset: synthetic}}\n"
        "optimizer: SGD\n"
    )
    with pytest.raises(ConfigError, match="is not imported, and loading never imports code: import it first"):
        load_stored_training(text, "ckpt.safetensors[config]")
    assert not marker.exists()
