"""Hostile and careless YAML: alias bombs, deep nesting, unreadable characters, files that are not text, and
``!include`` of what is not a YAML file. Each is refused quickly, with the file, line and column, as a
ConfigError (never a RecursionError, MemoryError or a hang), and never echoes a non-YAML file's content."""

import glob
import os
import re
import time
from pathlib import Path

import pytest

from nnrun.config import ConfigError, load, load_training, parse_file, parse_yaml
from nnrun.config.yaml_limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")


def _laughs(levels, width=9, indent=""):
    """Billion laughs: each level lists the previous one ``width`` times (width**levels strings)."""
    lines = [f"{indent}l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"{indent}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _chain(line, levels, first):
    """``first`` then ``line.format(i=i, p=i - 1)`` for i in 1..levels-1, one per line."""
    return first + "\n" + "".join(line.format(i=i, p=i - 1) + "\n" for i in range(1, levels))


BOMBS = {
    "list aliases": _laughs(9),
    "map aliases": _chain("a{i}: &a{i} {{p: *a{p}, q: *a{p}, r: *a{p}, s: *a{p}}}", 14, "a0: &a0 {x: 1}"),
    "merge keys": _chain("m{i}: &m{i} {{<<: [*m{p}], n{i}: [*m{p}, *m{p}, *m{p}]}}", 16, "m0: &m0 {k: 1}"),
    "under model:": "model:\n  module: ReLU\n  extra:\n" + _laughs(10, indent="    "),
    "flow bomb": _chain("x{i}: &x{i} [" + ",".join(["*x{p}"] * 8) + "]", 8, "x0: &x0 [1,1,1,1,1,1,1,1]"),
}


@pytest.mark.parametrize("name", BOMBS)
def test_alias_bombs_are_refused_quickly_with_their_line(tmp_path, name):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMBS[name])
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"expands to more than [\d,]+ nodes") as info:
        parse_file(str(path))
    assert time.perf_counter() - started < 1.0
    error = info.value.errors[-1]
    assert error.file == str(path) and error.line >= 1


def test_an_alias_bomb_in_a_set_override_is_refused():
    levels = ["l0: &l0 [" + ", ".join(["1"] * 9) + "]"]
    levels += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = "data.options.x={" + ", ".join(levels) + "}"
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"--set:2:\d+: .*expands to more than") as info:
        load_training(os.path.join(CONFIGS, "lenet_mnist_sample.yaml"), ["train.epochs=1", bomb])
    assert time.perf_counter() - started < 1.0
    assert len(info.value.errors) == 1


NESTED = {
    "flow lists": "x: " + "[" * 5000 + "]" * 5000,
    "flow maps": "x: " + "{a: " * 3000 + "1" + "}" * 3000,
    "block maps": "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v\n",
    "block lists": "".join(f"{'  ' * i}-\n" for i in range(150)) + "  " * 150 + "- 1\n",
    "aliases stacked deeper": "a: &a "
    + "[" * 40
    + "1"
    + "]" * 40
    + "\nb: &b "
    + "[" * 40
    + "*a"
    + "]" * 40
    + "\nc: "
    + "[" * 40
    + "*b"
    + "]" * 40
    + "\n",
    "merge chain": "m0: &m0 {k: 1}\n"
    + "".join(f"m{i}: &m{i} {{<<: *m{i - 1}, k{i}: 1}}\n" for i in range(1, 300)),
}


@pytest.mark.parametrize("name", NESTED)
def test_deep_nesting_is_a_clear_error(tmp_path, name):
    path = tmp_path / "deep.yaml"
    path.write_text(NESTED[name])
    with pytest.raises(
        ConfigError, match=rf"deep.yaml:\d+:\d+: YAML: nesting deeper than {MAX_DEPTH} levels"
    ):
        parse_file(str(path))


def test_recursive_aliases_are_refused():
    with pytest.raises(ConfigError, match="refers to its own ancestor"):
        parse_yaml("a: &a [1, *a]\n")


def test_the_limits_leave_room_for_real_configs():
    """The bounds were set against the shipped configs: the largest uses under 1 % of the node budget and
    under a fifth of the depth."""

    def measure(value, depth=1):
        if isinstance(value, dict):
            children = [measure(item, depth + 1) for item in value.values()]
            return 1 + len(value) + sum(n for n, _ in children), max([depth, *(d for _, d in children)])
        if isinstance(value, list):
            children = [measure(item, depth + 1) for item in value]
            return 1 + sum(n for n, _ in children), max([depth, *(d for _, d in children)])
        return 1, depth

    sizes = [
        measure(parse_file(path)[0]) for path in glob.glob(os.path.join(CONFIGS, "**/*.yaml"), recursive=True)
    ]
    assert len(sizes) >= 10
    assert max(n for n, _ in sizes) * 100 < MAX_NODES
    assert max(d for _, d in sizes) * 5 < MAX_DEPTH
    assert max(
        os.path.getsize(p) for p in glob.glob(os.path.join(CONFIGS, "**/*.yaml"), recursive=True)
    ) * 50 < (MAX_FILE_BYTES)


