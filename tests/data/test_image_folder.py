"""``image_folder``: scikit-learn's digits exported as PNG files decode to their own pixels, cached or per
batch; resizing and cropping follow torchvision's rules; every bad folder is a DatasetError naming the
file."""

import os
import sys

import numpy as np
import pytest

pytest.importorskip("PIL")
from PIL import Image

from digit_images import digit_levels, export_digits
from nnrun.config import ConfigError, load_training
from nnrun.data import DataLoader, DatasetError, load_dataset
from nnrun.data.datasets import DATASETS
from nnrun.data.datasets.pillow import MISSING
from nnrun.data.tasks import TASKS
from nnrun.data.transforms import Compose, RandomCrop, RandomHorizontalFlip

CLASSIFICATION = TASKS["classification"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    pytest.importorskip("sklearn")
    root = tmp_path_factory.mktemp("digits")
    return root, export_digits(root)


def _prepared(root, split="train", preprocessing=None, transform=None, **options):
    source = load_dataset("image_folder", root, split, **options)
    rows = np.arange(len(source))
    fitted = preprocessing or source.fit(rows, CLASSIFICATION)
    return source.prepare(rows, fitted, CLASSIFICATION, transform), fitted


def test_decoded_digits_equal_the_source_pixels(digits):
    from sklearn.datasets import load_digits

    root, expected = digits
    train, fitted = _prepared(root, channels=1)
    test, _ = _prepared(root, "test", fitted, channels=1)
    assert fitted == {
        "source": "image_folder",
        "classes": [str(digit) for digit in range(10)],
        "size": None,
        "center_crop": None,
        "channels": 1,
        "shape": [1, 8, 8],
    }
    for split, dataset in (("train", train), ("test", test)):
        levels, labels = expected[split]
        assert dataset.x.dtype == np.uint8 and dataset.x.shape == (len(labels), 1, 8, 8)
        np.testing.assert_array_equal(dataset.x, levels)
        np.testing.assert_array_equal(dataset.y, labels)
    assert len(train) + len(test) == len(load_digits().target) == 1797
    # the exported levels are the 0..16 pixel values scaled to 0..255; batches are those levels / 255
    x, _ = train.get_batch(np.arange(3))
    np.testing.assert_array_equal(x, expected["train"][0][:3].astype(np.float32) * np.float32(1 / 255))
    np.testing.assert_array_equal(digit_levels(np.array([0, 8, 16])), [0, 128, 255])


def test_rgb_decoding_repeats_the_gray_level(digits):
    root, expected = digits
    train, fitted = _prepared(root)  # channels: 3 is the default
    assert fitted["shape"] == [3, 8, 8]
    np.testing.assert_array_equal(train.x, np.repeat(expected["train"][0], 3, axis=1))


def test_cached_and_lazy_give_identical_batches(digits):
    root, _ = digits
    transform = Compose([RandomCrop(8, padding=1), RandomHorizontalFlip(0.5)])
    cached, fitted = _prepared(root, channels=1, transform=transform)
    lazy, _ = _prepared(root, preprocessing=fitted, channels=1, cache="none", transform=transform)
    assert type(lazy).__name__ == "ImageFiles" and not hasattr(lazy, "x")
    indices = np.array([5, 0, 700, 12, 5])
    a = cached.get_batch(indices, np.random.default_rng(4))
    b = lazy.get_batch(indices, np.random.default_rng(4))
    assert a[0].dtype == b[0].dtype == np.float32
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    for one, other in zip(
        DataLoader(cached, 64, shuffle=True, seed=1), DataLoader(lazy, 64, shuffle=True, seed=1)
    ):
        assert one[0].numpy().tobytes() == other[0].numpy().tobytes()
        assert one[1].numpy().tobytes() == other[1].numpy().tobytes()
    sub = lazy.subset([3, 1])
    np.testing.assert_array_equal(
        sub.get_batch(np.arange(2), np.random.default_rng(0))[0],
        cached.subset([3, 1]).get_batch(np.arange(2), np.random.default_rng(0))[0],
    )
    lazy.transform = None
    x, y = lazy[3]
    np.testing.assert_array_equal(x.numpy(), cached.x[3].astype(np.float32) * np.float32(1 / 255))
    assert int(y.item()) == int(cached.y[3])


def _image(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode=mode).save(path) if mode else Image.fromarray(
        np.asarray(array, dtype=np.uint8)
    ).save(path)
    return path


def _flat(root, classes=("cat", "dog", "owl"), per_class=5, shape=(6, 4)):
    for c, name in enumerate(classes):
        for i in range(per_class):
            _image(root / name / f"{i}.png", np.full(shape, 10 * c + i))
    return root


def test_a_flat_folder_holds_out_a_seeded_stratified_test_split(tmp_path):
    root = _flat(tmp_path / "flat")
    train = load_dataset("image_folder", root, "train", test_split=0.4)
    test = load_dataset("image_folder", root, "test", test_split=0.4)
    assert len(train) == 9 and len(test) == 6  # 2 of each class's 5 files
    assert sorted(train.files + test.files) == sorted(str(p) for p in root.rglob("*.png"))
    assert sorted(test.folders) == ["cat", "cat", "dog", "dog", "owl", "owl"]
    again = load_dataset("image_folder", root, "test", test_split=0.4)
    other = load_dataset("image_folder", root, "test", test_split=0.4, split_seed=7)
    assert again.files == test.files and other.files != test.files
    with pytest.raises(DatasetError, match=r"has no test/ folder: set data\.options\.test_split"):
        load_dataset("image_folder", root, "test")


def test_size_and_center_crop_follow_torchvision(tmp_path):
    gradient = np.arange(10 * 30, dtype=np.uint8).reshape(10, 30)  # height 10, width 30
    path = _image(tmp_path / "r" / "a" / "x.png", gradient)
    root = tmp_path / "r"
    # an int resizes the shorter side and keeps the aspect ratio: 10 × 30 → 5 × 15
    resized, fitted = _prepared(root, size=5, channels=1)
    expected = np.asarray(Image.open(path).convert("L").resize((15, 5), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(resized.x[0, 0], expected)
    assert fitted["shape"] == [1, 5, 15]
    exact, _ = _prepared(root, size=[4, 6], channels=1)
    assert exact.x.shape == (1, 1, 4, 6)
    # centre crop offsets: round((10 - 3) / 2) = 4 (round half to even), round((30 - 4) / 2) = 13
    cropped, fitted = _prepared(root, center_crop=[3, 4], channels=1)
    np.testing.assert_array_equal(cropped.x[0, 0], gradient[4:7, 13:17])
    assert fitted["center_crop"] == [3, 4]
    # a crop larger than the image pads it with zeros (1 row above, 2 below the 10 rows)
    padded, _ = _prepared(root, size=[10, 4], center_crop=[13, 4], channels=1)
    assert padded.x.shape == (1, 1, 13, 4)
    assert not padded.x[0, 0, :1].any() and not padded.x[0, 0, -2:].any() and padded.x[0, 0, 1:11].any()


def test_images_of_several_sizes_need_a_size(tmp_path):
    root = tmp_path / "mixed"
    _image(root / "a" / "1.png", np.zeros((8, 8)))
    _image(root / "b" / "2.png", np.zeros((8, 9)))
    with pytest.raises(
        DatasetError, match=r"2\.png: decodes to shape \[3, 8, 9\], not .*1\.png's \[3, 8, 8\]"
    ):
        _prepared(root)
    dataset, _ = _prepared(root, size=[8, 8])
    assert dataset.x.shape == (2, 3, 8, 8)


def test_alpha_is_dropped_and_rgb_to_gray_is_pillows(tmp_path):
    rgba = np.random.default_rng(0).integers(0, 256, (5, 5, 4))
    path = _image(tmp_path / "r" / "a" / "x.png", rgba, mode="RGBA")
    rgb, _ = _prepared(tmp_path / "r")
    np.testing.assert_array_equal(rgb.x[0], rgba[:, :, :3].transpose(2, 0, 1))
    gray, _ = _prepared(tmp_path / "r", channels=1)
    np.testing.assert_array_equal(gray.x[0, 0], np.asarray(Image.open(path).convert("L")))


# ----- bad folders and files -----
def _split_layout(root):
    for split in ("train", "test"):
        _flat(root / split, per_class=2)
    return root


def test_a_corrupt_file_is_named(tmp_path):
    root = _split_layout(tmp_path / "r")
    bad = root / "train" / "dog" / "broken.png"
    bad.write_bytes(b"not a png at all")
    for cache in ("memory", "none"):
        with pytest.raises(DatasetError, match=f"{bad}: not a readable image"):
            _prepared(root, cache=cache)


def test_a_truncated_file_is_named_when_decoded(tmp_path):
    root = _split_layout(tmp_path / "r")
    good = root / "train" / "dog" / "0.png"
    _image(good, np.random.default_rng(0).integers(0, 256, (6, 4)))
    good.write_bytes(good.read_bytes()[:-30])  # the header survives, the pixels do not
    with pytest.raises(DatasetError, match=f"{good}: not a readable image"):
        _prepared(root)
    lazy, _ = _prepared(root, cache="none")  # read per batch: the header is fine until then
    with pytest.raises(DatasetError, match=f"{good}: not a readable image"):
        lazy.get_batch(np.arange(len(lazy)))


def test_a_test_class_unknown_to_training_is_named(tmp_path):
    root = _split_layout(tmp_path / "r")
    _image(root / "test" / "emu" / "0.png", np.zeros((6, 4)))
    _, fitted = _prepared(root)
    with pytest.raises(DatasetError, match=r"test/emu: class 'emu' is not one of the training classes \(cat"):
        _prepared(root, "test", fitted)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda r: (r / "train" / "yak").mkdir(), r"train/yak: an empty class folder"),
        (lambda r: (r / "train" / "dog" / "notes.txt").write_text("x"), r"dog/notes\.txt: not an image file"),
        (
            lambda r: (r / "train" / "stray.png").write_bytes(b""),
            r"train/stray\.png: a file outside the class",
        ),
        (lambda r: (r / "val").mkdir(), r"val: validation images are drawn from train/"),
    ],
    ids=["empty class", "not an image", "stray file", "val folder"],
)
def test_bad_folders_are_named(tmp_path, make, message):
    root = _split_layout(tmp_path / "r")
    make(root)
    with pytest.raises(DatasetError, match=message):
        load_dataset("image_folder", root, "train")


