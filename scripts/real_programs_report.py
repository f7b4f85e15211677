"""Runs the corpus of real PyTorch programs (tests/real_programs) and prints its table and counts.

    python scripts/real_programs_report.py                # every program that is not out of scope
    python scripts/real_programs_report.py --markdown     # the table as Markdown, as in docs/real_programs.md
    python scripts/real_programs_report.py NAME [NAME...]  # only these programs

Each program runs on nnrun through the test import hook and, where torch is installed, on torch, whose printed
output it must match (the masking rules are in tests/real_programs/corpus_runner.py). The result column says
what happened today, whatever the manifest's status expects: a ``known-gap`` program that now runs is a fix to
record in tests/real_programs/corpus.yaml.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "real_programs"))

from corpus_runner import PROGRAMS_DIR, check, corpus_present, load_manifest, torch_is_installed


def _repository(source):
    parts = source.split("/")
    return f"{parts[3]}/{parts[4]}" if len(parts) > 4 else source


def _path(source):
    parts = source.split("/")
    return "/".join(parts[7:]) if len(parts) > 7 else ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only these programs")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per program and backend")
    args = parser.parse_args(argv)
    if not corpus_present():
        print(
            f"No program files in {PROGRAMS_DIR}: the corpus is third-party code kept outside the repository. "
            "Set NNRUN_REAL_PROGRAMS to its folder (tests/real_programs/corpus.yaml lists each file's source).",
            file=sys.stderr,
        )
        return 2

    torch_available = torch_is_installed()
    programs = [p for p in load_manifest() if not args.names or p.name in args.names]
    rows = []
    for program in programs:
        if program.status == "out-of-scope":
            rows.append((program, "not run", program.reason, 0.0))
            continue
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="nnrun-corpus-") as folder:
            outcome = check(program, torch_available, folder, timeout=args.timeout)
        seconds = time.perf_counter() - start
        if outcome.ok:
            result = "matches torch" if outcome.compared else "runs (torch absent: not compared)"
            rows.append((program, result, "", seconds))
        else:
            rows.append((program, "fails", outcome.failure.splitlines()[0], seconds))
        print(f"{program.name}: {rows[-1][1]} ({seconds:.1f} s)", file=sys.stderr, flush=True)

    if args.markdown:
        print("| program | source | status | today | first failure, gap or reason |")
        print("|---|---|---|---|---|")
        for program, result, detail, _ in rows:
            note = detail if program.status != "known-gap" else f"gap: {program.gap}"
            if program.status == "known-gap" and detail:
                note += f"; fails with: `{detail}`"
            link = f"[{_repository(program.source)}]({program.source}) `{_path(program.source)}`"
            print(f"| {program.name} | {link} | {program.status} | {result} | {note.replace('|', '/')} |")
    else:
        width = max(len(p.name) for p, *_ in rows)
        for program, result, detail, seconds in rows:
            print(f"{program.name:<{width}}  {program.status:<12}  {result:<14}  {seconds:6.1f} s  {detail}")

    corpus = [row for row in rows if row[0].status != "out-of-scope"]
    matching = sum(1 for _, result, _, _ in corpus if result != "fails")
    out_of_scope = len(rows) - len(corpus)
    print(
        f"\n{matching} of {len(corpus)} programs run unchanged except data and epochs"
        f" ({'compared with torch' if torch_available else 'torch absent: not compared'});"
        f" {out_of_scope} more listed as out of scope."
    )
    unexpected = [p.name for p, result, _, _ in corpus if (result != "fails") != (p.status == "runs")]
    if unexpected:
        print("Status differs from the manifest for: " + ", ".join(unexpected))
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
