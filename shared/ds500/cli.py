"""The ``ds500`` command: lab generation, generated docs, coverage, fixtures, grading.

Each subcommand prints what it did and exits non-zero when something is stale or
broken, so the same commands serve maintainers and CI::

    ds500 build-labs [--check]      regenerate labs/ from solutions/
    ds500 lab-table [--check]       regenerate the README's lab table
    ds500 coverage [--version V]    lab x exam-guide subsection matrix and question counts
    ds500 coverage --readme README.md [--check]   the same matrix in the README
    ds500 cheatsheet [--check]      CHEATSHEET.md from the questions and the glossary
    ds500 grade SUBMISSIONS...      grade a class with nbval: gradebook CSV and feedback
    ds500 fixtures verify           check data/ against data/MANIFEST.json
    ds500 fixtures rebuild [--check]  rebuild data/ from its sources
    ds500 execute NB... [--jobs N]  run notebooks; wall time and peak memory
    ds500 local-cloud               run the local Google Cloud stand-in in this terminal
    ds500 bank lint                 the question bank's test-taking cues (exit 1 on any finding)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _build_labs(args: argparse.Namespace) -> int:
    from ds500 import labgen

    result = labgen.build_labs(args.root, check=args.check, only=args.only)
    if args.check:
        if result.stale:
            print("labs/ is out of date with solutions/ (run `nox -s labs`):")
            for name in result.stale:
                print(f"  {name}")
            return 1
        print("labs/ matches solutions/.")
        return 0
    for name in result.written:
        print(f"wrote {name}")
    for name in result.stale:
        print(f"warning: {name}")
    print(f"{len(result.written)} file(s) written.")
    return 0


def _lab_table(args: argparse.Namespace) -> int:
    from ds500 import catalog

    root = Path(args.root)
    infos = catalog.labs(root / "solutions")
    changed = catalog.update_readme(root / "README.md", infos, check=args.check)
    if args.check and changed:
        print("README.md's lab table is out of date (run `nox -s labs`).")
        return 1
    print("README.md lab table " + ("updated." if changed else "is up to date."))
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from ds500 import catalog, examguide, quiz

    paths = sorted((Path(args.root) / "solutions").glob("*.ipynb"))
    matrix = examguide.coverage(paths, args.version)
    counts = examguide.question_counts(quiz.all_questions(), args.version)
    if args.readme is None:
        print(examguide.format_coverage(matrix, counts))
        return 0
    changed = catalog.replace_block(
        args.readme, examguide.COVERAGE_START, examguide.COVERAGE_END,
        examguide.coverage_markdown(matrix, counts), check=args.check,
    )
    if args.check and changed:
        print(f"{args.readme}'s coverage matrix is out of date (run `nox -s labs`).")
        return 1
    print(f"{args.readme} coverage matrix " + ("updated." if changed else "is up to date."))
    return 0


def _cheatsheet(args: argparse.Namespace) -> int:
    from ds500 import cheatsheet, quiz

    out = Path(args.root) / args.out
    text = cheatsheet.render(quiz.all_questions(), cheatsheet.glossary())
    current = out.read_text(encoding="utf-8") if out.exists() else None
    if args.check:
        if current != text:
            print(f"{out} is out of date (run `nox -s labs`).")
            return 1
        print(f"{out} is up to date.")
        return 0
    if current != text:
        out.write_text(text, encoding="utf-8")
    print(f"{out} " + ("written." if current != text else "is up to date."))
    return 0


def _fixtures(args: argparse.Namespace) -> int:
    from ds500 import fixtures

    if args.action == "verify":
        for name, digest in fixtures.verify().items():
            print(f"ok  {name}  sha256={digest[:16]}…")
        return 0
    results = fixtures.rebuild(check=args.check)
    for name, same in results.items():
        print(f"{'identical' if same else 'DIFFERENT'}  {name}")
    return 0 if all(results.values()) else 1


def _execute(args: argparse.Namespace) -> int:
    from ds500 import execute

    results = execute.run_many(args.notebooks, args.out, jobs=args.jobs)
    print(execute.format_table(results))
    for result in results:
        if not result.ok:
            print(f"\n--- {result.notebook} failed ---\n{result.error}")
    return 0 if all(r.ok for r in results) else 1


def _grade(args: argparse.Namespace) -> int:
    import time

    from ds500 import grading

    start = time.perf_counter()
    solutions = Path(args.solutions) if args.solutions else Path(args.root) / "solutions"
    results = grading.grade(
        args.submissions, solutions_dir=solutions, lab=args.lab, jobs=args.jobs,
        cell_timeout=args.cell_timeout, timeout=args.timeout,
    )
    out = Path(args.out)
    gradebook = grading.write_gradebook(results, out / "gradebook.csv")
    feedback = grading.write_feedback(results, out / "feedback")
    print(grading.format_summary(results))
    print(f"\n{gradebook} and {len(feedback)} feedback file(s) in {out / 'feedback'}; "
          f"{time.perf_counter() - start:.0f} s")
    return 0


def _bank(args: argparse.Namespace) -> int:
    from ds500 import banklint

    solutions = Path(args.root) / "solutions"
    variables = banklint.notebook_variables(solutions) if solutions.is_dir() else ()
    questions, files, findings = banklint.load_bank(args.questions)
    findings += banklint.lint_questions(questions, files, variables=variables)
    print(banklint.format_findings(findings, questions))
    return 1 if findings else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(prog="ds500", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build-labs", help="regenerate labs/ from solutions/")
    p.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    p.add_argument("--only", default="*", help="glob over notebook stems, e.g. '05_*' (default: all)")
    p.set_defaults(func=_build_labs)

    p = sub.add_parser("lab-table", help="regenerate the README's lab table")
    p.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    p.set_defaults(func=_lab_table)

    p = sub.add_parser("coverage", help="print the lab x exam-guide matrix")
    p.add_argument("--version", default="2026-06", help="exam guide version: 2026-06 (current) or 2024-10")
    p.add_argument("--readme", default=None, help="write the matrix between the markers of this file")
    p.add_argument("--check", action="store_true", help="with --readme: only compare; exit 1 if stale")
    p.set_defaults(func=_coverage)

    p = sub.add_parser("cheatsheet", help="write CHEATSHEET.md: exam clue -> service, renamed and deprecated")
    p.add_argument("--out", default="CHEATSHEET.md", help="the Markdown file (default: CHEATSHEET.md)")
    p.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    p.set_defaults(func=_cheatsheet)

    p = sub.add_parser("execute", help="run notebooks with papermill; time and memory table")
    p.add_argument("notebooks", nargs="+", help="notebooks to execute")
    p.add_argument("--out", default="build/executed", help="folder for executed copies")
    p.add_argument("--jobs", type=int, default=2, help="notebooks run at once")
    p.set_defaults(func=_execute)

    p = sub.add_parser("grade", help="grade submitted notebooks with nbval: gradebook CSV and feedback")
    p.add_argument("submissions", nargs="+", help="notebooks or folders (a student per file or sub-folder)")
    p.add_argument("--out", default="grades", help="folder for gradebook.csv and feedback/ (default: grades)")
    p.add_argument("--lab", type=int, default=None, help="only accept this lab number (others: not gradable)")
    p.add_argument("--solutions", default=None, help="canonical solutions folder (default: <root>/solutions)")
    p.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default: 2)")
    p.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell (default: 120)")
    p.add_argument("--timeout", type=float, default=900, help="seconds per notebook (default: 900)")
    p.set_defaults(func=_grade)

    p = sub.add_parser("local-cloud", help="run the local Google Cloud stand-in in the foreground")
    p.add_argument("--seconds", type=float, default=None, help="stop after N seconds (default: Ctrl+C)")
    p.set_defaults(func=_local_cloud)

    p = sub.add_parser("bank", help="lint the question bank (labs and the practice-exam pool)")
    p.add_argument("action", choices=["lint"])
    p.add_argument("--questions", default=None, help="questions folder (default: the package's)")
    p.set_defaults(func=_bank)

    p = sub.add_parser("fixtures", help="verify or rebuild data/")
    p.add_argument("action", choices=["verify", "rebuild"])
    p.add_argument("--check", action="store_true", help="rebuild into a temporary folder and compare")
    p.set_defaults(func=_fixtures)
    return parser


def _local_cloud(args: argparse.Namespace) -> int:
    import time

    from ds500.localcloud import LocalCloud

    if args.seconds is not None and args.seconds <= 0:
        print("--seconds must be positive")
        return 2
    cloud = LocalCloud().start()
    print("local Google Cloud stand-in (nothing is created or billed in Google Cloud)")
    print(f"  API:           {cloud.url}")
    print(f"  Cloud Storage: {cloud.storage_url}")
    print("Point a Python session at it:")
    print(f"  export STORAGE_EMULATOR_HOST={cloud.storage_url}")
    print("  aiplatform.init(project=..., location=..., credentials=AnonymousCredentials(),")
    print(f"                  api_endpoint=\"{cloud.url}\", api_transport=\"rest\")")
    print("Requests are printed as they arrive; Ctrl+C stops.", flush=True)
    shown, started = 0, time.monotonic()
    try:
        while args.seconds is None or time.monotonic() - started < args.seconds:
            for entry in cloud.log.since(shown):
                print(entry.as_text(), flush=True)
            shown = cloud.log.position()
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        cloud.stop()
    print("stopped; left behind:", cloud.leftovers() or "nothing")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ds500`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, RuntimeError, OSError) as err:
        # Our errors (LabgenError, CatalogError, FixtureError, ...) carry the fix in
        # their message; a traceback would only bury it.
        print(f"ds500 {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
