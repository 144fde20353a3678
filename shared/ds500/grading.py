"""Grade a class's submitted notebooks with nbval (``ds500 grade``, ``nox -s grade``).

Why this shape: an instructor collects 40 notebooks, some edited in surprising ways,
and needs one gradebook and one feedback file per student, with no submission able
to break the batch or fake a pass. So each submission is

1. read and identified by its metadata (``metadata.ds500.lab``), never by file name;
2. *restored*: the canonical ``parameters``, ``setup`` and ``check`` cells are copied
   from the lab generated from ``solutions/`` by cell id (re-inserted where deleted),
   so an edited or removed check cannot pass; the student's other cells are kept;
3. executed by ``pytest --nbval-lax`` in its own temporary folder, with a per-cell
   and a per-notebook timeout, offline (``DS500_OFFLINE=1``);
4. scored per exercise from the canonical metadata's points: an exercise passes when
   its check cell ran without error; otherwise the check's own message is the reason.

Submissions are read, never written or moved. Example::

    results = grade(["submissions/"], solutions_dir="solutions", lab=1, jobs=2)
    write_gradebook(results, "grades/gradebook.csv")
    write_feedback(results, "grades/feedback")
    print(format_summary(results))
"""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ds500 import labgen

__all__ = [
    "CANONICAL_TAGS",
    "ExerciseResult",
    "Submission",
    "find_submissions",
    "format_summary",
    "grade",
    "grade_submission",
    "restore_canonical_cells",
    "run_nbval",
    "write_feedback",
    "write_gradebook",
]

CANONICAL_TAGS = ("parameters", "setup", "check")
"""Cells restored from the canonical lab before grading (the student cannot change them)."""

SKIPPED = "skipped: "
"""Prefix of a cell outcome that nbval did not run (an earlier cell timed out)."""

GRADEBOOK_COLUMNS = ("student", "lab", "exercise", "points", "max_points", "passed", "message", "notebook")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|NotDone)): ?(.*)$")
_MAX_MESSAGE = 600
_SKIP_DIRS = {".ipynb_checkpoints", "__pycache__"}


@dataclass(frozen=True)
class Submission:
    """One notebook of one student (``notebook`` is shown in the gradebook)."""

    student: str
    path: Path


@dataclass(frozen=True)
class ExerciseResult:
    """One gradebook row: an exercise of a submission, or the reason it was not gradable.

    ``exercise`` is None (and ``lab`` may be None) for a submission that could not be
    graded at all; ``message`` then starts with ``"not gradable: "``.
    """

    student: str
    lab: int | None
    exercise: int | None
    points: float
    max_points: float
    passed: bool
    message: str
    notebook: str


class _NotGradable(Exception):
    """A submission that cannot be graded; the message says why and what to do."""


# -- finding submissions ---------------------------------------------------------------


def _notebooks_under(folder: Path) -> list[Path]:
    found = (p for p in folder.rglob("*.ipynb") if p.is_file())
    return sorted(p for p in found if not _SKIP_DIRS & set(p.relative_to(folder).parts))


def find_submissions(paths: Iterable[Path | str]) -> list[Submission]:
    """Expand files and folders into submissions, one student per file or per folder.

    A notebook given directly, or lying directly in a given folder, is one student
    named after the file (``alice.ipynb`` -> ``alice``). A sub-folder of a given folder
    is one student named after the folder, with every notebook inside it
    (``class/bob/01_problem_framing.ipynb`` -> ``bob``).

    Raises:
        FileNotFoundError: a path does not exist.
        ValueError: nothing to grade, or a file that is not an ``.ipynb``.
    """
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        if path.is_file():
            if path.suffix != ".ipynb":
                raise ValueError(f"{path}: submissions are .ipynb notebooks or folders of them")
            found.append(Submission(path.stem, path))
            continue
        for child in sorted(path.iterdir()):
            if child.is_file() and child.suffix == ".ipynb":
                found.append(Submission(child.stem, child))
            elif child.is_dir() and child.name not in _SKIP_DIRS:
                found.extend(Submission(child.name, nb) for nb in _notebooks_under(child))
    if not found:
        raise ValueError("no notebooks found in " + ", ".join(str(p) for p in paths))
    return found


