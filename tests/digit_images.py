"""scikit-learn's 8×8 digits written as an image folder at test time (never committed): each pixel's value
v in 0..16 becomes the gray level round(v × 255 / 16) of an 8×8 PNG file (mode L)."""

import numpy as np


def digit_levels(images):
    """The uint8 gray levels the exported PNG files hold for digits pixels ``images`` (values 0..16)."""
    return np.round(np.asarray(images, dtype=np.float64) * 255 / 16).astype(np.uint8)


def export_digits(root, test_fraction=0.25, seed=0):
    """Write ``root/train/<digit>/<index>.png`` and ``root/test/<digit>/<index>.png`` (a seeded split of the
    1797 digits); return ``{split: (levels (N, 1, 8, 8), labels (N,))}`` in the order an image folder reads
    them (class folders sorted, files sorted within each)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    levels, labels = digit_levels(digits.images), digits.target
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = round(len(labels) * test_fraction)
    expected = {}
    for split, rows in (("test", order[:n_test]), ("train", order[n_test:])):
        rows = sorted(rows, key=lambda row: (labels[row], row))  # sorted folders, then sorted file names
        for row in rows:
            folder = root / split / str(labels[row])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(levels[row]).save(folder / f"{row:04d}.png")
        expected[split] = (levels[rows][:, None], labels[rows])
    return expected
