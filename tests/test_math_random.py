"""Random fills and sampling functions: reproducible under ``manual_seed`` and ``generator=``, the right
distribution (moments and ranges checked on large samples with fixed seeds and loose bounds), torch's errors
for bad arguments, and torch's autograd behaviour (zero gradients; a leaf that requires grad is refused)."""

import numpy as np
import pytest

import nnrun

N = 200_000


def _moments(t):
    values = t.double().numpy()
    return values.mean(), values.std()


@pytest.mark.parametrize("dtype", [nnrun.float32, nnrun.float64])
def test_normal_uniform_exponential_moments(dtype):
    nnrun.manual_seed(0)
    x = nnrun.empty(N, dtype=dtype)
    mean, std = _moments(x.normal_(1.5, 2.0))
    assert abs(mean - 1.5) < 0.03 and abs(std - 2.0) < 0.03
    assert x.dtype == dtype
    x.uniform_(-2.0, 3.0)
    values = x.numpy()
    assert values.min() >= -2.0 and values.max() < 3.0
    assert abs(values.mean() - 0.5) < 0.03 and abs(values.std() - 5 / 12**0.5) < 0.03
    mean, std = _moments(x.exponential_(4.0))
    assert x.numpy().min() >= 0 and abs(mean - 0.25) < 0.005 and abs(std - 0.25) < 0.005
    mean, _ = _moments(x.log_normal_(0.0, 0.5))
    assert abs(mean - np.exp(0.125)) < 0.01
    median = np.median(x.cauchy_(2.0, 0.5).numpy())
    assert abs(median - 2.0) < 0.02


def test_uniform_from_keyword_and_defaults():
    x = nnrun.empty(1000).uniform_(**{"from": 5.0, "to": 6.0})
    assert x.min().item() >= 5.0 and x.max().item() < 6.0
    assert nnrun.empty(1000).uniform_().min().item() >= 0.0


