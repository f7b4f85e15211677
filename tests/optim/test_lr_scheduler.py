"""Learning-rate schedulers against torch.optim.lr_scheduler: values over long runs, resume, plateau logic."""

import math
import warnings

import pytest
from legacy_scheduler_states import LEGACY_STATES
from raised import raised
from scheduler_pairs import assert_same, momenta, optimizers, pair

import nnrun
from nnrun import optim
from nnrun.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 40


def _decay(epoch):
    return 0.9**epoch


class WarmupLambda:
    """A callable object: its attributes are saved by LambdaLR.state_dict."""

    def __init__(self, warmup):
        self.warmup = warmup

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.warmup)


# name -> (optimizer kind, factory(module, optimizer) -> scheduler)
SCHEDULERS = {
    "StepLR": ("SGD", lambda m, o: m.StepLR(o, step_size=3, gamma=0.5)),
    "MultiStepLR": ("SGD", lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3)),
    "ExponentialLR": ("SGD", lambda m, o: m.ExponentialLR(o, gamma=0.93)),
    "CosineAnnealingLR": ("SGD", lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.001)),
    "CosineAnnealingLR-zero-min": ("SGD", lambda m, o: m.CosineAnnealingLR(o, T_max=10)),
    "LinearLR": ("SGD", lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8)),
    "LinearLR-default": ("SGD", lambda m, o: m.LinearLR(o)),
    "LambdaLR": ("SGD", lambda m, o: m.LambdaLR(o, _decay)),
    "LambdaLR-per-group": ("SGD", lambda m, o: m.LambdaLR(o, [_decay, WarmupLambda(6)])),
    "OneCycleLR": ("SGD", lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.05], total_steps=STEPS + 1)),
    "OneCycleLR-linear-three-phase": (
        "SGD",
        lambda m, o: m.OneCycleLR(
            o, max_lr=0.4, epochs=4, steps_per_epoch=11, anneal_strategy="linear", three_phase=True
        ),
    ),
    "OneCycleLR-adam": ("Adam", lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=50, pct_start=0.25)),
    "OneCycleLR-no-momentum": (
        "SGD",
        lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=60, cycle_momentum=False, div_factor=10.0),
    ),
    "SequentialLR-warmup-cosine": (
        "SGD",
        lambda m, o: m.SequentialLR(
            o,
            [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=25, eta_min=1e-4)],
            milestones=[5],
        ),
    ),
    "SequentialLR-three": (
        "SGD",
        lambda m, o: m.SequentialLR(
            o,
            [m.ExponentialLR(o, gamma=0.8), m.StepLR(o, step_size=4, gamma=0.5), m.LinearLR(o, 0.5, 1.0, 6)],
            milestones=[6, 20],
        ),
    ),
}


def _pair(name):
    return pair(*SCHEDULERS[name])


def _step(optimizers, schedulers):
    """One training step of both libraries: every optimizer steps, then every scheduler."""
    for stepper in (*optimizers, *schedulers):
        stepper.step()


@pytest.mark.parametrize("name", SCHEDULERS)
def test_matches_torch(name):
    ours_opt, t_opt, ours, theirs = _pair(name)
    assert_same(ours_opt, t_opt, ours, theirs)  # the constructor's initial step
    history = []
    for step in range(STEPS):
        if step == 20:  # someone changes the rates mid-run: chainable schedulers continue from the new ones
            for group in (*ours_opt.param_groups, *t_opt.param_groups):
                group["lr"] *= 0.5
        _step(optimizers=(ours_opt, t_opt), schedulers=(ours, theirs))
        assert_same(ours_opt, t_opt, ours, theirs)
        assert ours.last_epoch == theirs.last_epoch
        history.append(ours.get_last_lr()[0])
    assert len(set(history)) > 2  # the schedule actually moved


