"""Small, often used torch APIs, each run in torch and in nnrun with the same code and compared."""

import warnings
from math import erf, exp, pi, sqrt

import numpy as np
import pytest

import nnrun

torch = pytest.importorskip("torch")


def _both(program):
    return program(torch), program(nnrun)


def _same(program):
    theirs, ours = _both(program)
    assert ours == theirs


# ----- flags and seeds that scripts set -----
def test_backend_flags_are_settable_and_answer_as_on_a_machine_without_cudnn_or_mps():
    def program(t):
        cudnn = t.backends.cudnn
        saved = (cudnn.deterministic, cudnn.benchmark)
        cudnn.deterministic, cudnn.benchmark = True, False
        flags = (cudnn.deterministic, cudnn.benchmark, cudnn.enabled)
        cudnn.deterministic, cudnn.benchmark = saved
        return (
            flags,
            t.backends.mps.is_available(),
            t.backends.mps.is_built(),
            type(t.backends.cuda.matmul.allow_tf32),
        )

    _same(program)
    assert nnrun.backends.cudnn.is_available() is False and nnrun.backends.cudnn.version() is None


def test_cuda_seeds_return_none_and_are_ignored_without_a_gpu():
    _same(lambda t: (t.cuda.manual_seed(3), t.cuda.manual_seed_all(3)))
    if not nnrun.cuda.is_available():
        nnrun.manual_seed(0)
        first = nnrun.rand(3).tolist()
        nnrun.manual_seed(0)
        nnrun.cuda.manual_seed_all(5)  # the CPU stream is not the GPU's: unchanged
        assert nnrun.rand(3).tolist() == first


# ----- grad modes -----
def test_no_grad_and_enable_grad_decorate_with_or_without_parentheses():
    def program(t):
        @t.no_grad
        def bare(a):
            return (a * 2).requires_grad

        @t.no_grad()
        def called(a):
            return (a * 2).requires_grad

        @t.enable_grad
        def enabled(a):
            return (a * 2).requires_grad

        a = t.ones(2, requires_grad=True)
        with t.no_grad():
            inside = enabled(a)
        return bare(a), called(a), inside, t.is_grad_enabled()

    _same(program)


def test_inference_mode_as_context_and_decorator():
    def program(t):
        a = t.ones(2, requires_grad=True)
        with t.inference_mode():
            inside = (a * 2).requires_grad
        with t.inference_mode(False):
            off = (a * 2).requires_grad

        @t.inference_mode()
        def called(x):
            return (x * 2).requires_grad

        @t.inference_mode
        def bare(x):
            return (x * 2).requires_grad

        return inside, off, called(a), bare(a), t.is_grad_enabled(), (a * 2).requires_grad

    _same(program)


def test_set_grad_enabled():
    def program(t):
        a = t.ones(2, requires_grad=True)
        with t.set_grad_enabled(False):
            off = (a * 2).requires_grad
        t.set_grad_enabled(False)
        now = t.is_grad_enabled()
        t.set_grad_enabled(True)
        return off, now, t.is_grad_enabled()

    _same(program)


# ----- tensors -----
def test_tensor_basics():
    def program(t):
        x = t.tensor([[1.0, 2.0], [3.0, 4.0]])
        return (
            x[0, 0].item(),
            type(x.sum().item()).__name__,
            x.tolist(),
            type(x.numpy()).__name__,
            x.clone().tolist(),
            x.detach().requires_grad,
            x.t().contiguous().is_contiguous(),
            x.eq(t.tensor([[1.0, 0], [3, 0]])).sum().item(),
            t.is_tensor(x),
            t.is_tensor(1),
            t.numel(x),
            str(t.device("cpu")),
            repr(t.device("cpu")),
            t.device("cpu") == t.device("cpu"),
        )

    _same(program)


