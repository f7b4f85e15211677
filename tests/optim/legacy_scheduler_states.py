"""Scheduler state dicts written by nnrun before the schedulers were rewritten (commit 4fa8eb7), as
checkpoints on disk hold them, with how each run continued then: ``groups`` are the scheduler-written
hyperparameters of the optimizer's two param groups (``lr`` 0.1 and 0.02, see
``test_lr_scheduler._optimizers``) after 4 steps (11 for ReduceLROnPlateau), ``scheduler`` its
``state_dict()`` then, ``lrs`` (and ``momenta`` for OneCycleLR) the values of each following step. Keys are
the names of ``test_lr_scheduler.SCHEDULERS``.

The values are exactly what the old code wrote; only the parts every entry shares are built by the helpers
below."""

import math
from collections import Counter

BASE_LRS = [0.1, 0.02]


def _sgd_groups(lrs: list[float]) -> list[dict]:
    """The two SGD groups (momentum 0.9) after a scheduler set their ``lr`` to ``lrs``."""
    return [{"lr": lr, "momentum": 0.9, "initial_lr": base} for lr, base in zip(lrs, BASE_LRS)]


def _scheduler(last_lr: list[float], *, started: bool = True, base_lrs=BASE_LRS, **own) -> dict:
    """A scheduler's state dict: its ``own`` hyperparameters and what the old base class saved, after 4 steps
    or, where not ``started``, as SequentialLR left a later scheduler that has not begun."""
    return {
        **own,
        "base_lrs": list(base_lrs),
        "last_epoch": 4 if started else -1,
        "_step_count": 5 if started else 1,
        "_is_initial": False,
        "_last_lr": list(last_lr),
    }


def _phase(end_step: float, lrs: tuple[str, str], momenta: tuple[str, str]) -> dict:
    """One OneCycleLR phase: the group keys it anneals ``lr`` and momentum from and to."""
    return {
        "end_step": end_step,
        "start_lr": lrs[0],
        "end_lr": lrs[1],
        "start_momentum": momenta[0],
        "end_momentum": momenta[1],
    }


def _held(*runs: tuple[list[float], int]) -> list[list[float]]:
    """Per-step values given as (value, how many steps it held) runs."""
    return [list(value) for value, steps in runs for _ in range(steps)]


def _both(values: list[float]) -> list[list[float]]:
    """Per-step values that were the same in both groups."""
    return [[v, v] for v in values]


_ONE_CYCLE_ADAM_GROUP = {
    "lr": 0.002991687818890469,
    "betas": (0.9230032518865576, 0.999),
    "initial_lr": 0.0004,
    "max_lr": 0.01,
    "min_lr": 4e-08,
    "max_momentum": 0.95,
    "base_momentum": 0.85,
}
_ONE_CYCLE_THREE_PHASE_GROUP = {
    "lr": 0.1419016393442623,
    "momentum": 0.9172131147540983,
    "initial_lr": 0.016,
    "max_lr": 0.4,
    "min_lr": 1.6e-06,
    "max_momentum": 0.95,
    "base_momentum": 0.85,
}