@pytest.mark.parametrize("name", SCHEDULERS)
def test_state_dict_resume(name):
    """Save optimizer and scheduler mid-run; fresh ones that load them continue exactly like the original."""
    ours_opt, _, ours, _ = _pair(name)
    for _ in range(12):
        ours_opt.step()
        ours.step()
    saved, saved_opt = ours.state_dict(), ours_opt.state_dict()
    assert "optimizer" not in saved
    assert saved["last_epoch"] == ours.last_epoch
    fresh_opt, _, fresh, _ = _pair(name)
    fresh.load_state_dict(saved)
    fresh_opt.load_state_dict(saved_opt)
    for _ in range(STEPS - 12):
        for opt, sched in ((ours_opt, ours), (fresh_opt, fresh)):
            opt.step()
            sched.step()
        assert fresh.get_last_lr() == ours.get_last_lr()
        assert [g["lr"] for g in fresh_opt.param_groups] == [g["lr"] for g in ours_opt.param_groups]
        assert momenta(fresh_opt) == momenta(ours_opt)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "LinearLR", "OneCycleLR"])
def test_state_dict_core_fields_like_torch(name):
    ours_opt, t_opt, ours, theirs = _pair(name)
    for _ in range(5):
        _step(optimizers=(ours_opt, t_opt), schedulers=(ours, theirs))
    mine, ref = ours.state_dict(), theirs.state_dict()
    for key in ("last_epoch", "base_lrs", "_step_count"):
        assert mine[key] == ref[key]
    assert set(mine) <= set(ref)
    assert ours_opt.param_groups[0]["initial_lr"] == t_opt.param_groups[0]["initial_lr"]


def test_lambda_state_dict_saves_only_callable_objects():
    opt, _ = optimizers()
    warmup = WarmupLambda(6)
    sched = lr_scheduler.LambdaLR(opt, [_decay, warmup])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"warmup": 6}]
    other_opt, _ = optimizers()
    other_warmup = WarmupLambda(2)
    other = lr_scheduler.LambdaLR(other_opt, [_decay, other_warmup])
    other.load_state_dict(state)
    assert other_warmup.warmup == 6 and other.lr_lambdas[0] is _decay


def test_sequential_warmup_then_cosine_values():
    """LinearLR warm-up for 5 epochs, then cosine from the base lr: checked against the formulas."""
    opt, _ = optimizers()
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5)
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=20)
    sched = lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[5])
    lrs = [sched.get_last_lr()[0]]
    for _ in range(25):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    for epoch in range(5):
        assert lrs[epoch] == pytest.approx(0.1 * (0.1 + 0.9 * epoch / 5), abs=1e-12)
    for epoch in range(5, 26):
        assert lrs[epoch] == pytest.approx(0.05 * (1 + math.cos(math.pi * (epoch - 5) / 20)), abs=1e-12)


def test_one_cycle_cycles_momentum():
    opt, t_opt = optimizers()
    ours = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=20, base_momentum=0.8, max_momentum=0.9)
    theirs = torch.optim.lr_scheduler.OneCycleLR(
        t_opt, max_lr=1.0, total_steps=20, base_momentum=0.8, max_momentum=0.9
    )
    momenta = [opt.param_groups[0]["momentum"]]
    for _ in range(19):
        _step(optimizers=(opt, t_opt), schedulers=(ours, theirs))
        momenta.append(opt.param_groups[0]["momentum"])
        assert_same(opt, t_opt, ours, theirs)
    assert momenta[0] == pytest.approx(0.9) and min(momenta) == pytest.approx(0.8)
    assert momenta[-1] == pytest.approx(0.9)
    assert opt.param_groups[0]["max_lr"] == 1.0 and opt.param_groups[0]["initial_lr"] == 1.0 / 25
    opt.step()
    ours.step()  # step 20 of 20 is allowed; one more is not
    with pytest.raises(
        ValueError, match=r"Tried to step 21 times\. The specified number of total steps is 20"
    ):
        ours.step()