def test_creation_functions():
    def program(t):
        x = t.tensor([[1.0, 2.0], [3.0, 4.0]])
        return (
            t.from_numpy(np.arange(3)).tolist(),
            str(t.from_numpy(np.arange(3)).dtype).split(".")[1],
            t.as_tensor([1, 2]).tolist(),
            str(t.as_tensor(np.ones(2, np.float32)).dtype).split(".")[1],
            t.arange(5).tolist(),
            t.arange(0, 1, 0.25).tolist(),
            t.linspace(0, 1, 5).tolist(),
            t.eye(2, 3).tolist(),
            t.full((2,), 7).tolist(),
            str(t.full((2,), 7).dtype).split(".")[1],
            t.zeros_like(x).tolist(),
            t.ones_like(x, dtype=t.int64).tolist(),
            t.full_like(x, 3).tolist(),
            tuple(t.empty_like(x).shape),
            tuple(t.rand_like(x).shape),
            tuple(t.randn_like(x).shape),
        )

    _same(program)


def test_clamp_argmax_max_and_softmax_methods():
    def program(t):
        x = t.tensor([[1.0, 2.0], [4.0, 3.0]])
        return (
            t.clamp(x, 1.5, 3).tolist(),
            t.clip(x, max=2).tolist(),
            x.clamp(min=t.tensor(2.0)).tolist(),
            t.argmax(x).item(),
            t.argmax(x, dim=1, keepdim=True).tolist(),
            t.max(x, t.tensor([2.5, 2.5])).tolist(),
            t.max(x, 1).values.tolist(),
            t.max(x, 1)[1].tolist(),
            np.round(x.softmax(1).numpy(), 6).tolist(),
            np.round(x.log_softmax(dim=0).numpy(), 6).tolist(),
            np.round(t.softmax(x, 1).numpy(), 6).tolist(),
            np.round(t.log_softmax(x, dim=1, dtype=t.float64).numpy(), 12).tolist(),
        )

    _same(program)


