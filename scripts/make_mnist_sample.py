"""Build ``src/nnrun/data/_embedded/mnist_sample.npz``: a class-balanced, seeded subset of real MNIST.

    python scripts/make_mnist_sample.py [--mnist ../shared/data/mnist]

600 training images per class (6,000) and 100 test images per class (1,000), uint8, in their original
order, with the indices they have in the full MNIST splits. The archive is written with fixed timestamps
so the same input gives the same bytes. Checks the MD5 of the decompressed source files first.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from nnrun.data import read_idx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "mnist"
TARGET = ROOT / "src" / "nnrun" / "data" / "_embedded" / "mnist_sample.npz"
SEED = 20240601
PER_CLASS = {"train": 600, "test": 100}
PREFIX = {"train": "train", "test": "t10k"}
# MD5 of the original (decompressed) MNIST IDX files
CONTENT_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def read_checked(folder: Path, name: str) -> np.ndarray:
    path = next(p for p in (folder / f"{name}.gz", folder / name) if p.is_file())
    array = read_idx(path)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    digest = hashlib.md5(header + array.tobytes(), usedforsecurity=False).hexdigest()
    if digest != CONTENT_MD5[name]:
        raise SystemExit(f"{path}: content MD5 {digest} is not the original MNIST's {CONTENT_MD5[name]}")
    return array


def balanced_subset(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` indices of each class, drawn without replacement, returned in ascending order."""
    chosen = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(chosen))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``np.load``-able ``.npz`` with fixed timestamps (``np.savez_compressed`` stamps the time)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mnist", type=Path, default=DEFAULT_SOURCE, help="folder with the MNIST IDX files")
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    arrays = {}
    for split in ("train", "test"):
        images = read_checked(args.mnist, f"{PREFIX[split]}-images-idx3-ubyte")
        labels = read_checked(args.mnist, f"{PREFIX[split]}-labels-idx1-ubyte")
        index = balanced_subset(labels, PER_CLASS[split], rng)
        arrays[f"x_{split}"] = images[index]
        arrays[f"y_{split}"] = labels[index]
        arrays[f"index_{split}"] = index.astype(np.int32)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(args.out, arrays)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out}: {args.out.stat().st_size:,} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
