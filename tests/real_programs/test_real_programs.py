"""The corpus of real PyTorch programs, run with ``torch`` mapped to nnrun (see ``corpus_runner.py``).

``runs`` programs must run and print what torch prints (floats masked); ``known-gap`` programs must still
fail, strictly, so that the fix of their gap turns the test red until the manifest says ``runs``;
``out-of-scope`` programs are listed with their reason and never run.
"""

import os
import subprocess
import sys

import pytest
from corpus_runner import (
    HOOK,
    PROGRAMS_DIR,
    ROOT,
    STATUSES,
    check,
    corpus_present,
    load_manifest,
    normalize,
    torch_is_installed,
)

PROGRAMS = load_manifest()
TORCH = torch_is_installed()
needs_corpus = pytest.mark.skipif(
    not corpus_present(),
    reason="the corpus's program files are third-party code kept outside the repository: none in "
    f"{PROGRAMS_DIR} (set NNRUN_REAL_PROGRAMS to their folder; corpus.yaml says where each comes from)",
)


def _params(status):
    params = []
    for program in PROGRAMS:
        if program.status != status:
            continue
        marks = [needs_corpus] + ([pytest.mark.slow] if program.slow else [])
        if status == "known-gap":
            marks.append(pytest.mark.xfail(reason=program.gap, strict=True))
        params.append(pytest.param(program, id=program.name, marks=marks))
    return params


@pytest.mark.parametrize("program", _params("runs"))
def test_program_runs_as_on_torch(program, tmp_path):
    if not TORCH:
        pytest.importorskip("torch")  # without torch there is nothing to compare the output with
    outcome = check(program, torch_available=True, folder=tmp_path)
    assert outcome.ok, outcome.failure


@pytest.mark.parametrize("program", _params("known-gap"))
def test_known_gap_still_fails(program, tmp_path):
    # a known gap fails on nnrun, or prints what torch does not (compared only where torch is installed)
    outcome = check(program, torch_available=TORCH, folder=tmp_path)
    assert outcome.ok, outcome.failure


def test_manifest_names_each_program_once_with_its_source_licence_and_edits():
    names = [program.name for program in PROGRAMS]
    assert len(names) == len(set(names))
    assert {program.status for program in PROGRAMS} <= set(STATUSES)
    files = [program.file for program in PROGRAMS if program.file]
    assert len(files) == len(set(files))
    for program in PROGRAMS:
        assert program.source.startswith("https://github.com/"), program.name
        parts = program.source.split("/")
        assert parts[5] in ("blob", "tree") and len(parts[6]) == 40, program.name  # at a commit
        if program.file:
            assert program.licence and program.edits, program.name


@needs_corpus
def test_corpus_folder_holds_the_listed_files_headed_by_their_source():
    listed = sorted(program.file for program in PROGRAMS if program.file)
    assert sorted(path.name for path in PROGRAMS_DIR.glob("*.py")) == listed
    for program in PROGRAMS:
        if program.file:
            head = program.path.read_text(encoding="utf-8").splitlines()[:12]
            for field in ("# Source: ", "# Repository: ", "# Licence: ", "# Edits:"):
                assert any(line.startswith(field) for line in head), (program.name, field)
            assert any(program.source in line for line in head), program.name


def test_out_of_scope_programs_give_a_reason_and_are_not_run():
    out_of_scope = [program for program in PROGRAMS if program.status == "out-of-scope"]
    assert out_of_scope
    assert all(program.reason and not program.file for program in out_of_scope)


def test_normalize_masks_floats_result_counts_and_the_library_name():
    torch_out = (
        "Epoch 1\nTest: loss 0.2512, Accuracy: 9512/10000 (95%)\ntorch.Size([2, 10])\ntensor([ 1.5000, -2.])"
    )
    nnrun_out = (
        "Epoch 1\nTest: loss 0.1, Accuracy: 12/10000 (0%)\n\nnnrun.Size([2, 10])\ntensor([1.5000, -2.])"
    )
    assert normalize(torch_out) == normalize(nnrun_out)
    assert normalize("Epoch 1") != normalize("Epoch 2")  # integers on a line without a float are compared
    assert normalize("torch.Size([2, 10])") != normalize("torch.Size([2, 11])")


def test_normalize_joins_wrapped_tensor_lines_and_masks_addresses():
    wrapped = "tensor([[0.1, 0.2,\n         0.3]], grad_fn=<AddBackward0>)\n<AddBackward0 object at 0x7f00ab>"
    flat = "tensor([[0.1, 0.2, 0.3]], grad_fn=<AddBackward0>)\n<AddBackward0 object at 0x55aa>"
    assert normalize(wrapped) == normalize(flat)
    assert normalize("Predicted: 3", masks=[r"Predicted: \d"]) == normalize(
        "Predicted: 7", masks=[r"Predicted: \d"]
    )


def _run_under_hook(tmp_path, source):
    script = tmp_path / "program.py"
    script.write_text(source, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "cli")]))
    return subprocess.run(
        [sys.executable, str(HOOK), str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_hook_maps_torch_modules_to_nnrun_ones(tmp_path):
    completed = _run_under_hook(
        tmp_path,
        "import torch, torch.nn as nn, torch.nn.functional as F, torch.optim.lr_scheduler\n"
        "from torch.utils.data import DataLoader\n"
        "import nnrun\n"
        "assert torch is nnrun and nn is nnrun.nn and F is nnrun.nn.functional\n"
        "assert DataLoader is nnrun.utils.data.DataLoader\n"
        "assert torch.optim.lr_scheduler is nnrun.optim.lr_scheduler\n"
        "assert nnrun.__spec__.name == 'nnrun' and nn.__spec__.name == 'nnrun.nn'\n"
        "print('ok')\n",
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "ok\n"


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("import torchvision", "No module named 'torchvision' (nnrun does not provide torchvision)"),
        ("from torchvision import datasets", "No module named 'torchvision'"),
        ("import torch.fx", "No module named 'torch.fx' (nnrun has no 'nnrun.fx')"),
    ],
)
def test_hook_refuses_what_nnrun_lacks_by_name(tmp_path, statement, message):
    completed = _run_under_hook(tmp_path, statement + "\n")
    assert completed.returncode != 0
    assert f"ModuleNotFoundError: {message}" in completed.stderr