LEGACY_STATES = {
    "StepLR": {
        "groups": _sgd_groups([0.05, 0.01]),
        "scheduler": _scheduler([0.05, 0.01], step_size=3, gamma=0.5),
        "lrs": _held(([0.05, 0.01], 1), ([0.025, 0.005], 3), ([0.0125, 0.0025], 3), ([0.00625, 0.00125], 3)),
    },
    "MultiStepLR": {
        "groups": _sgd_groups([0.03, 0.006]),
        "scheduler": _scheduler([0.03, 0.006], milestones=Counter({5: 2, 2: 1, 9: 1}), gamma=0.3),
        "lrs": _held(([0.0026999999999999997, 0.00054], 4), ([0.0008099999999999998, 0.000162], 6)),
    },
    "ExponentialLR": {
        "groups": _sgd_groups([0.07480520100000002, 0.014961040200000005]),
        "scheduler": _scheduler([0.07480520100000002, 0.014961040200000005], gamma=0.93),
        "lrs": [
            [0.06956883693000002, 0.013913767386000005],
            [0.06469901834490002, 0.012939803668980005],
            [0.06017008706075702, 0.012034017412151404],
            [0.05595818096650403, 0.011191636193300807],
            [0.052041108298848754, 0.010408221659769751],
            [0.04839823071792934, 0.009679646143585869],
            [0.04501035456767429, 0.009002070913534858],
            [0.0418596297479371, 0.008371925949587418],
            [0.0389294556655815, 0.007785891133116299],
            [0.036204393768990796, 0.0072408787537981585],
        ],
    },
    "CosineAnnealingLR": {
        "groups": _sgd_groups([0.03948521376916245, 0.008386051127415015]),
        "scheduler": _scheduler([0.03948521376916245, 0.008386051127415015], T_max=7, eta_min=0.001),
        "lrs": [
            [0.019637254807992697, 0.004576846882342032],
            [0.005902041038830259, 0.001940795754927019],
            [0.001, 0.001],
            [0.005902041038830253, 0.001940795754927018],
            [0.019637254807992683, 0.004576846882342029],
            [0.03948521376916243, 0.008386051127415011],
            [0.061514786230837525, 0.012613948872584976],
            [0.08136274519200731, 0.016423153117657963],
            [0.09509795896116978, 0.01905920424507298],
            [0.10000000000000002, 0.019999999999999993],
        ],
    },
    "LinearLR": {
        "groups": _sgd_groups([0.0575, 0.011499999999999998]),
        "scheduler": _scheduler(
            [0.0575, 0.011499999999999998], start_factor=0.25, end_factor=0.9, total_iters=8
        ),
        "lrs": _held(
            ([0.065625, 0.013124999999999998], 1),
            ([0.07375000000000001, 0.014749999999999997], 1),
            ([0.081875, 0.016374999999999997], 1),
            ([0.09000000000000001, 0.018], 7),
        ),
    },
    "LambdaLR-per-group": {
        "groups": _sgd_groups([0.06561, 0.016666666666666666]),
        "scheduler": _scheduler([0.06561, 0.016666666666666666], lr_lambdas=[None, {"warmup": 6}]),
        "lrs": [
            [0.05904900000000001, 0.02],
            [0.05314410000000001, 0.02],
            [0.04782969000000001, 0.02],
            [0.04304672100000001, 0.02],
            [0.03874204890000001, 0.02],
            [0.03486784401000001, 0.02],
            [0.031381059609000006, 0.02],
            [0.028242953648100012, 0.02],
            [0.02541865828329001, 0.02],
            [0.02287679245496101, 0.02],
        ],
    },
    "OneCycleLR-adam": {
        "groups": [dict(_ONE_CYCLE_ADAM_GROUP), dict(_ONE_CYCLE_ADAM_GROUP)],
        "scheduler": _scheduler(
            [0.002991687818890469, 0.002991687818890469],
            base_lrs=[0.0004, 0.0004],
            total_steps=50,
            _anneal_func_type="cos",
            _schedule_phases=[
                _phase(11.5, ("initial_lr", "max_lr"), ("max_momentum", "base_momentum")),
                _phase(49, ("max_lr", "min_lr"), ("base_momentum", "max_momentum")),
            ],
            cycle_momentum=True,
            use_beta1=True,
        ),
        "lrs": _both(
            [
                0.004223411137347356,
                0.00552756358415042,
                0.006807422138420734,
                0.007968065546151362,
                0.008923414195381216,
                0.009602614247226174,
                0.009955292540974388,
                0.00999561416803769,
                0.009960573664278364,
                0.009890738440717015,
            ]
        ),
        "momenta": _both(
            [
                0.9101728006526316,
                0.8965878793317664,
                0.8832560193914507,
                0.8711659838942566,
                0.8612144354647789,
                0.8541394349247273,
                0.8504657026981834,
                0.850043858495057,
                0.8503942649342761,
                0.8510926199633096,
            ]
        ),
    },
    "OneCycleLR-linear-three-phase": {
        "groups": [dict(_ONE_CYCLE_THREE_PHASE_GROUP), dict(_ONE_CYCLE_THREE_PHASE_GROUP)],
        "scheduler": _scheduler(
            [0.1419016393442623, 0.1419016393442623],
            base_lrs=[0.016, 0.016],
            total_steps=44,
            _anneal_func_type="linear",
            _schedule_phases=[
                _phase(12.2, ("initial_lr", "max_lr"), ("max_momentum", "base_momentum")),
                _phase(24.4, ("max_lr", "initial_lr"), ("base_momentum", "max_momentum")),
                _phase(43, ("initial_lr", "min_lr"), ("max_momentum", "max_momentum")),
            ],
            cycle_momentum=True,
            use_beta1=False,
        ),
        "lrs": _both(
            [
                0.17337704918032787,
                0.20485245901639348,
                0.23632786885245904,
                0.26780327868852466,
                0.2992786885245902,
                0.3307540983606558,
                0.36222950819672134,
                0.39370491803278695,
                0.37481967213114753,
                0.34334426229508197,
            ]
        ),
        "momenta": _both(
            [
                0.909016393442623,
                0.9008196721311476,
                0.8926229508196721,
                0.8844262295081967,
                0.8762295081967213,
                0.8680327868852459,
                0.8598360655737705,
                0.851639344262295,
                0.8565573770491803,
                0.8647540983606558,
            ]
        ),
    },
    "SequentialLR-warmup-cosine": {
        "groups": _sgd_groups([0.082, 0.016399999999999998]),
        "scheduler": {
            "_milestones": [5],
            "last_epoch": 4,
            "_last_lr": [0.082, 0.016399999999999998],
            "_schedulers": [
                _scheduler([0.082, 0.016399999999999998], start_factor=0.1, end_factor=1.0, total_iters=5),
                _scheduler([0.010000000000000002, 0.002], started=False, T_max=25, eta_min=0.0001),
            ],
        },
        "lrs": [
            [0.1, 0.02],
            [0.09960612933065818, 0.019921541278079057],
            [0.09843072889837513, 0.01968740245322988],
            [0.09649233547011817, 0.019301276034588102],
            [0.093821518668191, 0.018769251466436442],
            [0.09046039886902864, 0.018099719094030728],
            [0.08646198293969952, 0.017303237842843044],
            [0.08188932828794707, 0.01639236869799946],
            [0.07681454840920089, 0.015381476610041014],
            [0.07131767561367539, 0.014286503951072472],
        ],
    },
    "SequentialLR-three": {
        "groups": _sgd_groups([0.04096000000000002, 0.008192000000000001]),
        "scheduler": {
            "_milestones": [6, 20],
            "last_epoch": 4,
            "_last_lr": [0.04096000000000002, 0.008192000000000001],
            "_schedulers": [
                _scheduler([0.04096000000000002, 0.008192000000000001], gamma=0.8),
                _scheduler([0.1, 0.02], started=False, step_size=4, gamma=0.5),
                _scheduler([0.05, 0.01], started=False, start_factor=0.5, end_factor=1.0, total_iters=6),
            ],
        },
        "lrs": _held(
            ([0.03276800000000001, 0.0065536000000000014], 1),
            ([0.1, 0.02], 4),
            ([0.05, 0.01], 4),
            ([0.025, 0.005], 1),
        ),
    },
    "ReduceLROnPlateau": {
        "groups": [{"lr": 0.025, "momentum": 0.9}, {"lr": 0.005, "momentum": 0.9}],
        "scheduler": {
            "factor": 0.5,
            "default_min_lr": 0,
            "min_lrs": [0, 0],
            "patience": 1,
            "cooldown": 2,
            "eps": 1e-08,
            "last_epoch": 11,
            "_last_lr": [0.025, 0.005],
            "mode": "min",
            "threshold": 0.0001,
            "threshold_mode": "rel",
            "mode_worse": math.inf,
            "best": 0.89,
            "cooldown_counter": 0,
            "num_bad_epochs": 0,
        },
        "lrs": _held(([0.025, 0.005], 2), ([0.0125, 0.0025], 4), ([0.00625, 0.00125], 1)),
    },
}