METRICS = [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.89, 0.9, 0.9, 0.9, 0.9, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"patience": 2},
        {"patience": 1, "factor": 0.5, "cooldown": 2},
        {"mode": "max", "patience": 1, "threshold": 0.05},
        {"patience": 0, "threshold_mode": "abs", "threshold": 0.02, "min_lr": [0.05, 0.001]},
        {"mode": "max", "patience": 0, "threshold_mode": "abs", "factor": 0.5, "min_lr": 0.02, "eps": 1e-3},
    ],
)
def test_reduce_on_plateau_matches_torch(kwargs):
    opt, t_opt = optimizers()
    ours = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kwargs)
    assert ours.get_last_lr() == theirs.get_last_lr()
    lrs = set()
    for i, metric in enumerate(METRICS * 2):
        opt.step()
        t_opt.step()
        ours.step(nnrun.tensor(metric) if i % 2 else metric)  # a 0-d tensor works as the metric
        theirs.step(torch.tensor(metric) if i % 2 else metric)
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter, ours.last_epoch) == (
            theirs.best,
            theirs.num_bad_epochs,
            theirs.cooldown_counter,
            theirs.last_epoch,
        )
        lrs.add(ours.get_last_lr()[0])
        if i == 10:  # resume mid-run
            state = ours.state_dict()
            opt2, _ = optimizers()
            opt2.load_state_dict(opt.state_dict())
            ours = lr_scheduler.ReduceLROnPlateau(opt2)
            ours.load_state_dict(state)
            opt = opt2
    assert len(lrs) > 1


def test_scheduler_before_optimizer_step_warns():
    opt, _ = optimizers()
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"`lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    opt2, _ = optimizers()
    sched2 = lr_scheduler.StepLR(opt2, step_size=2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()
        sched2.step()


def test_epoch_argument_uses_closed_form_with_warning():
    opt, t_opt = optimizers()
    ours = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    theirs = torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=10)
    opt.step()
    t_opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        ours.step(7)
    with pytest.warns(UserWarning):
        theirs.step(7)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), abs=1e-15)


@pytest.mark.parametrize(
    "factory",
    [
        lambda m, o: m.LinearLR(o, start_factor=0),
        lambda m, o: m.LinearLR(o, end_factor=1.5),
        lambda m, o: m.LambdaLR(o, [_decay]),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=0),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
        lambda m, o: m.OneCycleLR(o, max_lr=[0.1], total_steps=10),
        lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2), m.StepLR(o, 3)], milestones=[]),
        lambda m, o: m.SequentialLR(o, [], milestones=[]),
        lambda m, o: m.SequentialLR(o, [m.ReduceLROnPlateau(o)], milestones=[]),
        lambda m, o: m.ReduceLROnPlateau(o, factor=1.0),
        lambda m, o: m.ReduceLROnPlateau(o, mode="median"),
        lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="pct"),
        lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.1]),
        lambda m, o: m.StepLR(o, step_size=2, last_epoch=3),
        lambda m, o: m.StepLR("not an optimizer", step_size=2),
    ],
)
def test_errors_match_torch(factory):
    ours_opt, t_opt = optimizers()
    expected = raised(lambda: factory(torch.optim.lr_scheduler, t_opt))
    got = raised(lambda: factory(lr_scheduler, ours_opt))
    assert expected is not None and got is not None
    assert got[0] is expected[0]
    if expected[0] is not KeyError:  # torch's KeyError text names its own troubleshooting steps
        assert got[1] == expected[1]
    else:
        assert "initial_lr" in got[1]


def test_one_cycle_needs_momentum():
    params = [nnrun.nn.Parameter(nnrun.ones(2))]
    opt = optim.Adagrad(params)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False)


