"""Runs the corpus of real PyTorch programs (listed in ``corpus.yaml``) on nnrun through the import hook in
``torch_as_nnrun.py`` and, where torch is installed, on torch, and compares what they print.

The program files are third-party code and stay out of this repository: they are read from the folder named
by ``NNRUN_REAL_PROGRAMS``, or from ``tests/real_programs/programs/`` (ignored by git). The manifest records
each file's source, commit, licence and edits, so the corpus can be rebuilt by hand; without it the tests
that run programs skip.

Each program runs in its own subprocess, in an empty working folder (under pytest's ``tmp_path``), with a
timeout; only stdout is compared (warnings go to stderr). Before the comparison both outputs are normalised
line by line, by these rules:

1. Floating-point numbers (``0.25``, ``-1.``, ``3e-05``, ``1.5e+02``, ``nan``, ``inf``) become ``<f>``: their
   values depend on the random initialisation and the summation order, which nnrun need not share with torch.
2. On a line that carried a float, integers become ``<i>`` too: such lines report results (``Accuracy:
   9512/10000``, ``after 233 batches``), whose counts follow the floats. Integers on a line with no float
   (shapes, layer sizes, epoch headers, ``torch.Size([2, 10])``) are kept and compared.
3. A program's own ``mask`` patterns from the manifest (regular expressions) become ``<m>`` first, for what
   rules 1 and 2 cannot see, such as a predicted class name that depends on the random weights.
4. Object addresses (``<MseLossBackward0 object at 0x7f...>``) become ``0x<addr>``. The library's own name is
   the same word in both: ``nnrun.Size([2, 10])`` reads as ``torch.Size([2, 10])``.
5. Runs of spaces collapse to one, spaces next to brackets go (tensor printing pads for a sign), and blank
   lines are dropped. A line that ends in a comma is joined to the next: where a printed tensor wraps depends
   on the width of its numbers.

Statuses in the manifest: ``runs`` (must run on nnrun and match torch), ``known-gap`` (fails today on nnrun;
``gap`` names the first missing piece), ``out-of-scope`` (needs what nnrun deliberately lacks; listed with its
``reason``, never run).
"""

import dataclasses
import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HOOK = HERE / "torch_as_nnrun.py"
MANIFEST = HERE / "corpus.yaml"
PROGRAMS_DIR = Path(os.environ.get("NNRUN_REAL_PROGRAMS") or HERE / "programs")
STATUSES = ("runs", "known-gap", "out-of-scope")
TIMEOUT_S = 300

_NUMBER_TAIL = r"(?![\w.])"
FLOAT = re.compile(
    r"(?<![\w.])[-+]?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|nan|inf)"
    + _NUMBER_TAIL
)
INTEGER = re.compile(r"(?<![\w.<])[-+]?\d+" + _NUMBER_TAIL)
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
LIBRARY = re.compile(r"\bnnrun(?=\.)")
SPACES = re.compile(r"[ \t]+")
BRACKET_SPACE = re.compile(r"(?<=[\[(])\s+|\s+(?=[\])])")