# -- preparing a submission ------------------------------------------------------------


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def restore_canonical_cells(
    submission: nbformat.NotebookNode, canonical: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """Return a copy of ``submission`` whose canonical cells equal ``canonical``'s.

    Every cell of ``canonical`` tagged ``parameters``, ``setup`` or ``check`` replaces
    the submission's cell with the same id or, when the student deleted it, is
    re-inserted after the nearest earlier cell of the lab that is still there. Other student cells are kept in
    their order; outputs are dropped. The notebook metadata becomes the canonical
    one (points and exercises cannot be edited either).
    """
    result = copy.deepcopy(submission)
    result.metadata = copy.deepcopy(canonical.metadata)
    cells = result.cells

    def find(cell_id: str | None) -> int | None:
        return next((i for i, c in enumerate(cells) if c.get("id") == cell_id), None)

    canonical_ids = [c.get("id") for c in canonical.cells]
    for k, cell in enumerate(canonical.cells):
        if not set(_tags(cell)) & set(CANONICAL_TAGS):
            continue
        restored = copy.deepcopy(cell)
        index = find(cell.get("id"))
        if index is not None:
            cells[index] = restored
            continue
        # Deleted: put it back after the nearest earlier canonical-lab cell the student kept.
        anchor = next((i for prev in reversed(canonical_ids[:k]) if (i := find(prev)) is not None), -1)
        cells.insert(anchor + 1, restored)
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return result


# -- running nbval ---------------------------------------------------------------------


def run_nbval(
    notebook: Path,
    report: Path,
    *,
    cell_timeout: float = 300,
    timeout: float = 900,
    env: dict[str, str] | None = None,
) -> dict[int, str | None] | None:
    """Execute ``notebook`` with ``pytest --nbval-lax`` in its own folder.

    Returns:
        For each code cell's index (0 = the first code cell), None if it ran
        without error, else nbval's failure text (starting with :data:`SKIPPED` for
        a cell nbval did not run because an earlier one timed out); or None when
        the whole run was stopped after ``timeout`` seconds (the kernel with it).

    Raises:
        ValueError: a timeout is not positive.
        RuntimeError: pytest produced no report (the text says what it printed).
    """
    if cell_timeout <= 0 or timeout <= 0:
        raise ValueError(f"timeouts must be positive, got cell {cell_timeout} and notebook {timeout}")
    variables = {**os.environ, "DS500_OFFLINE": "1", "NO_GCE_CHECK": "true", "TF_CPP_MIN_LOG_LEVEL": "2"}
    variables.update(env or {})
    command = [
        sys.executable, "-m", "pytest", "--nbval-lax", notebook.name, "-q", "-p", "no:cacheprovider",
        "-o", "addopts=", f"--rootdir={notebook.parent}", f"--nbval-cell-timeout={cell_timeout:g}",
        f"--junitxml={report}",
    ]
    log = report.with_suffix(".log")
    with log.open("wb") as out:  # a file, not memory: a cell may print megabytes
        process = subprocess.Popen(
            command, cwd=notebook.parent, env=variables, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # pytest and the kernel it started
            process.wait()
            return None
    if not report.exists():
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 3000))
            tail = handle.read().decode("utf-8", "replace")
        raise RuntimeError(f"nbval produced no report for {notebook.name}:\n{tail}")
    results: dict[int, str | None] = {}
    for case in ET.parse(report).iter("testcase"):
        name = case.get("name", "")
        if not name.startswith("Cell "):
            continue
        found = (case.find(tag) for tag in ("failure", "error", "skipped"))
        problem = next((element for element in found if element is not None), None)
        text = None if problem is None else problem.get("message", "") + "\n" + (problem.text or "")
        if problem is not None and problem.tag == "skipped":
            text = SKIPPED + text  # nbval skips every cell after one that timed out
        results[int(name.removeprefix("Cell "))] = text
    return results


def _reason(failure: str, cell_timeout: float) -> str:
    """The line of an nbval failure that a student should read."""
    text = _ANSI.sub("", failure)
    start = text.rfind("❌ Exercise")
    if start >= 0:  # the check's own message, without the "❌ Exercise N:" prefix
        lines = text[start:].splitlines()
        hints = [line for line in lines[1:3] if line.startswith("Hint:")]
        return " ".join([lines[0].split(":", 1)[-1].strip(), *hints])[:_MAX_MESSAGE]
    if "Timeout of" in text:
        return f"this cell ran over {cell_timeout:g} s and was stopped (an endless loop or a crashed kernel)"
    errors = [m for m in (_ERROR_LINE.match(line.strip()) for line in text.splitlines()) if m]
    if errors:
        return errors[-1].group(0)[:_MAX_MESSAGE]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else "the check cell failed")[:_MAX_MESSAGE]