def test_resume_with_last_epoch():
    """Constructing with last_epoch (after loading the optimizer) continues the schedule as torch does."""
    opt, t_opt = optimizers()
    ours = lr_scheduler.ExponentialLR(opt, gamma=0.9)
    theirs = torch.optim.lr_scheduler.ExponentialLR(t_opt, gamma=0.9)
    for _ in range(4):
        _step(optimizers=(opt, t_opt), schedulers=(ours, theirs))
    ours = lr_scheduler.ExponentialLR(opt, gamma=0.9, last_epoch=4)
    theirs = torch.optim.lr_scheduler.ExponentialLR(t_opt, gamma=0.9, last_epoch=4)
    assert_same(opt, t_opt, ours, theirs)
    cos, t_cos = optimizers()
    a = lr_scheduler.CosineAnnealingLR(cos, T_max=10, last_epoch=-1)
    b = torch.optim.lr_scheduler.CosineAnnealingLR(t_cos, T_max=10, last_epoch=-1)
    a = lr_scheduler.CosineAnnealingLR(cos, T_max=10, last_epoch=3)
    b = torch.optim.lr_scheduler.CosineAnnealingLR(t_cos, T_max=10, last_epoch=3)
    for _ in range(5):
        _step(optimizers=(cos, t_cos), schedulers=(a, b))
        assert_same(cos, t_cos, a, b)


# schedulers whose rule has a closed form, which step(epoch) uses
CLOSED_FORM = [name for name in SCHEDULERS if not name.startswith("SequentialLR")]


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_epoch_argument_matches_torch(name):
    ours_opt, t_opt, ours, theirs = _pair(name)
    for epoch in (3, 9, 4, 17, 0, 40):
        ours_opt.step()
        t_opt.step()
        with pytest.warns(UserWarning, match="deprecated"):
            ours.step(epoch)
        with pytest.warns(UserWarning):
            theirs.step(epoch)
        assert_same(ours_opt, t_opt, ours, theirs)
        assert ours.last_epoch == theirs.last_epoch == epoch


# name -> factory(module, optimizer, last_epoch)
RESUMABLE = {
    "StepLR": lambda m, o, e: m.StepLR(o, step_size=3, gamma=0.5, last_epoch=e),
    "MultiStepLR": lambda m, o, e: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3, last_epoch=e),
    "ExponentialLR": lambda m, o, e: m.ExponentialLR(o, gamma=0.93, last_epoch=e),
    "CosineAnnealingLR": lambda m, o, e: m.CosineAnnealingLR(o, T_max=7, eta_min=0.001, last_epoch=e),
    "LinearLR": lambda m, o, e: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8, last_epoch=e),
    "LambdaLR": lambda m, o, e: m.LambdaLR(o, [_decay, WarmupLambda(6)], last_epoch=e),
    "OneCycleLR": lambda m, o, e: m.OneCycleLR(o, max_lr=[0.5, 0.05], total_steps=STEPS, last_epoch=e),
}


@pytest.mark.parametrize("resume_at", [3, 5])
@pytest.mark.parametrize("name", RESUMABLE)
def test_constructing_with_last_epoch_matches_torch(name, resume_at):
    """A scheduler built with ``last_epoch`` on a running optimizer continues as torch's does."""
    factory = RESUMABLE[name]
    ours_opt, t_opt = optimizers()
    ours, theirs = factory(lr_scheduler, ours_opt, -1), factory(torch.optim.lr_scheduler, t_opt, -1)
    for step in range(2 * STEPS // 3):
        if step == resume_at:
            ours = factory(lr_scheduler, ours_opt, step)
            theirs = factory(torch.optim.lr_scheduler, t_opt, step)
            assert_same(ours_opt, t_opt, ours, theirs)
        _step(optimizers=(ours_opt, t_opt), schedulers=(ours, theirs))
        assert_same(ours_opt, t_opt, ours, theirs)
        assert ours.last_epoch == theirs.last_epoch


def _plateau(opt):
    return lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=2)


