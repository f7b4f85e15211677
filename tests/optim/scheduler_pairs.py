"""What the scheduler tests share: the same two-group optimizer in nnrun and torch, a scheduler pair built
by one factory on both, and the check that their rates (and momenta) agree to the last bit."""

import pytest

import nnrun
from nnrun import optim
from nnrun.optim import lr_scheduler

torch = pytest.importorskip("torch")


def optimizers(kind="SGD"):
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


def pair(kind, factory):
    """``(ours_opt, t_opt, ours, theirs)``: ``factory(module, optimizer)`` over a fresh optimizer pair."""
    ours_opt, t_opt = optimizers(kind)
    return ours_opt, t_opt, factory(lr_scheduler, ours_opt), factory(torch.optim.lr_scheduler, t_opt)


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def assert_same(ours_opt, t_opt, ours, theirs):
    assert ours.get_last_lr() == theirs.get_last_lr()
    assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in t_opt.param_groups]
    assert momenta(ours_opt) == momenta(t_opt)