def test_links_out_of_root_are_refused_and_hidden_files_skipped(tmp_path):
    root = _split_layout(tmp_path / "r")
    outside = _image(tmp_path / "elsewhere.png", np.zeros((6, 4)))
    (root / "train" / "dog" / ".DS_Store").write_bytes(b"junk")
    assert len(load_dataset("image_folder", root, "train")) == 6
    os.symlink(outside, root / "train" / "dog" / "linked.png")
    with pytest.raises(DatasetError, match=r"linked\.png: a link to .*elsewhere\.png, outside the dataset"):
        load_dataset("image_folder", root, "train")
    os.remove(root / "train" / "dog" / "linked.png")
    os.symlink(root / "train" / "dog" / "0.png", root / "train" / "dog" / "inside.png")  # inside root: fine
    assert len(load_dataset("image_folder", root, "train")) == 7


def test_missing_test_folder_and_bad_split(tmp_path):
    root = _flat(tmp_path / "r" / "train", per_class=1).parent
    with pytest.raises(DatasetError, match=r"r/test does not exist: add a test/ folder"):
        load_dataset("image_folder", root, "test")
    with pytest.raises(DatasetError, match="remove test_split"):
        load_dataset("image_folder", root, "train", test_split=0.2)
    with pytest.raises(DatasetError, match="is not a folder of class folders"):
        load_dataset("image_folder", tmp_path / "nothing", "train")