def test_softmax_methods_gradients_match_torch():
    x = np.random.default_rng(0).standard_normal((3, 4))
    ours, theirs = nnrun.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours.softmax(1) * nnrun.arange(4.0)).sum().backward()
    (theirs.softmax(1) * torch.arange(4.0)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert nnrun.autograd.gradcheck(lambda a: a.log_softmax(0), (nnrun.tensor(x, requires_grad=True),))


# ----- init -----
@pytest.mark.parametrize(
    ("mean", "std", "a", "b"), [(0.0, 1.0, -2.0, 2.0), (1.0, 2.0, -1.0, 2.0), (0.0, 1.0, 5.0, 6.0)]
)
def test_trunc_normal_matches_torch_distribution(mean, std, a, b):
    nnrun.manual_seed(0)
    ours = nnrun.nn.init.trunc_normal_(nnrun.empty(50_000, dtype=nnrun.float64), mean, std, a, b).numpy()
    lo, hi = (a - mean) / std, (b - mean) / std
    # the moments of the truncated normal, from its closed form
    pdf = lambda z: exp(-z * z / 2) / sqrt(2 * pi)  # noqa: E731
    cdf = lambda z: (1 + erf(z / sqrt(2))) / 2  # noqa: E731
    mass = cdf(hi) - cdf(lo)
    expected_mean = mean + std * (pdf(lo) - pdf(hi)) / mass
    expected_var = std**2 * (1 + (lo * pdf(lo) - hi * pdf(hi)) / mass - ((pdf(lo) - pdf(hi)) / mass) ** 2)
    assert ours.min() >= a and ours.max() <= b
    assert abs(ours.mean() - expected_mean) < 4 * sqrt(expected_var / 50_000)
    assert abs(ours.var() / expected_var - 1) < 0.03
    with warnings.catch_warnings():  # torch warns where the mean lies far outside [a, b]
        warnings.simplefilter("ignore")
        theirs = torch.nn.init.trunc_normal_(
            torch.empty(50_000, dtype=torch.float64), mean, std, a, b
        ).numpy()
    assert abs(ours.mean() - theirs.mean()) < 8 * sqrt(expected_var / 50_000)


def test_trunc_normal_keeps_the_tensor_and_refuses_empty_bounds():
    w = nnrun.empty(3, 4)
    assert nnrun.nn.init.trunc_normal_(w) is w and w.dtype == nnrun.float32
    with pytest.raises(ValueError, match="a < b"):
        nnrun.nn.init.trunc_normal_(w, a=1.0, b=1.0)


def test_logspace():
    _same(
        lambda t: (
            t.logspace(0, 2, 3).tolist(),
            t.logspace(0, 3, 4, base=2).tolist(),
            t.logspace(0, 2, 3, dtype=t.int64).tolist(),
            str(t.logspace(-1, 1, 5).dtype).split(".")[1],
            np.round(t.logspace(-1, 1, 5, dtype=t.float64).numpy(), 12).tolist(),
        )
    )
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        nnrun.logspace(0, 1, -1)


# ----- modules and containers -----
def test_module_and_container_apis():
    def program(t):
        nn = t.nn
        t.manual_seed(0)
        m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        grown = nn.Sequential(nn.Linear(2, 3))
        grown.append(nn.Tanh())
        grown.insert(0, nn.Identity())
        grown.extend([nn.ReLU()])
        holder = nn.Module()
        holder.register_buffer("b", t.zeros(2))
        holder.register_buffer("nb", t.ones(1), persistent=False)
        seen = []
        m.apply(lambda x: seen.append(type(x).__name__))
        dtypes = [
            str(m.double()[0].weight.dtype),
            str(m.half()[0].weight.dtype),
            str(m.float()[0].weight.dtype),
        ]
        return (
            type(m[0]).__name__,
            type(m[-1]).__name__,
            repr(m[1:]),
            len(m),
            repr(grown),
            [n for n, _ in m.named_modules()],
            [type(c).__name__ for c in m.children()],
            [(n, tuple(p.shape)) for n, p in m.named_parameters()],
            ([n for n, _ in holder.named_buffers()], list(holder.state_dict())),
            seen,
            [d.split(".")[1] for d in dtypes],
            repr(nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])[1:]),
            list(nn.ModuleDict({"a": nn.ReLU(), "b": nn.Tanh()}).keys()),
            len(nn.ParameterList([nn.Parameter(t.zeros(2))])),
            list(nn.ParameterDict({"a": nn.Parameter(t.zeros(2))}).state_dict()),
            (
                repr(nn.Flatten()),
                repr(nn.Unflatten(1, (2, 2))),
                tuple(nn.Unflatten(1, (2, 2))(t.zeros(3, 4)).shape),
            ),
            (repr(nn.GELU("tanh")), repr(nn.LeakyReLU(0.2, True)), repr(nn.ELU()), repr(nn.LogSoftmax(1))),
            (repr(nn.GroupNorm(2, 4)), repr(nn.LayerNorm([4, 5], elementwise_affine=False))),
            (repr(nn.AdaptiveAvgPool2d((1, 1))), repr(nn.AdaptiveMaxPool2d(2))),
            (
                repr(nn.BCEWithLogitsLoss(pos_weight=t.ones(3))),
                list(nn.BCEWithLogitsLoss(pos_weight=t.ones(3)).state_dict()),
            ),
            t.nn.functional.one_hot(t.tensor([0, 2]), 3).tolist(),
        )

    _same(program)


def test_gradient_clipping():
    def program(t):
        p = t.nn.Parameter(t.ones(3))
        p.grad = t.tensor([3.0, 4.0, 0.0])
        total = t.nn.utils.clip_grad_norm_([p], 1.0)
        q = t.nn.Parameter(t.ones(2))
        q.grad = t.tensor([3.0, -4.0])
        t.nn.utils.clip_grad_value_([q], 1.0)
        return round(float(total), 6), [round(v, 6) for v in p.grad.tolist()], q.grad.tolist()

    _same(program)
