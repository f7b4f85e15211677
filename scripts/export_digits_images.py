"""Write scikit-learn's 8×8 digits as an image folder: real data for ``dataset: image_folder``, offline.

    python scripts/export_digits_images.py data/digits_images [--test-fraction 0.25] [--seed 0]

Writes ``<folder>/train/<digit>/<index>.png`` and ``<folder>/test/<digit>/<index>.png``: a seeded split of
the 1797 digits (needs scikit-learn and Pillow). Each pixel value v in 0..16 becomes the gray level
round(v × 255 / 16) of an 8×8 PNG file. The digits are scikit-learn's copy of the UCI "Optical Recognition of
Handwritten Digits" test set; nothing is downloaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def digit_levels(images: np.ndarray) -> np.ndarray:
    """The uint8 gray levels the exported PNG files hold for digits pixels ``images`` (values 0..16)."""
    return np.round(np.asarray(images, dtype=np.float64) * 255 / 16).astype(np.uint8)


def export_digits(
    root: Path, test_fraction: float = 0.25, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write the folder; return ``{split: (levels (N, 1, 8, 8), labels (N,))}`` in the order an image folder
    reads them (class folders sorted, then file names sorted)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    levels, labels = digit_levels(digits.images), digits.target
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = round(len(labels) * test_fraction)
    expected = {}
    for split, rows in (("test", order[:n_test]), ("train", order[n_test:])):
        rows = sorted(rows, key=lambda row: (labels[row], row))
        for row in rows:
            folder = Path(root) / split / str(labels[row])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(levels[row]).save(folder / f"{row:04d}.png")
        expected[split] = (levels[rows][:, None], labels[rows])
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.folder.exists() and any(args.folder.iterdir()):
        parser.error(f"{args.folder} is not empty; give a new folder")
    written = export_digits(args.folder, args.test_fraction, args.seed)
    counts = f"{len(written['train'][1])} training and {len(written['test'][1])} test images"
    print(f"wrote {counts} to {args.folder}")


if __name__ == "__main__":
    main()