@pytest.mark.parametrize("name", LEGACY_STATES)
def test_state_dict_written_before_the_rewrite_continues(name):
    """A state dict that nnrun wrote before the schedulers were rewritten (checkpoints on disk hold them)
    loads, and the run goes on with the values it went on with then."""
    entry = LEGACY_STATES[name]
    plateau = name == "ReduceLROnPlateau"
    if plateau:
        opt, _ = optimizers()
        sched = _plateau(opt)
    else:
        kind, factory = SCHEDULERS[name]
        opt, _ = optimizers(kind)
        sched = factory(lr_scheduler, opt)
    for group, saved in zip(opt.param_groups, entry["groups"]):
        group.update(saved)  # what loading the optimizer's state does to these keys
    sched.load_state_dict(entry["scheduler"])
    for i, expected in enumerate(entry["lrs"]):
        opt.step()
        sched.step(METRICS[11 + i]) if plateau else sched.step()
        assert sched.get_last_lr() == expected
        assert [g["lr"] for g in opt.param_groups] == expected
        if "momenta" in entry:
            assert momenta(opt) == entry["momenta"][i]
    assert "_is_initial" not in sched.state_dict()


@pytest.mark.parametrize("name", [*SCHEDULERS, "ReduceLROnPlateau"])
def test_state_dict_goes_through_nnrun_save(name, tmp_path):
    """A checkpoint holds the scheduler's state through ``nnrun.save``: every scheduler's can be written,
    and loads to continue exactly."""
    if name == "ReduceLROnPlateau":
        opt, _ = optimizers()
        ours, fresh_opt = _plateau(opt), optimizers()[0]
        fresh = _plateau(fresh_opt)
    else:
        opt, _, ours, _ = _pair(name)
        fresh_opt, _, fresh, _ = _pair(name)
    metrics = iter(METRICS * 3)
    for _ in range(7):
        opt.step()
        ours.step(next(metrics)) if name == "ReduceLROnPlateau" else ours.step()
    nnrun.save({"scheduler": ours.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "state.nnrun")
    saved = nnrun.load(tmp_path / "state.nnrun")
    fresh_opt.load_state_dict(saved["optimizer"])
    fresh.load_state_dict(saved["scheduler"])
    for _ in range(12):
        metric = next(metrics)
        for o, s in ((opt, ours), (fresh_opt, fresh)):
            o.step()
            s.step(metric) if name == "ReduceLROnPlateau" else s.step()
        assert fresh.get_last_lr() == ours.get_last_lr()
        assert momenta(fresh_opt) == momenta(opt)


def _halving(base_class):
    """A user's scheduler given by its rule alone, on ``base_class`` (ours or torch's LRScheduler)."""

    def get_lr(self):
        return [base * 0.5 ** (self.last_epoch // 2) for base in self.base_lrs]

    return type("Halving", (base_class,), {"get_lr": get_lr})


def test_scheduler_written_as_a_rule_alone_matches_torch():
    """``get_lr`` is all a subclass needs: ``step()`` uses it, and ``step(epoch)`` too (no closed form)."""
    ours_opt, t_opt = optimizers()
    ours = _halving(lr_scheduler.LRScheduler)(ours_opt)
    theirs = _halving(torch.optim.lr_scheduler.LRScheduler)(t_opt)
    assert_same(ours_opt, t_opt, ours, theirs)
    for step in range(8):
        ours_opt.step()
        t_opt.step()
        if step == 5:
            with pytest.warns(UserWarning, match="deprecated"):
                ours.step(11)
            with pytest.warns(UserWarning):
                theirs.step(11)
        else:
            ours.step()
            theirs.step()
        assert_same(ours_opt, t_opt, ours, theirs)
        assert ours.last_epoch == theirs.last_epoch


def test_reduce_on_plateau_records_no_initial_lr_like_torch():
    """Not indexed by the epoch, it leaves the groups as they were (torch's groups have no initial_lr)."""
    ours_opt, t_opt = optimizers()
    lr_scheduler.ReduceLROnPlateau(ours_opt)
    torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt)
    assert not any("initial_lr" in group for group in (*ours_opt.param_groups, *t_opt.param_groups))
