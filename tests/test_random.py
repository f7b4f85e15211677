"""Random number generation: seeding, explicit generators and saving/restoring RNG state."""

import pytest

import nnrun


@pytest.fixture(autouse=True)
def restore_default_rng():
    state = nnrun.get_rng_state()
    yield
    nnrun.set_rng_state(state)


def _draws(generator=None):
    return (
        nnrun.rand(3, generator=generator).tolist(),
        nnrun.randn(2, 2, generator=generator).tolist(),
        nnrun.randint(0, 100, (4,), generator=generator).tolist(),
        nnrun.randperm(6, generator=generator).tolist(),
    )


def test_manual_seed_makes_draws_reproducible():
    nnrun.manual_seed(1234)
    first = _draws()
    nnrun.manual_seed(1234)
    assert _draws() == first
    nnrun.manual_seed(1235)
    assert _draws() != first


def test_manual_seed_returns_the_default_generator_and_sets_initial_seed():
    generator = nnrun.manual_seed(7)
    assert generator is nnrun.default_generator
    assert nnrun.initial_seed() == 7


def test_consecutive_draws_differ():
    nnrun.manual_seed(0)
    assert nnrun.rand(5).tolist() != nnrun.rand(5).tolist()


def test_rand_like_and_randn_like_follow_the_seed():
    base = nnrun.zeros(2, 3)
    nnrun.manual_seed(3)
    a = (nnrun.rand_like(base).tolist(), nnrun.randn_like(base).tolist())
    nnrun.manual_seed(3)
    assert (nnrun.rand_like(base).tolist(), nnrun.randn_like(base).tolist()) == a


def test_explicit_generator_is_independent_of_the_default():
    g = nnrun.Generator().manual_seed(42)
    expected = _draws(g)
    nnrun.manual_seed(0)
    g.manual_seed(42)
    nnrun.rand(10)  # consuming the default generator must not affect g
    assert _draws(g) == expected
    nnrun.manual_seed(42)
    assert _draws() == expected  # same algorithm and seed as the default generator


def test_explicit_generator_does_not_advance_the_default():
    nnrun.manual_seed(5)
    expected = nnrun.rand(4).tolist()
    nnrun.manual_seed(5)
    _draws(nnrun.Generator().manual_seed(1))
    assert nnrun.rand(4).tolist() == expected


def test_generator_seed_and_initial_seed():
    g = nnrun.Generator()
    chosen = g.seed()
    assert g.initial_seed() == chosen
    assert g.manual_seed(99).initial_seed() == 99
    assert g.device == nnrun.device("cpu")


def test_generator_state_round_trip():
    g = nnrun.Generator().manual_seed(11)
    nnrun.rand(3, generator=g)
    state = g.get_state()
    assert state.dtype == nnrun.uint8 and state.dim() == 1
    expected = _draws(g)
    g.set_state(state)
    assert _draws(g) == expected
    other = nnrun.Generator().set_state(state)
    assert _draws(other) == expected


def test_get_state_is_a_snapshot():
    g = nnrun.Generator().manual_seed(2)
    state = g.get_state()
    snapshot = state.tolist()
    nnrun.rand(5, generator=g)
    assert state.tolist() == snapshot
    assert g.get_state().tolist() != snapshot


def test_global_rng_state_round_trip():
    nnrun.manual_seed(21)
    nnrun.randn(7)
    state = nnrun.get_rng_state()
    expected = _draws()
    nnrun.set_rng_state(state)
    assert _draws() == expected


def test_set_state_rejects_malformed_state():
    with pytest.raises(RuntimeError, match="RNG state"):
        nnrun.set_rng_state(nnrun.zeros(3, dtype=nnrun.uint8))
