"""ConstantLR, MultiplicativeLR, PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR and ChainedScheduler
against torch.optim.lr_scheduler: rates (and momenta) over long runs to the last bit, state_dict round trips
mid-run, the epoch argument, resuming with last_epoch, errors, and the config registry."""

import pytest
from raised import raised

import nnrun
from nnrun import optim
from nnrun.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 60


def _optimizers(kind="SGD"):
    """The same two-group optimizer in nnrun and torch (lr 0.1 and 0.02)."""
    ours_params = [nnrun.nn.Parameter(nnrun.ones(3)), nnrun.nn.Parameter(nnrun.ones(2))]
    t_params = [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))]
    kwargs = {"momentum": 0.9} if kind == "SGD" else {}
    ours = getattr(optim, kind)(
        [{"params": ours_params[:1]}, {"params": ours_params[1:], "lr": 0.02}], lr=0.1, **kwargs
    )
    theirs = getattr(torch.optim, kind)(
        [{"params": t_params[:1]}, {"params": t_params[1:], "lr": 0.02}], lr=0.1, **kwargs
    )
    return ours, theirs


def _shrink(epoch):
    return 0.95


class Shrink:
    """A callable object: its attributes are saved in state_dict."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, epoch):
        return self.factor if epoch % 2 else 1.0


class Halving:
    """A callable scale_fn object for CyclicLR."""

    def __init__(self, base):
        self.base = base

    def __call__(self, x):
        return self.base**x


# name -> (optimizer kind, factory(module, optimizer) -> scheduler)
SCHEDULERS = {
    "ConstantLR": ("SGD", lambda m, o: m.ConstantLR(o, factor=0.3, total_iters=7)),
    "ConstantLR-default": ("SGD", lambda m, o: m.ConstantLR(o)),
    "MultiplicativeLR": ("SGD", lambda m, o: m.MultiplicativeLR(o, _shrink)),
    "MultiplicativeLR-per-group": ("SGD", lambda m, o: m.MultiplicativeLR(o, [_shrink, Shrink(0.8)])),
    "PolynomialLR": ("SGD", lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0)),
    "PolynomialLR-default": ("SGD", lambda m, o: m.PolynomialLR(o)),
    "CosineAnnealingWarmRestarts": (
        "SGD",
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7, eta_min=1e-3),
    ),
    "CosineAnnealingWarmRestarts-mult": (
        "SGD",
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    ),
    "CyclicLR": ("SGD", lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5)),
    "CyclicLR-triangular2": (
        "SGD",
        lambda m, o: m.CyclicLR(
            o, base_lr=[0.01, 0.001], max_lr=[0.2, 0.05], step_size_up=4, step_size_down=7, mode="triangular2"
        ),
    ),
    "CyclicLR-exp-range": (
        "SGD",
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6, mode="exp_range", gamma=0.97),
    ),
    "CyclicLR-adam": ("Adam", lambda m, o: m.CyclicLR(o, base_lr=1e-4, max_lr=1e-2, step_size_up=8)),
    "CyclicLR-no-momentum": (
        "Adagrad",
        lambda m, o: m.CyclicLR(o, base_lr=1e-3, max_lr=1e-2, step_size_up=3, cycle_momentum=False),
    ),
    "CyclicLR-scale-fn": (
        "SGD",
        lambda m, o: m.CyclicLR(
            o, base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=Halving(0.9), scale_mode="iterations"
        ),
    ),
    "ChainedScheduler": (
        "SGD",
        lambda m, o: m.ChainedScheduler(
            [m.ConstantLR(o, factor=0.1, total_iters=4), m.ExponentialLR(o, 0.9)]
        ),
    ),
    "ChainedScheduler-three": (
        "SGD",
        lambda m, o: m.ChainedScheduler(
            [m.LinearLR(o, 0.2, total_iters=6), m.StepLR(o, 5, 0.5), m.PolynomialLR(o, 40)], optimizer=o
        ),
    ),
}


def _pair(name):
    kind, factory = SCHEDULERS[name]
    ours_opt, t_opt = _optimizers(kind)
    return ours_opt, t_opt, factory(lr_scheduler, ours_opt), factory(torch.optim.lr_scheduler, t_opt)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _assert_same(ours_opt, t_opt, ours, theirs):
    assert ours.get_last_lr() == theirs.get_last_lr()
    assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in t_opt.param_groups]
    assert _momenta(ours_opt) == _momenta(t_opt)


@pytest.mark.parametrize("name", SCHEDULERS)
def test_matches_torch(name):
    ours_opt, t_opt, ours, theirs = _pair(name)
    _assert_same(ours_opt, t_opt, ours, theirs)  # the constructor's initial step
    history = []
    for step in range(STEPS):
        if step == 20:  # the rates changed by hand mid-run: recursive schedulers continue from the new ones
            for group in (*ours_opt.param_groups, *t_opt.param_groups):
                group["lr"] *= 0.5
        for stepper in (ours_opt, t_opt, ours, theirs):
            stepper.step()
        _assert_same(ours_opt, t_opt, ours, theirs)
        assert getattr(ours, "last_epoch", None) == getattr(theirs, "last_epoch", None)
        history.append(ours.get_last_lr()[0])
    assert len(set(history)) > 2  # the schedule moved


@pytest.mark.parametrize("name", SCHEDULERS)
def test_state_dict_round_trip_mid_run(name, tmp_path):
    """Save optimizer and scheduler mid-run (through nnrun.save); fresh ones that load them continue exactly
    like the original."""
    ours_opt, _, ours, _ = _pair(name)
    for _ in range(13):
        ours_opt.step()
        ours.step()
    nnrun.save({"scheduler": ours.state_dict(), "optimizer": ours_opt.state_dict()}, tmp_path / "s.nnrun")
    saved = nnrun.load(tmp_path / "s.nnrun")
    fresh_opt, _, fresh, _ = _pair(name)
    fresh_opt.load_state_dict(saved["optimizer"])
    fresh.load_state_dict(saved["scheduler"])
    assert "optimizer" not in saved["scheduler"]
    for _ in range(STEPS - 13):
        for opt, sched in ((ours_opt, ours), (fresh_opt, fresh)):
            opt.step()
            sched.step()
        assert fresh.get_last_lr() == ours.get_last_lr()
        assert [g["lr"] for g in fresh_opt.param_groups] == [g["lr"] for g in ours_opt.param_groups]
        assert _momenta(fresh_opt) == _momenta(ours_opt)


def test_callable_objects_are_saved_and_functions_are_not():
    opt, t_opt = _optimizers()
    ours = lr_scheduler.MultiplicativeLR(opt, [_shrink, Shrink(0.8)])
    theirs = torch.optim.lr_scheduler.MultiplicativeLR(t_opt, [_shrink, Shrink(0.8)])
    assert ours.state_dict()["lr_lambdas"] == theirs.state_dict()["lr_lambdas"] == [None, {"factor": 0.8}]
    cyclic = lr_scheduler.CyclicLR(opt, 0.01, 0.1, scale_fn=Halving(0.5))
    assert cyclic.state_dict()["_scale_fn_custom"] == {"base": 0.5}
    assert (
        lr_scheduler.CyclicLR(opt, 0.01, 0.1, scale_fn=lambda x: 1.0).state_dict()["_scale_fn_custom"] is None
    )


@pytest.mark.parametrize("name", ["ConstantLR", "PolynomialLR", "CyclicLR", "CyclicLR-exp-range"])
def test_epoch_argument_matches_torch(name):
    ours_opt, t_opt, ours, theirs = _pair(name)
    for epoch in (3, 9, 4, 17, 0, 40):
        ours_opt.step()
        t_opt.step()
        with pytest.warns(UserWarning, match="deprecated"):
            ours.step(epoch)
        with pytest.warns(UserWarning):
            theirs.step(epoch)
        _assert_same(ours_opt, t_opt, ours, theirs)


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs_match_torch(T_mult):
    """Stepped per batch with a fractional epoch, as its documentation shows; no warning."""
    ours_opt, t_opt = _optimizers()
    ours = lr_scheduler.CosineAnnealingWarmRestarts(ours_opt, T_0=2, T_mult=T_mult, eta_min=0.001)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(t_opt, T_0=2, T_mult=T_mult, eta_min=0.001)
    batches = 7
    for epoch in range(12):
        for batch in range(batches):
            ours_opt.step()
            t_opt.step()
            ours.step(epoch + batch / batches)
            theirs.step(epoch + batch / batches)
            _assert_same(ours_opt, t_opt, ours, theirs)
            assert (ours.T_cur, ours.T_i, ours.last_epoch) == (theirs.T_cur, theirs.T_i, theirs.last_epoch)
    ours.step()  # and back to whole epochs
    theirs.step()
    _assert_same(ours_opt, t_opt, ours, theirs)


RESUMABLE = {
    "ConstantLR": lambda m, o, e: m.ConstantLR(o, factor=0.3, total_iters=7, last_epoch=e),
    "PolynomialLR": lambda m, o, e: m.PolynomialLR(o, total_iters=30, power=2.0, last_epoch=e),
    "MultiplicativeLR": lambda m, o, e: m.MultiplicativeLR(o, _shrink, last_epoch=e),
    "CosineAnnealingWarmRestarts": lambda m, o, e: m.CosineAnnealingWarmRestarts(
        o, T_0=4, T_mult=2, last_epoch=e
    ),
    "CyclicLR": lambda m, o, e: m.CyclicLR(o, 0.01, 0.1, step_size_up=3, last_epoch=e),
}


@pytest.mark.parametrize("resume_at", [3, 7])
@pytest.mark.parametrize("name", RESUMABLE)
def test_constructing_with_last_epoch_matches_torch(name, resume_at):
    factory = RESUMABLE[name]
    ours_opt, t_opt = _optimizers()
    ours, theirs = factory(lr_scheduler, ours_opt, -1), factory(torch.optim.lr_scheduler, t_opt, -1)
    for step in range(30):
        if step == resume_at:
            ours = factory(lr_scheduler, ours_opt, step)
            theirs = factory(torch.optim.lr_scheduler, t_opt, step)
            _assert_same(ours_opt, t_opt, ours, theirs)
        for stepper in (ours_opt, t_opt, ours, theirs):
            stepper.step()
        _assert_same(ours_opt, t_opt, ours, theirs)


@pytest.mark.parametrize(
    "factory",
    [
        lambda m, o: m.ConstantLR(o, factor=1.5),
        lambda m, o: m.ConstantLR(o, factor=-0.1),
        lambda m, o: m.MultiplicativeLR(o, [_shrink]),
        lambda m, o: m.MultiplicativeLR(o, 0.9),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2.5),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, eta_min="0"),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3).step(-1),
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="sine"),
        lambda m, o: m.CyclicLR(o, [0.01], 0.1),
        lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.2, 0.3]),
        lambda m, o: m.CyclicLR("not an optimizer", 0.01, 0.1),
        lambda m, o: m.ChainedScheduler([]),
        lambda m, o: m.ChainedScheduler([m.ReduceLROnPlateau(o)]),
        lambda m, o: m.ChainedScheduler([m.StepLR(o, 2), object()]),
    ],
)
def test_errors_match_torch(factory):
    ours_opt, t_opt = _optimizers()
    expected = raised(lambda: factory(torch.optim.lr_scheduler, t_opt))
    got = raised(lambda: factory(lr_scheduler, ours_opt))
    assert expected is not None and got is not None
    assert (got[0], got[1]) == (expected[0], expected[1])


def test_cyclic_needs_momentum_and_chained_needs_one_optimizer():
    opt = optim.Adagrad([nnrun.nn.Parameter(nnrun.ones(2))])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.CyclicLR(opt, 0.01, 0.1)
    other, _ = _optimizers()
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(opt, 2), lr_scheduler.StepLR(other, 2)])


def test_registry_builds_them_from_a_config_name():
    names = set(optim.SCHEDULERS.names())
    for name in ("ConstantLR", "PolynomialLR", "CosineAnnealingWarmRestarts", "CyclicLR", "ChainedScheduler"):
        assert name in names
    assert "MultiplicativeLR" not in names  # takes Python functions, which a config cannot hold