def test_bernoulli_geometric_random_moments():
    nnrun.manual_seed(1)
    x = nnrun.empty(N)
    values = x.bernoulli_(0.3).numpy()
    assert set(np.unique(values)) <= {0.0, 1.0} and abs(values.mean() - 0.3) < 0.01
    p = nnrun.tensor([0.1, 0.9]).repeat(N // 2)
    values = x.bernoulli_(p).numpy()
    assert abs(values[0::2].mean() - 0.1) < 0.01 and abs(values[1::2].mean() - 0.9) < 0.01
    values = nnrun.zeros(N, dtype=nnrun.int64).geometric_(0.25).numpy()
    assert values.min() >= 1 and abs(values.mean() - 4.0) < 0.1
    values = nnrun.zeros(N, dtype=nnrun.int64).random_(-3, 5).numpy()
    assert values.min() == -3 and values.max() == 4 and abs(values.mean() - 0.5) < 0.05
    values = nnrun.zeros(N).random_(7).numpy()
    assert set(np.unique(values)) == set(range(7))
    values = nnrun.zeros(N, dtype=nnrun.uint8).random_().numpy()
    assert values.min() == 0 and values.max() == 255
    values = nnrun.zeros(1000, dtype=nnrun.float32).random_().numpy()
    assert values.min() >= 0 and values.max() <= 2**24 and np.all(values == np.round(values))
    assert set(np.unique(nnrun.zeros(100, dtype=nnrun.bool).random_().numpy())) == {False, True}


def test_normal_overloads():
    nnrun.manual_seed(2)
    mean = nnrun.tensor([-10.0, 0.0, 10.0]).repeat(N // 3).reshape(-1, 3)
    samples = nnrun.normal(mean, nnrun.tensor([0.1, 1.0, 3.0])).numpy()
    assert samples.shape == (N // 3, 3)
    np.testing.assert_allclose(samples.mean(0), [-10, 0, 10], atol=0.05)
    np.testing.assert_allclose(samples.std(0), [0.1, 1.0, 3.0], rtol=0.02)
    samples = nnrun.normal(mean, 2.0).numpy()
    np.testing.assert_allclose(samples.std(0), [2.0] * 3, rtol=0.02)
    samples = nnrun.normal(5.0, nnrun.ones(N) * 0.5).numpy()
    assert abs(samples.mean() - 5.0) < 0.01 and abs(samples.std() - 0.5) < 0.01
    t = nnrun.normal(1.0, 2.0, (2, 3), dtype=nnrun.float64)
    assert t.shape == (2, 3) and t.dtype == nnrun.float64
    t = nnrun.normal(1.0, 2.0, size=(4,))
    assert t.dtype == nnrun.float32


def test_bernoulli_poisson_randint_like():
    nnrun.manual_seed(3)
    probs = nnrun.tensor([0.2, 0.7], dtype=nnrun.float64).repeat(N // 2)
    draws = nnrun.bernoulli(probs)
    assert draws.dtype == nnrun.float64
    values = draws.numpy()
    assert abs(values[0::2].mean() - 0.2) < 0.01 and abs(values[1::2].mean() - 0.7) < 0.01
    assert abs(probs.bernoulli(0.5).numpy().mean() - 0.5) < 0.01
    rates = nnrun.tensor([0.5, 4.0]).repeat(N // 2)
    values = nnrun.poisson(rates).numpy()
    assert np.all(values == np.round(values))
    np.testing.assert_allclose([values[0::2].mean(), values[1::2].var()], [0.5, 4.0], rtol=0.03)
    like = nnrun.randint_like(nnrun.zeros(N, dtype=nnrun.float64), 3, 9)
    assert like.dtype == nnrun.float64 and like.min().item() == 3 and like.max().item() == 8
    assert nnrun.randint_like(nnrun.zeros(10, dtype=nnrun.int32), 4).dtype == nnrun.int32


def test_multinomial_frequencies():
    nnrun.manual_seed(4)
    weights = nnrun.tensor([[1.0, 2.0, 7.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    draws = nnrun.multinomial(weights, 50_000, replacement=True)
    assert draws.dtype == nnrun.int64 and draws.shape == (2, 50_000)
    counts = np.stack([np.bincount(row, minlength=4) for row in draws.numpy()]) / 50_000
    np.testing.assert_allclose(counts, [[0.1, 0.2, 0.7, 0.0], [0.0, 0.0, 0.5, 0.5]], atol=0.01)
    # without replacement: distinct categories; the first draw follows the weights
    rows = nnrun.tensor([1.0, 2.0, 7.0]).expand(20_000, 3).contiguous()
    draws = rows.multinomial(3).numpy()
    assert np.all(np.sort(draws, axis=1) == [0, 1, 2])
    first = np.bincount(draws[:, 0], minlength=3) / 20_000
    np.testing.assert_allclose(first, [0.1, 0.2, 0.7], atol=0.015)
    # second draw given the first was category 2: 1/3 and 2/3
    second = draws[draws[:, 0] == 2, 1]
    assert abs((second == 1).mean() - 2 / 3) < 0.02
    assert nnrun.multinomial(nnrun.tensor([0.0, 5.0]), 1).item() == 1


@pytest.mark.parametrize(
    "draw",
    [
        lambda g: nnrun.empty(5).normal_(generator=g),
        lambda g: nnrun.empty(5).uniform_(generator=g),
        lambda g: nnrun.empty(5).exponential_(generator=g),
        lambda g: nnrun.empty(5).bernoulli_(0.5, generator=g),
        lambda g: nnrun.empty(5).random_(100, generator=g),
        lambda g: nnrun.empty(5).geometric_(0.3, generator=g),
        lambda g: nnrun.normal(nnrun.zeros(5), 1.0, generator=g),
        lambda g: nnrun.multinomial(nnrun.ones(5), 3, generator=g),
        lambda g: nnrun.multinomial(nnrun.ones(5), 3, True, generator=g),
        lambda g: nnrun.poisson(nnrun.ones(5), generator=g),
        lambda g: nnrun.bernoulli(nnrun.ones(5) * 0.5, generator=g),
        lambda g: nnrun.randint_like(nnrun.ones(5), 10, generator=g),
    ],
)
def test_reproducible(draw):
    """The same seed gives the same values, from ``manual_seed`` and from a ``Generator``."""
    nnrun.manual_seed(7)
    first = draw(None).numpy()
    nnrun.manual_seed(7)
    assert np.array_equal(draw(None).numpy(), first)
    g = nnrun.Generator().manual_seed(11)
    second = draw(g).numpy()
    assert np.array_equal(draw(nnrun.Generator().manual_seed(11)).numpy(), second)


torch_errors = [
    (lambda lib: lib.zeros(3, dtype=lib.long).normal_(), NotImplementedError),
    (lambda lib: lib.zeros(3, dtype=lib.long).uniform_(), NotImplementedError),
    (lambda lib: lib.zeros(3).normal_(0, -1), RuntimeError),
    (lambda lib: lib.zeros(3).uniform_(2, 1), RuntimeError),
    (lambda lib: lib.zeros(3).exponential_(0), RuntimeError),
    (lambda lib: lib.zeros(3, dtype=lib.long).exponential_(), RuntimeError),
    (lambda lib: lib.zeros(3).bernoulli_(2), RuntimeError),
    (lambda lib: lib.zeros(3).geometric_(1), RuntimeError),
    (lambda lib: lib.zeros(3).random_(5, 2), RuntimeError),
    (lambda lib: lib.zeros(3, dtype=lib.uint8).random_(-1, 3), RuntimeError),
    (lambda lib: lib.zeros(3, dtype=lib.uint8).random_(0, 300), RuntimeError),
    (lambda lib: lib.multinomial(lib.tensor([1.0, 1.0]), 3), RuntimeError),
    (lambda lib: lib.multinomial(lib.tensor([-1.0, 1.0]), 1), RuntimeError),
    (lambda lib: lib.multinomial(lib.zeros(2, 2, 2), 1), RuntimeError),
    (lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1), RuntimeError),
    (lambda lib: lib.multinomial(lib.tensor([1.0, 1.0]), 0), RuntimeError),
    (lambda lib: lib.multinomial(lib.tensor([1, 2]), 1), RuntimeError),
    (lambda lib: lib.bernoulli(lib.tensor([2.0])), RuntimeError),
    (lambda lib: lib.poisson(lib.tensor([-1.0])), RuntimeError),
    (lambda lib: lib.normal(0.0, 1.0), TypeError),
    (lambda lib: lib.normal(lib.zeros(2), lib.ones(3)), RuntimeError),
    (lambda lib: lib.ones(2, requires_grad=True).normal_(), RuntimeError),
]


@pytest.mark.parametrize(("call", "error"), torch_errors)
def test_errors_match_torch(call, error):
    torch = pytest.importorskip("torch")
    with pytest.raises(error) as torch_error:
        call(torch)
    with pytest.raises(error) as nnrun_error:
        call(nnrun)
    assert str(nnrun_error.value).split()[:2] == str(torch_error.value).split()[:2]


def test_autograd_as_torch():
    """A fill on a non-leaf records a node with a zero gradient; ``normal``'s gradient is zero too."""
    x = nnrun.ones(3, requires_grad=True)
    y = x * 2
    y.normal_()
    assert y.requires_grad
    (y * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # only the path through the product
    mean = nnrun.zeros(3, requires_grad=True)
    std = nnrun.ones(3, requires_grad=True)
    out = nnrun.normal(mean, std)
    assert out.requires_grad
    out.sum().backward()
    assert mean.grad.tolist() == [0.0, 0.0, 0.0] and std.grad.tolist() == [0.0, 0.0, 0.0]
    with nnrun.no_grad():
        w = nnrun.ones(2, requires_grad=True)
        assert w.uniform_(-1, 1) is w and w.requires_grad and w.grad_fn is None
