"""LBFGS against torch.optim.LBFGS: trajectories with and without the strong-Wolfe line search, several
steps, history limits, stopping rules, state_dict resume, errors."""

import copy

import numpy as np
import pytest

import nnrun
from nnrun import optim

torch = pytest.importorskip("torch")

# torch's LBFGS reads its closure's loss with float(), which warns for a loss that requires grad
pytestmark = pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True to a scalar")


class Problem:
    """A small regression in both libraries: a 4→3 linear map and a bias, squared error with a quartic
    term (so the curvature changes along the way)."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.w0, self.b0 = rng.standard_normal((3, 4)), rng.standard_normal(3)
        self.x, self.y = rng.standard_normal((16, 4)), rng.standard_normal((16, 3))
        self.ours = [nnrun.nn.Parameter(nnrun.tensor(self.w0)), nnrun.nn.Parameter(nnrun.tensor(self.b0))]
        self.theirs = [torch.nn.Parameter(torch.tensor(self.w0)), torch.nn.Parameter(torch.tensor(self.b0))]

    def closure(self, lib, params, optimizer):
        def run():
            optimizer.zero_grad()
            w, b = params
            error = lib.tensor(self.x) @ w.t() + b - lib.tensor(self.y)
            loss = (error * error).mean() + 0.1 * (w**4).sum()
            loss.backward()
            return loss

        return run

    def max_diff(self):
        return max(
            float(np.abs(a.detach().numpy() - b.detach().numpy()).max())
            for a, b in zip(self.ours, self.theirs)
        )


CONFIGS = [
    {},
    {"lr": 0.5, "max_iter": 5},
    {"line_search_fn": "strong_wolfe"},
    {"line_search_fn": "strong_wolfe", "max_iter": 7, "history_size": 3},
    {"lr": 0.3, "history_size": 2, "max_iter": 6, "max_eval": 8},
    {"line_search_fn": "strong_wolfe", "tolerance_grad": 1e-3, "tolerance_change": 1e-5},
]


@pytest.mark.parametrize("kwargs", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_matches_torch(kwargs):
    problem = Problem()
    ours, theirs = optim.LBFGS(problem.ours, **kwargs), torch.optim.LBFGS(problem.theirs, **kwargs)
    start = float(problem.closure(nnrun, problem.ours, ours)())
    for _ in range(4):
        loss = ours.step(problem.closure(nnrun, problem.ours, ours))
        t_loss = theirs.step(problem.closure(torch, problem.theirs, theirs))
        assert abs(float(loss) - float(t_loss)) < 1e-10
        assert problem.max_diff() < 1e-9
        state, t_state = ours.state[problem.ours[0]], theirs.state[problem.theirs[0]]
        assert (state["func_evals"], state["n_iter"]) == (t_state["func_evals"], t_state["n_iter"])
        assert len(state["old_dirs"]) == len(t_state["old_dirs"])
    assert float(problem.closure(nnrun, problem.ours, ours)()) < start - 0.1  # it did minimise


def test_state_dict_resume():
    """Stop after two steps, load the state into a fresh optimizer over a copy of the parameters: the rest
    of the run matches the uninterrupted one."""
    kwargs = {"line_search_fn": "strong_wolfe", "max_iter": 4, "history_size": 5}
    problem, other = Problem(), Problem()
    ours = optim.LBFGS(problem.ours, **kwargs)
    for _ in range(2):
        ours.step(problem.closure(nnrun, problem.ours, ours))
    saved = copy.deepcopy(ours.state_dict())
    with nnrun.no_grad():
        for dst, src in zip(other.ours, problem.ours):
            dst.copy_(src)
    resumed = optim.LBFGS(other.ours, **kwargs)
    resumed.load_state_dict(saved)
    for _ in range(3):
        ours.step(problem.closure(nnrun, problem.ours, ours))
        resumed.step(other.closure(nnrun, other.ours, resumed))
        for a, b in zip(problem.ours, other.ours):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_stops_at_once_where_the_gradient_is_zero():
    p = nnrun.nn.Parameter(nnrun.zeros(3, dtype=nnrun.float64))
    opt = optim.LBFGS([p])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0
    assert opt.state[p]["func_evals"] == 1 and opt.state[p]["n_iter"] == 0


@pytest.mark.parametrize(
    "build",
    [
        lambda m, p: m.LBFGS(p, lr=-1.0),
        lambda m, p: m.LBFGS([{"params": p[:1]}, {"params": p[1:]}]),
    ],
)
def test_errors_match_torch(build):
    problem = Problem()
    with pytest.raises(ValueError) as expected:
        build(torch.optim, problem.theirs)
    with pytest.raises(ValueError) as got:
        build(optim, problem.ours)
    assert str(got.value) == str(expected.value)


def test_unknown_line_search_is_refused_like_torch():
    problem = Problem()
    ours = optim.LBFGS(problem.ours, line_search_fn="backtracking")
    theirs = torch.optim.LBFGS(problem.theirs, line_search_fn="backtracking")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        theirs.step(problem.closure(torch, problem.theirs, theirs))
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        ours.step(problem.closure(nnrun, problem.ours, ours))
