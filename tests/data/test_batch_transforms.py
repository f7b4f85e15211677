"""Batch transforms: Normalize values, RandomCrop/RandomHorizontalFlip geometry and determinism."""

import numpy as np
import pytest

from nnrun.data import transforms
from nnrun.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip


def batch(n=6, c=2, h=5, w=7, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w), dtype=np.float32)


def test_normalize_per_channel_matches_torchvision_formula():
    x = batch()
    out = Normalize([0.5, 0.25], [0.2, 0.4])(x, None)
    expected = (x - np.array([0.5, 0.25])[None, :, None, None]) / np.array([0.2, 0.4])[None, :, None, None]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_normalize_single_value_and_torch_parity():
    torch = pytest.importorskip("torch")
    x = batch(c=1)
    out = Normalize([0.1307], [0.3081])(x, None)
    expected = (torch.from_numpy(x) - 0.1307) / 0.3081
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-6)
    assert Normalize(0.5, 0.5)(np.ones((2, 3), dtype=np.float32), None).tolist() == [[1.0] * 3] * 2


@pytest.mark.parametrize(
    ("mean", "std", "match"),
    [
        ([0.1, 0.2], [0.3], "equal-length"),
        ([0.1], [0.0], "division by zero"),
    ],
)
def test_normalize_validation(mean, std, match):
    with pytest.raises(ValueError, match=match):
        Normalize(mean, std)


def test_normalize_channel_mismatch():
    with pytest.raises(ValueError, match="Normalize has 2 channels, the batch 3"):
        Normalize([0.1, 0.2], [1, 1])(batch(c=3), None)


def test_random_crop_geometry_and_determinism():
    x = batch(n=8, h=6, w=6)
    crop = RandomCrop(6, padding=2)
    out = crop(x, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, crop(x, np.random.default_rng(1)))
    assert not np.array_equal(out, crop(x, np.random.default_rng(2)))
    # each output is a 6x6 window of its zero-padded image at offsets drawn from the same rng
    rng = np.random.default_rng(1)
    top, left = rng.integers(0, 5, size=8), rng.integers(0, 5, size=8)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for i in range(8):
        np.testing.assert_array_equal(out[i], padded[i, :, top[i] : top[i] + 6, left[i] : left[i] + 6])


def test_random_crop_without_padding_to_smaller_size():
    x = batch(n=3, h=5, w=7)
    out = RandomCrop((3, 4))(x, np.random.default_rng(0))
    assert out.shape == (3, 2, 3, 4)
    for i in range(3):  # the window appears somewhere in the source image
        windows = np.lib.stride_tricks.sliding_window_view(x[i], (3, 4), axis=(1, 2))
        assert any(np.array_equal(out[i], windows[:, r, c]) for r in range(3) for c in range(4))


def test_random_crop_errors():
    with pytest.raises(ValueError, match="larger than the padded image"):
        RandomCrop(9)(batch(h=5, w=7), np.random.default_rng(0))
    with pytest.raises(ValueError, match="expects images"):
        RandomCrop(2)(np.zeros((3, 4), dtype=np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError, match="padding"):
        RandomCrop(2, padding=-1)


def test_horizontal_flip_mirrors_the_chosen_images():
    x = batch(n=50)
    out = RandomHorizontalFlip(0.5)(x, np.random.default_rng(3))
    chosen = np.random.default_rng(3).random(50) < 0.5
    np.testing.assert_array_equal(out[chosen], x[chosen, :, :, ::-1])
    np.testing.assert_array_equal(out[~chosen], x[~chosen])
    assert 0 < chosen.sum() < 50
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x, np.random.default_rng(0)), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(x, np.random.default_rng(0)), x)
    with pytest.raises(ValueError, match="probability"):
        RandomHorizontalFlip(1.5)


def test_compose_runs_in_order_with_one_rng():
    x = batch()
    pipeline = Compose([RandomCrop(5, padding=1), RandomHorizontalFlip(), Normalize(0.5, 0.5)])
    np.testing.assert_array_equal(
        pipeline(x, np.random.default_rng(4)), pipeline(x, np.random.default_rng(4))
    )
    rng = np.random.default_rng(4)
    by_hand = Normalize(0.5, 0.5)(RandomHorizontalFlip()(RandomCrop(5, padding=1)(x, rng), rng))
    np.testing.assert_array_equal(pipeline(x, np.random.default_rng(4)), by_hand)


def test_config_names():
    expected = {"normalize": Normalize, "random_crop": RandomCrop, "hflip": RandomHorizontalFlip}
    assert expected == transforms.TRANSFORMS.entries()
