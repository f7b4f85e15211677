"""Export real datasets that ship inside scikit-learn as the files nnrun's example configs read.

    python scripts/export_sklearn_data.py [OUT_DIR]        (default: data/sklearn)

Nothing is downloaded: scikit-learn installs these tables and images with itself. Written under OUT_DIR:

- ``diabetes.csv``: 442 patients, 10 baseline measurements (age, sex, bmi, bp, s1…s6, as scikit-learn scales
  them) and ``progression``, a measure of the disease one year later (regression).
- ``breast_cancer.csv``: 569 tumours, 30 measurements and ``diagnosis``: ``malignant`` or ``benign`` (binary).
- ``wine.csv``: 178 wines, 13 chemical measurements and ``cultivar`` (``class_0``…``class_2``, classification).
- ``iris.csv``: 150 flowers, 4 measurements and ``species`` (classification).
- ``digits/train/<digit>/*.png`` and ``digits/test/<digit>/*.png``: the 1,797 8×8 grey images of
  handwritten digits (each value v in 0..16 becomes the gray level round(v × 255 / 16)), a seeded quarter of
  them held out as test images (1,348 training and 449 test images).
- ``digits_multilabel.csv``: the same images as 64 pixel columns (0..16) with three labels derived from
  each image's digit, ``even``, ``large`` (5 and above) and ``prime`` (multilabel).

The files are written the same way every time (fixed seed, row order as scikit-learn gives it). The tests
export them under a temporary folder with these functions; the data is scikit-learn's, never committed here.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

SEED = 0
TEST_FRACTION = 0.25
PRIMES = (2, 3, 5, 7)


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError:
        sys.exit("this script reads the datasets bundled with scikit-learn: pip install scikit-learn")
    return datasets


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


def _table(path: Path, bunch, target: str, names: list[str] | None) -> None:
    """``bunch``'s features and its target column (the class names when ``names`` is given)."""
    labels = [names[int(y)] for y in bunch.target] if names else [repr(float(y)) for y in bunch.target]
    features = [name.replace(" ", "_") for name in bunch.feature_names]
    rows = [[repr(float(v)) for v in x] + [label] for x, label in zip(bunch.data, labels)]
    _write_csv(path, [*features, target], rows)


def export_tables(out: Path) -> list[Path]:
    """The four tables; returns their paths."""
    datasets = _sklearn_datasets()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, loader, target, named in (
        ("diabetes", datasets.load_diabetes, "progression", False),
        ("breast_cancer", datasets.load_breast_cancer, "diagnosis", True),
        ("wine", datasets.load_wine, "cultivar", True),
        ("iris", datasets.load_iris, "species", True),
    ):
        bunch = loader()
        path = out / f"{name}.csv"
        _table(path, bunch, target, list(bunch.target_names) if named else None)
        written.append(path)
    return written


def digit_levels(images: np.ndarray) -> np.ndarray:
    """The uint8 gray levels the exported PNG files hold for digits pixels ``images`` (values 0..16)."""
    return np.round(np.asarray(images, dtype=np.float64) * 255 / 16).astype(np.uint8)


def export_digits(
    root: Path, test_fraction: float = TEST_FRACTION, seed: int = SEED
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The digits as an image folder under ``root`` (``train/`` and ``test/``, one folder per digit, a
    seeded ``test_fraction`` of the images held out); returns ``{split: (levels (N, 1, 8, 8), labels (N,))}``
    in the order an image folder reads them (class folders sorted, then file names sorted)."""
    try:
        from PIL import Image
    except ImportError:
        sys.exit("writing the digits as PNG images needs Pillow: pip install Pillow")
    digits = _sklearn_datasets().load_digits()
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


def export_digits_multilabel(out: Path) -> Path:
    """The digits as a table of 64 pixels and three 0/1 labels derived from each digit."""
    bunch = _sklearn_datasets().load_digits()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "digits_multilabel.csv"
    header = [f"pixel_{i}" for i in range(64)] + ["even", "large", "prime"]
    rows = [
        [int(v) for v in x] + [int(d % 2 == 0), int(d >= 5), int(d in PRIMES)]
        for x, d in zip(bunch.data, bunch.target)
    ]
    _write_csv(path, header, rows)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default="data/sklearn", help="folder to write into")
    out = Path(parser.parse_args().out)
    export_digits(out / "digits")
    for path in [*export_tables(out), out / "digits", export_digits_multilabel(out)]:
        print(path)


if __name__ == "__main__":
    main()
