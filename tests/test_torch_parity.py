"""Op compositions run in nnrun and in torch: forward values and input gradients must agree (float32).

Each case is a function ``fn(lib, *tensors)`` written once against the shared torch/nnrun API; ``lib`` is
the ``nnrun`` or ``torch`` module. Float inputs require grad; integer and bool inputs are index/mask data.
"""

import numpy as np
import pytest

import nnrun
from op_cases import CASES

torch = pytest.importorskip("torch")

RTOL = 1e-5
ATOL = 1e-6


def _to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(value.detach().numpy())


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _run(lib, fn, arrays, upstream_seed):
    """Build tensors from ``arrays``, run ``fn``, backprop a seeded random upstream gradient."""
    inputs = []
    for array in arrays:
        t = lib.from_numpy(array.copy())
        if array.dtype.kind == "f":
            t.requires_grad_(True)
        inputs.append(t)
    outputs = _outputs(fn(lib, *inputs))
    rng = np.random.default_rng(upstream_seed)
    loss = None
    for out in outputs:
        if not out.requires_grad:
            continue
        upstream = rng.standard_normal(tuple(out.shape)).astype(np.float32)
        term = (out * lib.from_numpy(upstream)).sum()
        loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    grads = [None if t.grad is None else _to_numpy(t.grad) for t in inputs]
    return [_to_numpy(o) for o in outputs], [str(o.dtype) for o in outputs], grads


def check(fn, *arrays, rtol=RTOL, atol=ATOL, seed=0):
    """Assert ``fn`` gives the same outputs (values, dtypes, shapes) and input gradients in both libraries."""
    got, got_dtypes, got_grads = _run(nnrun, fn, arrays, seed)
    want, want_dtypes, want_grads = _run(torch, fn, arrays, seed)
    assert len(got) == len(want)
    assert [d.replace("nnrun.", "") for d in got_dtypes] == [d.replace("torch.", "") for d in want_dtypes]
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"output {i}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"output {i}")
    for i, (g, w) in enumerate(zip(got_grads, want_grads)):
        if w is None:
            assert g is None or not np.any(g), f"input {i}: nnrun has a gradient, torch has none"
            continue
        assert g is not None, f"input {i}: torch has a gradient, nnrun has none"
        assert g.shape == w.shape, f"grad {i}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"grad of input {i}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_composition(name):
    fn, arrays = CASES[name]
    check(fn, *arrays)


# ----- random programs -----
UNARY = {
    "neg": lambda lib, x: -x,
    "exp_tanh": lambda lib, x: x.tanh().exp(),
    "log_abs": lambda lib, x: (x.abs() + 1.0).log(),
    "sqrt_abs": lambda lib, x: (x.abs() + 0.5).sqrt(),
    "rsqrt_abs": lambda lib, x: (x * x + 1.0).rsqrt(),
    "sin": lambda lib, x: x.sin(),
    "cos": lambda lib, x: x.cos(),
    "tanh": lambda lib, x: x.tanh(),
    "sigmoid": lambda lib, x: x.sigmoid(),
    "relu": lambda lib, x: x.relu(),
    "abs": lambda lib, x: x.abs(),
    "clamp": lambda lib, x: x.clamp(-0.7, 0.9),
    "square": lambda lib, x: x**2,
    "scale": lambda lib, x: 0.5 * x + 0.25,
    "log1p": lambda lib, x: x.abs().log1p(),
    "softsign": lambda lib, x: x / (x.abs() + 1.0),
    "center_rows": lambda lib, x: x - x.mean(dim=1, keepdim=True),
    "normalize_cols": lambda lib, x: x / (x.norm(dim=0, keepdim=True) + 1.0),
    "std_rows": lambda lib, x: x * x.std(dim=1, keepdim=True),
    "max_rows": lambda lib, x: x - x.amax(dim=1, keepdim=True),
    "flip_roll": lambda lib, x: x.flip(1).roll(1, dims=0),
    "transpose_twice": lambda lib, x: x.t().contiguous().t() * 1.5,
    "gram": lambda lib, x: (x @ x.t()) @ x * 0.1,
    "select_rows": lambda lib, x: x[[2, 0, 1, 2]][:3] + x[1:2],
    "cat_halves": lambda lib, x: lib.cat([x[:, 2:], x[:, :2]], dim=1),
    "lse_rows": lambda lib, x: x + x.logsumexp(1, keepdim=True),
    "inplace_relu": lambda lib, x: (x * 1.0).relu_(),
}
BINARY = {
    "add": lambda lib, x, y: x + y,
    "sub": lambda lib, x, y: x - y,
    "mul": lambda lib, x, y: x * y,
    "div": lambda lib, x, y: x / (y.abs() + 1.0),
    "maximum": lambda lib, x, y: lib.maximum(x, y),
    "minimum": lambda lib, x, y: lib.minimum(x, y),
    "where": lambda lib, x, y: lib.where(x > y, x, y * 0.5),
    "matmul": lambda lib, x, y: x @ y.t() @ x * 0.2,
    "stack_mean": lambda lib, x, y: lib.stack([x, y]).mean(dim=0),
    "einsum": lambda lib, x, y: lib.einsum("ij,kj->ik", x, y) @ y * 0.2,
}
# Shapes of the second input (broadcast against (3, 4)).
_PARTNER_SHAPES = [(3, 4), (4,), (3, 1), (1, 4), ()]


def _random_program(seed):
    """A list of steps; each applies a unary op to a value or a binary op to two values."""
    rng = np.random.default_rng(seed)
    steps = []
    n_values = 2
    for _ in range(int(rng.integers(3, 8))):
        if rng.random() < 0.55:
            steps.append(("unary", str(rng.choice(sorted(UNARY))), int(rng.integers(n_values))))
        else:
            steps.append(
                (
                    "binary",
                    str(rng.choice(sorted(BINARY))),
                    int(rng.integers(n_values)),
                    int(rng.integers(n_values)),
                )
            )
        n_values += 1
    return steps


def _program_fn(steps):
    def run(lib, a, b, c):
        values = [a, b + c[0]]  # b broadcasts to (3, 4); every value is (3, 4)
        for step in steps:
            if step[0] == "unary":
                values.append(UNARY[step[1]](lib, values[step[2]]))
            else:
                x, y = values[step[2]], values[step[3]]
                values.append(BINARY[step[1]](lib, x, y + c[1]))
        return values[-1]

    return run


@pytest.mark.parametrize("seed", range(30))
def test_random_program(seed):
    rng = np.random.default_rng(1000 + seed)
    partner = _PARTNER_SHAPES[seed % len(_PARTNER_SHAPES)]
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(partner).astype(np.float32)
    c = rng.standard_normal((2, 3, 4)).astype(np.float32)
    steps = _random_program(seed)
    check(_program_fn(steps), a, b, c, seed=seed)