@dataclasses.dataclass(frozen=True)
class Program:
    name: str
    source: str
    status: str
    file: str = ""
    licence: str = ""
    edits: tuple = ()
    gap: str = ""
    reason: str = ""
    mask: tuple = ()
    slow: bool = False
    args: tuple = ()

    @property
    def path(self):
        return PROGRAMS_DIR / self.file


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a program fared: ``ok`` when it ran on nnrun and, where torch ran too, printed what torch printed;
    otherwise ``failure`` says first what went wrong."""

    ok: bool
    failure: str = ""
    compared: bool = False


def load_manifest(path=MANIFEST):
    """The programs of ``corpus.yaml``, in its order; a malformed entry raises ``ValueError``."""
    with open(path, encoding="utf-8") as file:
        entries = yaml.safe_load(file)
    programs = []
    for entry in entries:
        entry = dict(entry)
        for key in ("mask", "args", "edits"):
            entry[key] = tuple(entry.get(key, ()))
        program = Program(**entry)
        if program.status not in STATUSES:
            raise ValueError(f"{program.name}: status {program.status!r} is not one of {STATUSES}")
        if program.status == "known-gap" and not program.gap:
            raise ValueError(f"{program.name}: a known-gap program names its gap")
        if program.status == "out-of-scope" and not program.reason:
            raise ValueError(f"{program.name}: an out-of-scope program gives its reason")
        if program.status != "out-of-scope" and not (program.file and program.licence and program.edits):
            raise ValueError(f"{program.name}: a program that is run names its file, licence and edits")
        programs.append(program)
    return programs


def corpus_present():
    """Whether the program files are on this machine (they are kept outside the repository)."""
    return PROGRAMS_DIR.is_dir() and any(PROGRAMS_DIR.glob("*.py"))


def normalize(text, masks=()):
    """``text`` as the comparison sees it: a list of lines, by the rules in this module's docstring."""
    lines = []
    for line in text.splitlines():
        for pattern in masks:
            line = re.sub(pattern, "<m>", line)
        line = LIBRARY.sub("torch", ADDRESS.sub("0x<addr>", line))
        masked = FLOAT.sub("<f>", line)
        if masked != line:
            masked = INTEGER.sub("<i>", masked)
        masked = BRACKET_SPACE.sub("", SPACES.sub(" ", masked)).strip()
        if masked and lines and lines[-1].endswith(","):
            lines[-1] += " " + masked
        elif masked:
            lines.append(masked)
    return lines


def run(program, backend, folder, timeout=TIMEOUT_S):
    """Runs ``program`` on ``backend`` ("nnrun" or "torch") in ``folder`` (where whatever it writes goes):
    ``CompletedProcess``, or ``None`` when it ran past ``timeout`` seconds."""
    command = [sys.executable]
    if backend == "nnrun":
        command.append(str(HOOK))
    command += [str(program.path), *program.args]
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
    paths = [str(ROOT / "src"), str(ROOT / "cli")] if backend == "nnrun" else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(program.path.parent)])
    Path(folder).mkdir(parents=True, exist_ok=True)
    try:
        return subprocess.run(
            command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None


def first_failure(completed, timeout=TIMEOUT_S):
    """The line that says why a run failed: the exception line of its traceback, else the exit status."""
    if completed is None:
        return f"timed out after {timeout} s"
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line):
            return line.strip()
    return f"exit status {completed.returncode}" + (f": {lines[-1].strip()}" if lines else "")


def check(program, torch_available, folder, timeout=TIMEOUT_S):
    """Runs ``program`` on nnrun (and on torch when ``torch_available``) and compares the outputs; each run
    works in its own subfolder of ``folder``."""
    ours = run(program, "nnrun", Path(folder) / "nnrun", timeout)
    if ours is None or ours.returncode != 0:
        return Outcome(False, first_failure(ours, timeout))
    if not torch_available:
        return Outcome(True)
    theirs = run(program, "torch", Path(folder) / "torch", timeout)
    if theirs is None or theirs.returncode != 0:
        return Outcome(False, f"the torch run failed: {first_failure(theirs, timeout)}")
    expected, got = normalize(theirs.stdout, program.mask), normalize(ours.stdout, program.mask)
    if expected == got:
        return Outcome(True, compared=True)
    diff = "\n".join(difflib.unified_diff(expected, got, "torch", "nnrun", lineterm="", n=1))
    return Outcome(False, f"{_first_difference(expected, got)}\n{diff}", compared=True)


def _first_difference(expected, got):
    """One line that says where two normalised outputs part: the line number and both texts from there."""
    for number, (theirs, ours) in enumerate(zip(expected, got), start=1):
        if theirs != ours:
            start = max(0, next(i for i, (a, b) in enumerate(zip(theirs + "\0", ours + "\0")) if a != b) - 30)
            theirs, ours = theirs[start : start + 70], ours[start : start + 70]
            return f"output line {number} differs: torch {theirs!r}, nnrun {ours!r}"
    shorter = "nnrun" if len(got) < len(expected) else "torch"
    return f"output differs: {shorter}'s output stops after {min(len(got), len(expected))} lines"


def torch_is_installed():
    """Whether the real torch can be imported (in a subprocess, so that this process never loads it)."""
    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, check=False)
    return probe.returncode == 0