def test_missing_pillow_is_one_clear_message(tmp_path, monkeypatch):
    root = _split_layout(tmp_path / "r")
    monkeypatch.setitem(sys.modules, "PIL", None)  # what an environment without Pillow gives an import
    with pytest.raises(DatasetError) as info:
        _prepared(root)
    assert str(info.value) == MISSING and "pip install 'nnrun[images]'" in MISSING


def test_bad_options_are_config_errors_at_their_line(tmp_path):
    root = _split_layout(tmp_path / "r")
    text = f"""\
model: {{module: {{Sequential: [Flatten, {{Linear: [72, 3]}}]}}}}
data:
  dataset: image_folder
  root: {root}
  options:
    channels: 2
optimizer: {{SGD: {{lr: 0.1}}}}
"""
    for line, option, message in [
        ("    channels: 2", 6, "channels must be 1 (grayscale) or 3 (RGB), got 2"),
        ("    size: [3, 0]", 6, "size must be a positive int or [height, width], got [3, 0]"),
        ("    cache: disk", 6, "cache must be memory or none, got 'disk'"),
        ("    test_split: 1.5", 6, "test_split must be a fraction in [0, 1), got 1.5"),
        ("    colour: true", 6, "image_folder has no option 'colour'"),
    ]:
        path = tmp_path / "c.yaml"
        path.write_text(text.replace("    channels: 2", line))
        with pytest.raises(ConfigError) as info:
            load_training(path)
        (error,) = info.value.errors
        assert error.line == option and message in error.message


def test_new_inputs_are_decoded_like_training(digits, tmp_path):
    root, expected = digits
    _, fitted = _prepared(root, channels=1)
    read = DATASETS.get("image_folder").inputs
    paths = sorted(str(p) for p in (root / "test").rglob("*.png"))[:20]
    labelled = read(paths, fitted, CLASSIFICATION, {}, True)
    assert labelled.labelled and labelled.names == paths
    np.testing.assert_array_equal(labelled.dataset.x, expected["test"][0][:20])
    np.testing.assert_array_equal(labelled.dataset.y, expected["test"][1][:20])
    lazy = read(paths, fitted, CLASSIFICATION, {"cache": "none"}, False)
    assert not lazy.labelled and not lazy.dataset.y.any()
    assert (
        lazy.dataset.get_batch(np.arange(20))[0].tobytes()
        == labelled.dataset.get_batch(np.arange(20))[0].tobytes()
    )
    stray = _image(tmp_path / "photos" / "x.png", np.zeros((8, 8)))
    assert read([str(stray)], fitted, CLASSIFICATION, {}, False).dataset.x.shape == (1, 1, 8, 8)
    with pytest.raises(DatasetError, match="class 'photos' is not one of the training classes"):
        read([str(stray)], fitted, CLASSIFICATION, {}, True)
    with pytest.raises(DatasetError, match=r"notes\.txt: not an image file"):
        read([str(tmp_path / "notes.txt")], fitted, CLASSIFICATION, {}, False)
    big = _image(tmp_path / "photos" / "big.png", np.zeros((9, 8)))
    with pytest.raises(
        DatasetError, match=r"big\.png: decodes to shape \[1, 9, 8\], not the training images'"
    ):
        read([str(big)], fitted, CLASSIFICATION, {}, False)