UNREADABLE = {  # text, line and column of the culprit, what the message says
    "NUL": ("model:\n  module: ReLU\n  name: 'a\x00b'\n", 3, 11, "U+0000"),
    "bell": ("model:\n  module: ReLU\n\x07\n", 3, 1, "U+0007"),
    "escape": ("a: 1\nb: \x1b[31mred\n", 2, 4, "U+001B"),
    "invalid UTF-8": (b"a: 1\nbb: 2\nc: \xff\xfe\n", 3, 4, "not UTF-8 text (byte 0xff)"),
    "Latin-1 text": (b"name: caf\xe9\n", 1, 10, "not UTF-8 text (byte 0xe9)"),
}


@pytest.mark.parametrize("name", UNREADABLE)
def test_unreadable_characters_have_their_line_and_column(tmp_path, name):
    text, line, column, message = UNREADABLE[name]
    path = tmp_path / "bad.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as info:
        load(path)
    error = info.value.errors[0]
    assert (error.file, error.line, error.column) == (str(path), line, column), str(info.value)
    assert message in error.message


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffmodule: ReLU\n".encode())
    assert load(path).name == "Model"


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "too large", "empty"])
def test_files_that_are_not_configs(tmp_path, kind):
    path = tmp_path / "x.yaml"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it for reading would wait forever for a writer
    elif kind == "device":
        path = Path("/dev/zero")  # reading it would never end
    elif kind == "too large":
        path.write_text("a: " + "x" * MAX_FILE_BYTES + "\n")
    else:
        path.write_text("")
    expected = {"too large": "larger than", "empty": "the document is empty"}.get(kind, "")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=rf"{path}:1:1: .*{expected}"):
        load(Path(path))
    assert time.perf_counter() - started < 2.0


SECRET = "hunter2-do-not-print"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("secret.txt", "reads YAML files (.yaml or .yml) only"),
        ("tool.py", "reads YAML files (.yaml or .yml) only"),
        ("/etc/passwd", "reads YAML files (.yaml or .yml) only"),
        ("missing.yaml", "no such file"),
        ("folder.yaml", "not a regular file"),
        ("", "needs a file path"),
        ('"models\\0.yaml"', "needs a file path"),
    ],
)
def test_include_reads_yaml_files_only(tmp_path, target, message):
    (tmp_path / "secret.txt").write_text(f"password: {SECRET}\n")
    (tmp_path / "tool.py").write_text(f"print('{SECRET}')\n")
    (tmp_path / "folder.yaml").mkdir()
    config = tmp_path / "main.yaml"
    config.write_text(f"model: !include {target}\n")
    with pytest.raises(ConfigError, match=rf"main.yaml:1:8: model: .*{re.escape(message)}") as info:
        load(config)
    assert SECRET not in str(info.value) and "root:" not in str(info.value)


def test_include_does_not_follow_a_link_to_another_kind_of_file(tmp_path):
    (tmp_path / "secret.txt").write_text(f"password: {SECRET}\n")
    (tmp_path / "innocent.yaml").symlink_to(tmp_path / "secret.txt")
    config = tmp_path / "main.yaml"
    config.write_text("model: !include innocent.yaml\n")
    with pytest.raises(ConfigError, match=r"reads YAML files \(.yaml or .yml\) only") as info:
        load(config)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (b"module: ReLU\nname: \xff\n", 2, "not UTF-8"),
        (b"module: ReLU\nname: [unclosed\n", 3, "YAML: "),
        (b"module: ReLU\nbogus: 1\n", 2, "unknown key 'bogus'"),
    ],
)
def test_an_error_in_an_included_file_names_that_file_and_line(tmp_path, content, line, message):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "inner.yaml").write_bytes(content)
    config = tmp_path / "main.yaml"
    config.write_text("name: x\nmodel: !include models/inner.yaml\n")
    with pytest.raises(ConfigError) as info:
        load(config)
    error = info.value.errors[0]
    assert error.file == str(tmp_path / "models" / "inner.yaml") and error.line == line
    assert message in error.message


def test_include_chains_and_fans_are_bounded(tmp_path):
    for i in range(20):  # a chain deeper than any real config needs
        (tmp_path / f"c{i}.yaml").write_text(f"x: !include c{i + 1}.yaml\n")
    (tmp_path / "c20.yaml").write_text("x: 1\n")
    with pytest.raises(ConfigError, match="nested more than 16 files deep"):
        parse_file(str(tmp_path / "c0.yaml"))
    # every file includes the next one 8 times: 8**8 file reads, unless they are counted for the whole config
    for i in range(8):
        (tmp_path / f"f{i}.yaml").write_text("".join(f"k{j}: !include f{i + 1}.yaml\n" for j in range(8)))
    (tmp_path / "f8.yaml").write_text("leaf: [1, 2, 3]\n")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="more than 64 !include reads in one config"):
        parse_file(str(tmp_path / "f0.yaml"))
    assert time.perf_counter() - started < 1.0