def _stopped_cell(
    outcome: dict[int, str | None], notebook: nbformat.NotebookNode, cell_timeout: float
) -> str:
    """Name the cell whose timeout made nbval skip the rest of the notebook."""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    stopped = next((n for n, text in sorted(outcome.items()) if text and "Timeout of" in text), None)
    if stopped is None or stopped >= len(code):
        return "an earlier cell timed out, so nbval skipped the rest of the notebook"
    first_line = next((line for line in code[stopped].source.splitlines() if line.strip()), "")[:60]
    return (
        f"code cell {stopped + 1} (`{first_line}`) ran over {cell_timeout:g} s and was stopped (an endless "
        "loop or a crashed kernel), so the cells after it were skipped"
    )


# -- grading ---------------------------------------------------------------------------


def _read_submission(path: Path) -> nbformat.NotebookNode:
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise _NotGradable("the file is not UTF-8 text, so it is not a notebook") from err
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise _NotGradable(f"not a valid notebook: broken JSON at line {err.lineno} ({err.msg})") from err
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise _NotGradable("not a notebook: the JSON has no list of cells")
    try:
        return nbformat.reads(raw, as_version=4)
    except Exception as err:  # nbformat raises several types for malformed notebooks
        raise _NotGradable(f"not a valid notebook: {err}") from err


def _lab_number(notebook: nbformat.NotebookNode) -> int:
    lab = notebook.metadata.get("ds500", {}).get("lab") if isinstance(notebook.metadata, dict) else None
    if isinstance(lab, bool) or not isinstance(lab, int):
        raise _NotGradable(
            "the notebook has no DS500 lab number (metadata.ds500.lab): submit the notebook from labs/ "
            "with its metadata intact"
        )
    return lab


