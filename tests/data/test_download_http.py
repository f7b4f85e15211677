"""Downloads against a local HTTP server on 127.0.0.1: success, checksum mismatch, mirror fallback."""

import functools
import gzip
import hashlib
import io
import shutil
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from nnrun.data import DatasetError, load_dataset
from nnrun.data.datasets import MNIST, cifar10
from nnrun.data.datasets.download import Resource, download
from nnrun.data.datasets.mnist import IdxFamily, load_idx_family
from nnrun.data.datasets.registry import DATASETS, DatasetEntry

REAL_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder) of a threaded HTTP server on 127.0.0.1."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", served
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_download_verifies_and_renames(server, tmp_path):
    url, served = server
    (served / "file.bin").write_bytes(b"payload" * 1000)
    path = download(Resource("file.bin", md5(b"payload" * 1000)), tmp_path / "out", [url])
    assert path == tmp_path / "out" / "file.bin" and path.read_bytes() == b"payload" * 1000
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["file.bin"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    url, served = server
    (served / "file.bin").write_bytes(b"tampered")
    with pytest.raises(
        DatasetError, match=r"file\.bin into .*checksum mismatch \(MD5 [0-9a-f]{32}, expected 0{32}\)"
    ):
        download(Resource("file.bin", "0" * 32), tmp_path / "out", [url])
    assert not (tmp_path / "out").exists()  # not even the folder it made


def test_a_failed_download_removes_only_the_folders_it_made(tmp_path):
    (tmp_path / "kept").mkdir()
    with pytest.raises(DatasetError, match=r"Download failed: could not fetch file\.bin into .*data\.root"):
        download(
            Resource("file.bin", "0" * 32), tmp_path / "kept" / "a" / "b", ["http://127.0.0.1:9/"], timeout=2
        )
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not list((tmp_path / "kept").iterdir())


def test_falls_back_to_the_next_mirror(server, tmp_path):
    url, served = server
    (served / "good").mkdir()
    (served / "good" / "file.bin").write_bytes(b"ok")
    path = download(Resource("file.bin", md5(b"ok")), tmp_path, [url + "missing/", url + "good/"])
    assert path.read_bytes() == b"ok"


def test_unreachable_mirrors_are_all_reported(tmp_path):
    with pytest.raises(DatasetError, match=r"http://127\.0\.0\.1:9/file\.bin: .*Without network access"):
        download(Resource("file.bin", "0" * 32), tmp_path, ["http://127.0.0.1:9/"], timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_recompressed_gzip_is_accepted_by_content_checksum(server, tmp_path):
    url, served = server
    content = b"\x00\x00\x08\x01\x00\x00\x00\x02ab"
    (served / "f.gz").write_bytes(gzip.compress(content, mtime=0))
    resource = Resource("f.gz", "0" * 32, content_md5=md5(content))
    assert download(resource, tmp_path, [url]).is_file()


@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"real MNIST not found at {REAL_MNIST}")
def test_mnist_download_from_a_local_mirror(server, tmp_path):
    url, served = server
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(REAL_MNIST / name, served / name)
    family = IdxFamily("MNIST", (url,), MNIST.resources)  # the real checksums, a local mirror
    entry = DatasetEntry(functools.partial(load_idx_family, family), reads_files=True, downloadable=True)
    DATASETS.register(entry, name="mnist_from_mirror")
    root = tmp_path / "mnist"
    try:
        with pytest.raises(DatasetError, match=rf"MNIST not found in {root}"):
            load_dataset("mnist_from_mirror", root, "test")
        test = load_dataset("mnist_from_mirror", root, "test", download=True)
    finally:
        DATASETS.unregister("mnist_from_mirror")
    assert test.x.shape == (10000, 1, 28, 28) and test.y[:5].tolist() == [7, 2, 1, 0, 4]
    assert sorted(p.name for p in root.iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]


def test_cifar10_download_extracts_only_record_files(server, tmp_path, monkeypatch):
    url, served = server
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in [*cifar10.FILES["train"], *cifar10.FILES["test"], "../escape.bin", "readme.html"]:
            record = np.full(2 * 3073, 3, dtype=np.uint8).tobytes()
            inside = name.startswith("..") or name.endswith(".html")
            info = tarfile.TarInfo(name if inside else f"cifar-10-batches-bin/{name}")
            info.size = len(record)
            tar.addfile(info, io.BytesIO(record))
    (served / "cifar-10-binary.tar.gz").write_bytes(buffer.getvalue())
    monkeypatch.setattr(cifar10, "MIRRORS", (url,))
    monkeypatch.setattr(cifar10, "ARCHIVE", Resource("cifar-10-binary.tar.gz", md5(buffer.getvalue())))
    root = tmp_path / "cifar"
    test = load_dataset("cifar10", root, "test", download=True)
    assert test.x.shape == (2, 3, 32, 32) and test.y.tolist() == [3, 3]
    assert not (tmp_path / "escape.bin").exists() and not (root / "readme.html").exists()
    assert len(load_dataset("cifar10", root, "train")) == 10


def test_a_folder_that_cannot_be_made_is_a_dataset_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(
        DatasetError, match=r"cannot create the folder .*file/mnist to download file.bin into"
    ):
        download(
            Resource("file.bin", "0" * 32), tmp_path / "file" / "mnist", ["http://127.0.0.1:9/"], timeout=2
        )
