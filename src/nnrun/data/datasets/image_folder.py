"""``image_folder``: images sorted into one folder per class (torchvision's ImageFolder layout).

``root/<class>/<image>`` (class folders may hold subfolders), or ``root/train/<class>/…`` with
``root/test/<class>/…`` beside it. Class names sorted are the labels 0, 1, …; they, the decoding settings and
the decoded shape are the preprocessing saved with every checkpoint. Without ``train/``, ``test_split`` holds
out that fraction of each class's files (drawn with ``split_seed``) as the test split.

``cache: memory`` decodes every image once into a uint8 (N, C, H, W) array (an ``ArrayDataset``);
``cache: none`` keeps the file names and decodes each batch when it is drawn (:class:`ImageFiles`), for sets
larger than memory. Both give the same batches: float32 in [0, 1], then the config's transforms.

Names starting with ``.`` are skipped; any other file that is not an image, a file outside the class
folders, an empty class folder, a link that leads out of ``root`` and a file Pillow cannot read are each a
:class:`~nnrun.data.DatasetError` naming the file. Links to folders inside a class folder are not followed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from nnrun._memory import too_large
from nnrun.data.dataset import ArrayDataset, Dataset
from nnrun.data.datasets.images import IMAGE_EXTENSIONS, Decoding, decode, image_size, is_image_file
from nnrun.data.errors import DatasetError, OptionError
from nnrun.data.fitted import FittedSource, Inputs
from nnrun.data.tasks import Task
from nnrun.data.transforms import BatchTransform

CACHE_MODES = ("memory", "none")


def check_image_folder(
    size: Any = None,
    center_crop: Any = None,
    channels: Any = 3,
    cache: Any = "memory",
    test_split: Any = 0.0,
    split_seed: Any = 0,
) -> None:
    """Raise :class:`OptionError` for the first option value ``image_folder`` cannot use."""
    for name, value in (("size", size), ("center_crop", center_crop)):
        if value is not None and not (_positive_int(value) or _pair_of_sizes(value)):
            raise OptionError(name, f"{name} must be a positive int or [height, width], got {value!r}")
    if channels not in (1, 3) or isinstance(channels, bool):
        raise OptionError("channels", f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    if cache not in CACHE_MODES:
        raise OptionError("cache", f"cache must be memory or none, got {cache!r}")
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 <= test_split < 1:
        raise OptionError("test_split", f"test_split must be a fraction in [0, 1), got {test_split!r}")
    if isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
        raise OptionError("split_seed", f"split_seed must be a non-negative int, got {split_seed!r}")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _pair_of_sizes(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(map(_positive_int, value))


def load_image_folder(
    root: str | os.PathLike[str],
    split: str = "train",
    size: int | list[int] | None = None,
    center_crop: int | list[int] | None = None,
    channels: int = 3,
    cache: str = "memory",
    test_split: float = 0.0,
    split_seed: int = 0,
) -> ImageFolderSource:
    """The ``split`` ("train" or "test") of the image folder ``root``, to fit and prepare (see the module)."""
    check_image_folder(size, center_crop, channels, cache, test_split, split_seed)
    if split not in ("train", "test"):
        raise DatasetError(f"image_folder has the splits train and test, not {split!r}")
    folder = Path(root)
    if not folder.is_dir():
        raise DatasetError(f"image_folder root {folder} is not a folder of class folders.")
    options = {"size": size, "center_crop": center_crop, "channels": channels, "cache": cache}
    real_root = os.path.realpath(folder)
    if (folder / "train").is_dir():
        return _split_folders(folder, real_root, split, test_split, options)
    files, classes = _scan(folder, real_root)
    if test_split == 0 and split == "test":
        raise DatasetError(
            f"{folder} has no test/ folder: set data.options.test_split (e.g. 0.2) to hold out part of "
            "each class as the test split, or train.test: false."
        )
    held_out = _held_out(files, test_split, split_seed)
    chosen = [pair for pair, test in zip(files, held_out) if test == (split == "test")]
    return ImageFolderSource([path for path, _ in chosen], [name for _, name in chosen], classes, options)


def _split_folders(
    root: Path, real_root: str, split: str, test_split: float, options: dict[str, Any]
) -> ImageFolderSource:
    if (root / "val").exists():
        raise DatasetError(
            f"{root / 'val'}: validation images are drawn from train/ (data.val_split), so a val/ folder "
            "would be left unused; move its class folders' images into train/ or test/."
        )
    if test_split:
        raise OptionError(
            "test_split",
            f"{root} has train/ (and test/) folders, which already split the images; remove test_split",
        )
    folder = root / split
    if not folder.is_dir():
        raise DatasetError(
            f"{folder} does not exist: add a {split}/ folder laid out like train/ (one folder per class), "
            "or set train.test: false."
        )
    files, classes = _scan(folder, real_root)
    return ImageFolderSource([path for path, _ in files], [name for _, name in files], classes, options)


def _scan(folder: Path, real_root: str) -> tuple[list[tuple[str, str]], list[str]]:
    """``([(file, class name), …], sorted class names)`` of a folder of class folders."""
    classes = []
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        if entry.name.startswith("."):
            continue
        _check_inside(entry.path, real_root)
        if not entry.is_dir():
            raise DatasetError(
                f"{entry.path}: a file outside the class folders; {folder} holds one folder per class "
                f"({folder}/<class>/<image>)."
            )
        classes.append(entry.name)
    if not classes:
        raise DatasetError(f"{folder} has no class folders: put each class's images in {folder}/<class>/.")
    files = []
    for name in classes:
        found = _images_in(folder / name, real_root)
        if not found:
            raise DatasetError(
                f"{folder / name}: an empty class folder (no images); add images or remove the folder."
            )
        files += [(path, name) for path in found]
    return files, classes


def _images_in(folder: Path, real_root: str) -> list[str]:
    found = []
    for parent, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(names):
            path = os.path.join(parent, name)
            if name.startswith("."):
                continue
            if not is_image_file(name):
                raise DatasetError(
                    f"{path}: not an image file (image files end in {', '.join(IMAGE_EXTENSIONS)}); "
                    "move it out of the class folder."
                )
            _check_inside(path, real_root)
            found.append(path)
    return found


def _check_inside(path: str, real_root: str) -> None:
    target = os.path.realpath(path)
    if target != real_root and not target.startswith(real_root + os.sep):
        raise DatasetError(
            f"{path}: a link to {target}, outside the dataset folder {real_root}; image_folder reads only "
            "files inside root (copy the file in instead)."
        )


def _held_out(files: list[tuple[str, str]], fraction: float, seed: int) -> list[bool]:
    """Which files form the test split: ``round(fraction × n)`` of each class's n files (at most n - 1),
    drawn with ``seed``, class by class in sorted order."""
    held = [False] * len(files)
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = {}
    for i, (_, name) in enumerate(files):
        by_class.setdefault(name, []).append(i)
    for name in sorted(by_class):
        rows = by_class[name]
        count = min(round(len(rows) * fraction), len(rows) - 1)
        for j in rng.permutation(len(rows))[:count]:
            held[rows[j]] = True
    return held


class ImageFolderSource(FittedSource):
    """The image files of one split and their class folder names; ``classes``: the split's class folders."""

    def __init__(self, files: list[str], folders: list[str], classes: list[str], options: dict[str, Any]):
        self.files, self.folders, self.classes, self.options = files, folders, classes, options
        self._sizes: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self.files)

    def fit(self, rows: np.ndarray, task: Task) -> dict[str, Any]:
        """The class names (every class folder of the training split, sorted), the decoding settings and
        the shape (C, H, W) every image of ``rows`` decodes to."""
        decoding = Decoding.of(self.options)
        rows = rows if len(rows) else np.arange(len(self))
        shape = self._shapes(rows, decoding, None)
        size, crop = self.options["size"], self.options["center_crop"]
        return {
            "source": "image_folder",
            "classes": list(self.classes),
            "size": list(size) if isinstance(size, (list, tuple)) else size,
            "center_crop": list(crop) if isinstance(crop, (list, tuple)) else crop,
            "channels": decoding.channels,
            "shape": list(shape),
        }

    def prepare(
        self,
        rows: np.ndarray,
        preprocessing: dict[str, Any],
        task: Task,
        transform: BatchTransform | None = None,
    ) -> Dataset:
        """The images of ``rows`` decoded with ``preprocessing``, labelled by their class folder."""
        classes = _classes_of(preprocessing)
        index = {name: i for i, name in enumerate(classes)}
        labels = np.empty(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            name = self.folders[row]
            if name not in index:
                shown = ", ".join(classes[:10]) + (", …" if len(classes) > 10 else "")
                raise DatasetError(
                    f"{os.path.dirname(self.files[row])}: class {name!r} is not one of the training "
                    f"classes ({shown}); a model trained on them cannot be scored on it."
                )
            labels[i] = index[name]
        return self.encode(rows, task.targets(labels), preprocessing, transform)

    def encode(
        self,
        rows: np.ndarray,
        targets: np.ndarray,
        preprocessing: dict[str, Any],
        transform: BatchTransform | None,
    ) -> Dataset:
        """The images of ``rows`` with ``targets``: decoded now (``cache: memory``) or per batch."""
        decoding = Decoding.of(preprocessing)
        shape = self._shapes(rows, decoding, tuple(preprocessing["shape"]))
        paths = [self.files[row] for row in rows]
        if self.options.get("cache", "memory") == "none":
            return ImageFiles(paths, targets, decoding, shape, transform)
        nbytes = len(paths) * int(np.prod(shape))
        problem = too_large(nbytes)
        if problem:
            raise DatasetError(
                f"{len(paths)} images of shape {list(shape)} take {problem}; set data.options.cache: none "
                "to decode them batch by batch."
            )
        x = np.empty((len(paths), *shape), dtype=np.uint8)
        for i, path in enumerate(paths):
            x[i] = _decoded(path, decoding, shape)
        return ArrayDataset(x, targets, transform)

    def _shapes(
        self, rows: np.ndarray, decoding: Decoding, expected: tuple[int, ...] | None
    ) -> tuple[int, ...]:
        """The one shape the images of ``rows`` decode to (read from their headers), ``expected`` if given."""
        first = None
        for row in rows:
            row = int(row)
            if row not in self._sizes:
                self._sizes[row] = image_size(self.files[row])
            shape = decoding.shape(*self._sizes[row])
            if expected is None:
                expected, first = shape, self.files[row]
            elif shape != expected:
                against = f"{first}'s" if first else "the training images'"
                raise DatasetError(
                    f"{self.files[row]}: decodes to shape {list(shape)}, not {against} {list(expected)}; "
                    "give data.options.size (and center_crop) so that every image has one shape."
                )
        assert expected is not None
        return expected


def _classes_of(preprocessing: dict[str, Any]) -> list[str]:
    if preprocessing.get("source") != "image_folder":
        raise DatasetError(
            f"this preprocessing was fitted for {preprocessing.get('source')!r} data, not image_folder"
        )
    return list(preprocessing["classes"])


def _decoded(path: str, decoding: Decoding, shape: tuple[int, ...]) -> np.ndarray:
    pixels = decode(path, decoding)
    if pixels.shape != shape:  # the file changed since its header was read
        raise DatasetError(f"{path}: decodes to shape {list(pixels.shape)}, not {list(shape)}.")
    return pixels


class ImageFiles(Dataset):
    """Image files decoded batch by batch (``cache: none``): the batches an ``ArrayDataset`` of the decoded
    images gives (float32 in [0, 1], then ``transform``), with only the file names held in memory."""

    def __init__(
        self,
        paths: list[str],
        y: np.ndarray,
        decoding: Decoding,
        shape: tuple[int, ...],
        transform: BatchTransform | None = None,
    ) -> None:
        self.paths, self.y, self.decoding, self.shape = list(paths), np.asarray(y), decoding, tuple(shape)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def get_batch(
        self, indices: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (B, C, H, W) float32 after scaling and ``transform``, and targets as stored."""
        raw = np.empty((len(indices), *self.shape), dtype=np.uint8)
        for i, index in enumerate(np.asarray(indices, dtype=np.int64)):
            raw[i] = _decoded(self.paths[index], self.decoding, self.shape)
        x = raw.astype(np.float32)
        x *= np.float32(1 / 255)  # the scaling ArrayDataset.get_batch applies to uint8 inputs
        if self.transform is not None:
            x = self.transform(x, np.random.default_rng() if rng is None else rng)
        return x, self.y[indices]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return ArrayDataset(*self.get_batch(np.array([index], dtype=np.int64)))[0]

    def subset(self, indices: Any) -> ImageFiles:
        """The files ``indices`` (a new dataset, same decoding and transform)."""
        indices = np.asarray(indices, dtype=np.int64)
        paths = [self.paths[i] for i in indices]
        return ImageFiles(paths, self.y[indices], self.decoding, self.shape, self.transform)


def read_image_inputs(
    paths: list[str], preprocessing: dict[str, Any], task: Task, options: dict[str, Any], labelled: bool
) -> Inputs:
    """Image files decoded as the checkpoint's training images were (names: the paths); ``labelled``:
    each file's class is the name of its folder, as in a folder laid out for training."""
    classes = _classes_of(preprocessing)
    for path in paths:
        if not is_image_file(path):
            endings = ", ".join(IMAGE_EXTENSIONS)
            raise DatasetError(f"{path}: not an image file (image files end in {endings}).")
    folders = [os.path.basename(os.path.dirname(os.path.abspath(path))) for path in paths]
    source = ImageFolderSource(list(paths), folders, classes, {"cache": options.get("cache", "memory")})
    rows = np.arange(len(paths))
    if labelled:
        return Inputs(list(paths), source.prepare(rows, preprocessing, task, None), True)
    targets = task.targets(np.zeros(len(paths), dtype=np.int64))
    return Inputs(list(paths), source.encode(rows, targets, preprocessing, None), False)