def _canonical_labs(solutions_dir: Path) -> dict[int, nbformat.NotebookNode]:
    """The student version of every solution, by lab number."""
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"{solutions_dir}: no solutions folder (pass --solutions)")
    labs: dict[int, nbformat.NotebookNode] = {}
    for path in sorted(solutions_dir.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        labs[int(solution.metadata["ds500"]["lab"])] = labgen.build_lab(solution, path.name)
    return labs


def grade_submission(
    submission: Submission,
    canonical_labs: dict[int, nbformat.NotebookNode],
    *,
    lab: int | None = None,
    cell_timeout: float = 120,
    timeout: float = 900,
) -> list[ExerciseResult]:
    """Grade one notebook; never raises for anything the student did.

    Args:
        submission: the student and the notebook path.
        canonical_labs: lab number -> the canonical student lab (see :func:`grade`).
        lab: if given, a notebook of any other lab is not gradable.
        cell_timeout: seconds one cell may run.
        timeout: seconds the whole notebook may run.
    """
    name = str(submission.path)

    def not_gradable(reason: str, number: int | None = None) -> list[ExerciseResult]:
        message = f"not gradable: {reason}"
        return [ExerciseResult(submission.student, number, None, 0, 0, False, message, name)]

    try:
        notebook = _read_submission(submission.path)
        number = _lab_number(notebook)
    except _NotGradable as err:
        return not_gradable(str(err))
    if lab is not None and number != lab:
        return not_gradable(f"this is lab {number:02d}, not lab {lab:02d}", number)
    if number not in canonical_labs:
        return not_gradable(f"lab {number} has no solution in the solutions folder", number)
    canonical = canonical_labs[number]
    prepared = restore_canonical_cells(notebook, canonical)
    exercises = canonical.metadata["ds500"]["exercises"]
    code_ids = [c.get("id") for c in prepared.cells if c.cell_type == "code"]
    check_index = {
        int(c.metadata["ds500"]["exercise"]): code_ids.index(c.get("id"))
        for c in canonical.cells
        if "check" in _tags(c)
    }
    with tempfile.TemporaryDirectory(prefix="ds500-grade-") as tmp:
        work, reports = Path(tmp) / "work", Path(tmp) / "reports"
        work.mkdir()
        reports.mkdir()
        target = work / f"lab{number:02d}.ipynb"
        nbformat.write(prepared, target)
        try:
            outcome = run_nbval(target, reports / "report.xml", cell_timeout=cell_timeout, timeout=timeout)
        except RuntimeError as err:
            return not_gradable(f"the notebook could not be executed ({str(err)[:_MAX_MESSAGE]})", number)
    rows = []
    for key, info in sorted(exercises.items(), key=lambda item: int(item[0])):
        exercise, max_points = int(key), float(info["points"])
        if outcome is None:
            passed, message = False, f"not finished: the notebook ran over {timeout:g} s and was stopped"
        elif check_index[exercise] not in outcome:
            passed, message = False, "the check cell was not run"
        else:
            failure = outcome[check_index[exercise]]
            passed = failure is None
            if passed:
                message = "passed"
            elif failure.startswith(SKIPPED):
                message = f"not run: {_stopped_cell(outcome, prepared, cell_timeout)}"
            else:
                message = _reason(failure, cell_timeout)
        rows.append(
            ExerciseResult(
                submission.student, number, exercise, max_points if passed else 0.0, max_points, passed,
                message, name,
            )
        )
    return rows


def grade(
    paths: Sequence[Path | str],
    *,
    solutions_dir: Path | str = "solutions",
    lab: int | None = None,
    jobs: int = 2,
    cell_timeout: float = 120,
    timeout: float = 900,
) -> list[ExerciseResult]:
    """Grade every submission under ``paths``, ``jobs`` at a time; rows in input order.

    Raises:
        ValueError: ``jobs`` or a timeout is not positive, or nothing to grade.
        FileNotFoundError: a path or the solutions folder does not exist.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if cell_timeout <= 0 or timeout <= 0:
        raise ValueError(f"timeouts must be positive, got cell {cell_timeout} and notebook {timeout}")
    submissions = find_submissions(paths)
    canonical = _canonical_labs(Path(solutions_dir))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        batches = pool.map(
            lambda s: grade_submission(s, canonical, lab=lab, cell_timeout=cell_timeout, timeout=timeout),
            submissions,
        )
        return [row for batch in batches for row in batch]


# -- reports ---------------------------------------------------------------------------


def write_gradebook(results: Sequence[ExerciseResult], path: Path | str) -> Path:
    """Write the gradebook CSV (one row per exercise or not-gradable submission)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(GRADEBOOK_COLUMNS)
        for r in results:
            writer.writerow([
                r.student, "" if r.lab is None else r.lab, "" if r.exercise is None else r.exercise,
                f"{r.points:g}", f"{r.max_points:g}", r.passed, r.message, r.notebook,
            ])
    return path


def _safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"


def write_feedback(results: Sequence[ExerciseResult], folder: Path | str) -> list[Path]:
    """Write one Markdown feedback file per student: each exercise, passed or why not."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in dict.fromkeys(r.student for r in results):
        rows = [r for r in results if r.student == student]
        lines = [f"# Feedback for {student}", ""]
        for notebook in dict.fromkeys(r.notebook for r in rows):
            part = [r for r in rows if r.notebook == notebook]
            title = f"Lab {part[0].lab:02d}" if part[0].lab is not None else "Submission"
            earned, possible = sum(r.points for r in part), sum(r.max_points for r in part)
            lines += [f"## {title}: {earned:g} / {possible:g} points", "", f"Notebook: `{notebook}`", ""]
            for r in part:
                if r.exercise is None:
                    lines.append(f"- ❌ {r.message}")
                elif r.passed:
                    lines.append(f"- ✅ Exercise {r.exercise}: passed ({r.points:g} / {r.max_points:g})")
                else:
                    lines.append(f"- ❌ Exercise {r.exercise} (0 / {r.max_points:g}): {r.message}")
            lines.append("")
        path = folder / f"{_safe_name(student)}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        written.append(path)
    return written


def format_summary(results: Sequence[ExerciseResult]) -> str:
    """A plain-text table: student, lab, points, and how many exercises passed."""
    header = f"{'student':<24} {'lab':>3} {'points':>9} {'passed':>7}  note"
    lines = [header, "-" * len(header)]
    for key in dict.fromkeys((r.student, r.notebook) for r in results):
        rows = [r for r in results if (r.student, r.notebook) == key]
        lab = "" if rows[0].lab is None else f"{rows[0].lab:02d}"
        graded = [r for r in rows if r.exercise is not None]
        note = rows[0].message if not graded else ""
        points = f"{sum(r.points for r in rows):g}/{sum(r.max_points for r in rows):g}"
        passed = f"{sum(r.passed for r in graded)}/{len(graded)}"
        lines.append(f"{key[0][:24]:<24} {lab:>3} {points:>9} {passed:>7}  {note}")
    return "\n".join(lines)
