"""Grade a class's submitted notebooks with nbval (``ds500 grade``, ``nox -s grade``).

Why this shape: an instructor collects 40 notebooks, some edited in surprising ways,
and needs one gradebook and one feedback file per student, with no submission able
to break the batch or fake a pass. So each submission is

1. read and identified by its metadata (``metadata.ds500.lab``), never by file name;
2. *assembled* from the canonical solution (:func:`assemble`): every cell is the
   canonical one except the student's code in each exercise's solution region (cells
   tagged ``solution``, matched by cell id); a missing or unrecognisable region is the
   lab's stub, and cells the student added are not run. Each check cell is wrapped by
   the tamper guard of :mod:`ds500.tamper`, and each region is scanned for code that
   patches what the checks rely on (shown in the ``review`` column, points unchanged);
3. executed by ``pytest --nbval-lax`` in its own temporary folder, with a per-cell
   and a per-notebook timeout, offline (``DS500_OFFLINE=1``);
4. scored per exercise from the canonical metadata's points: an exercise passes when
   its check cell ran without error *and* the guard's receipt for it came back;
   otherwise the check's own message (or "tampering detected: ...") is the reason.

Submissions are read, never written or moved. Example::

    results = grade(["submissions/"], solutions_dir="solutions", lab=1, jobs=2)
    write_gradebook(results, "grades/gradebook.csv")
    write_feedback(results, "grades/feedback")
    print(format_summary(results))
"""

from __future__ import annotations

import ast
import copy
import csv
import json
import os
import re
import secrets
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

from ds500 import labgen, tamper

__all__ = [
    "Assembly",
    "ExerciseResult",
    "Submission",
    "find_submissions",
    "format_summary",
    "grade",
    "assemble",
    "grade_submission",
    "run_nbval",
    "write_feedback",
    "write_gradebook",
]

SKIPPED = "skipped: "
"""Prefix of a cell outcome that nbval did not run (an earlier cell timed out)."""

GRADEBOOK_COLUMNS = (
    "student", "lab", "exercise", "points", "max_points", "passed", "message", "notebook", "review",
)
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
    graded at all; ``message`` then starts with ``"not gradable: "``. ``review`` is empty,
    or ``"review: <reasons>"`` when the exercise's code or its check looked like tampering
    (the points are not changed for it); ``notes`` are remarks on the whole notebook for
    the student's feedback (cells that were not run).
    """

    student: str
    lab: int | None
    exercise: int | None
    points: float
    max_points: float
    passed: bool
    message: str
    notebook: str
    review: str = ""
    notes: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class CanonicalLab:
    """A solution, the student lab generated from it, and what its check cells rely on."""

    solution: nbformat.NotebookNode
    lab: nbformat.NotebookNode
    modules: frozenset[str]
    """Names the lab binds by importing (``np``, ``ds500``, ``roc_auc_score``)."""
    protected: frozenset[str]
    """Names the lab defines outside the exercises, or builtins, that a check reads."""
    uses: dict[str, tamper.CheckUse]
    """Check cell id -> what it reads."""


def _segments(source: str) -> tuple[list[list[str]], list[list[str]]]:
    """Split a cell at its BEGIN/END SOLUTION markers: n + 1 contexts around n regions."""
    contexts: list[list[str]] = [[]]
    regions: list[list[str]] = []
    inside = False
    for line in source.splitlines():
        if line.strip() == labgen.BEGIN:
            inside = True
            regions.append([])
        elif line.strip() == labgen.END:
            inside = False
            contexts.append([])
        else:
            (regions[-1] if inside else contexts[-1]).append(line)
    return contexts, regions


def _canonical(solution: nbformat.NotebookNode, name: str) -> CanonicalLab:
    """Build the student lab and find, with ``ast``, what the check cells read."""
    modules: set[str] = set()
    bound: set[str] = set()
    answers: set[str] = set()
    defined_here: set[str] = set()  # functions and classes the lab defines outside the exercises
    for cell in solution.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        is_solution = "solution" in _tags(cell)
        region_lines: set[int] = set()
        if is_solution:
            inside = False
            for number, line in enumerate(source.splitlines(), 1):
                inside = (inside or line.strip() == labgen.BEGIN) and line.strip() != labgen.END
                if inside:
                    region_lines.add(number)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # IPython syntax (magics): nothing the checks can import from
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [(a.asname or a.name).split(".")[0] for a in node.names]
                modules.update(names)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names = [node.id]
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
                if getattr(node, "lineno", 0) not in region_lines and "check" not in _tags(cell):
                    defined_here.add(node.name)
            bound.update(names)
            if getattr(node, "lineno", 0) in region_lines:
                answers.update(names)
    roots = modules | defined_here
    uses = {
        cell.get("id"): tamper.check_references(cell.source, roots, bound)
        for cell in solution.cells
        if cell.cell_type == "code" and "check" in _tags(cell)
    }
    protected = set()
    for use in uses.values():
        protected |= (use.free & (bound - answers)) | set(use.builtins)
    return CanonicalLab(
        labgen.normalize(copy.deepcopy(solution)), labgen.build_lab(solution, name),
        frozenset(modules), frozenset(protected), uses,
    )


def _trimmed(lines: list[str]) -> list[str]:
    """The lines without trailing spaces and without blank lines at either end."""
    kept = [line.rstrip() for line in lines]
    while kept and not kept[0]:
        kept.pop(0)
    while kept and not kept[-1]:
        kept.pop()
    return kept


def _student_regions(source: str, contexts: list[list[str]]) -> list[list[str]] | None:
    """Find the student's code for each region of a solution cell, or None when it cannot.

    A cell that still has the markers gives its regions directly. Otherwise the lab's own
    lines around each region (``contexts``) are located in the student's cell: the first
    at its start, the middle ones in order, the last at its end. When the last one is
    not at the end (the student edited the lines after the answer), the rest of the cell
    is the answer.
    """
    lines = source.splitlines()
    count = len(contexts) - 1
    if any(line.strip() in (labgen.BEGIN, labgen.END) for line in lines):
        _, regions = _segments(source)
        return regions if len(regions) == count else None
    blocks = [_trimmed(c) for c in contexts]
    stripped = [line.rstrip() for line in lines]
    position = 0
    if blocks[0]:
        while position < len(lines) and not stripped[position]:
            position += 1
        if stripped[position : position + len(blocks[0])] != blocks[0]:
            return None
        position += len(blocks[0])
    regions: list[list[str]] = []
    for block in blocks[1:-1]:  # contexts between two regions: found in order
        found = next((i for i in range(position, len(lines) - len(block) + 1)
                      if block and stripped[i : i + len(block)] == block), None)
        if found is None:
            return None
        regions.append(lines[position:found])
        position = found + len(block)
    end = len(lines)
    while end > position and not stripped[end - 1]:
        end -= 1
    last = blocks[-1]
    if last and end - len(last) >= position and stripped[end - len(last) : end] == last:
        end -= len(last)
    else:
        end = len(lines)  # the lab's closing lines were edited: the rest of the cell is the answer
    regions.append(lines[position:end])
    return regions


@dataclass(frozen=True)
class Assembly:
    """The notebook :func:`assemble` built, and what scoring it needs."""

    notebook: nbformat.NotebookNode
    check_cells: dict[int, int]
    """Exercise -> index of its check among the code cells."""
    nonces: dict[int, str]
    """Exercise -> the receipt its check writes when it runs to its end."""
    review: dict[int, list[str]]
    """Exercise -> why its code should be reviewed by the instructor (empty when clean)."""
    notes: list[str]
    """Remarks for the student's feedback: cells that were not run, answers not found."""


def _guard_cell(chains: list[str], receipts: str, notebook_file: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(
        "# ds500 grade: record what the checks rely on before any exercise code runs\n"
        "import ds500.tamper\n\n"
        f"{tamper.GUARD_NAME} = ds500.tamper.Guard(globals(), {chains!r}, {receipts!r}, {notebook_file!r})"
    )
    cell.id = "ds500-guard"
    return cell


def assemble(
    submission: nbformat.NotebookNode, canonical: CanonicalLab, *, receipts: str, notebook_file: str = ""
) -> Assembly:
    """Build the notebook to grade: the canonical lab with the student's exercise code.

    Every cell is the canonical solution's, except the student's code inside each
    solution region (cells tagged ``solution``, matched by id). A deleted exercise cell
    or one whose answer cannot be found runs the lab's stub (unanswered). Cells the
    student added are not run. A guard cell (:class:`ds500.tamper.Guard`) goes right
    before the first exercise, and every check cell is wrapped by ``verify`` and
    ``confirm``. Outputs are dropped; the metadata is the lab's.

    Args:
        submission: the student's notebook (not modified).
        canonical: the lab it belongs to (see :func:`grade`).
        receipts: the file the checks' receipts are appended to.
        notebook_file: the file the assembled notebook is written to; the guard deletes it
            once it runs, so the student's code cannot read the nonces from it.
    """
    theirs = {}
    for cell in submission.cells:
        if cell.get("cell_type") == "code":
            theirs.setdefault(cell.get("id"), cell)
    canonical_ids = {c.get("id") for c in canonical.solution.cells}
    exercise_of: dict[str, int] = {}
    pending: list[str] = []
    for cell in canonical.solution.cells:
        if "solution" in _tags(cell):
            pending.append(cell.get("id"))
        elif "check" in _tags(cell):
            exercise_of.update(dict.fromkeys(pending, int(cell.metadata["ds500"]["exercise"])))
            pending = []
    cells: list[nbformat.NotebookNode] = []
    nonces: dict[int, str] = {}
    review: dict[int, list[str]] = {}
    notes: list[str] = []
    edited = 0
    guarded = False
    for solution_cell, lab_cell in zip(canonical.solution.cells, canonical.lab.cells, strict=True):
        cell = copy.deepcopy(lab_cell)
        cell_id, cell_tags = cell.get("id"), set(_tags(cell))
        if cell.cell_type == "code" and cell_tags & {"solution", "check"} and not guarded:
            chains = sorted({chain for use in canonical.uses.values() for chain in use.chains})
            cells.append(_guard_cell(chains, receipts, notebook_file))
            guarded = True
        student = theirs.get(cell_id)
        if cell.cell_type != "code":
            pass
        elif "solution" in cell_tags:
            exercise = exercise_of.get(cell_id, 0)
            contexts, _ = _segments(solution_cell.source)
            regions = None if student is None else _student_regions(student.source, contexts)
            if regions is None:
                why = "was deleted" if student is None else "no longer has the lab's lines around the answer"
                notes.append(f"Exercise {exercise}: the exercise cell `{cell_id}` {why}, so it was graded as "
                             "unanswered.")
            else:
                lines: list[str] = []
                for context, region in zip(contexts, [*regions, None], strict=True):
                    lines += context
                    if region is not None:
                        start = len(lines) + 1
                        lines += region
                        reasons = tamper.scan("\n".join(lines), range(start, len(lines) + 1),
                                              modules=canonical.modules, protected=canonical.protected)
                        review.setdefault(exercise, []).extend(reasons)
                cell.source = "\n".join(lines)
        elif "check" in cell_tags:
            exercise = int(cell.metadata["ds500"]["exercise"])
            nonces[exercise] = secrets.token_hex(8)
            use = canonical.uses[cell_id]
            cell.source = (f"{tamper.GUARD_NAME}.verify({exercise}, {use.builtins!r})\n{cell.source}\n"
                           f"{tamper.GUARD_NAME}.confirm({exercise}, {nonces[exercise]!r})")
        elif student is not None and student.source != lab_cell.source:
            edited += 1
        cells.append(cell)
    added = sum(1 for cell_id in theirs if cell_id not in canonical_ids)
    if added:
        notes.append(f"{added} code cell(s) you added were not run: only your code in the exercise cells "
                     "is graded.")
    if edited:
        notes.append(f"Your edits to {edited} of the lab's other code cells were not used: those cells ran "
                     "as the lab has them.")
    notebook = copy.deepcopy(canonical.lab)
    notebook.cells = cells
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    code_ids = [c.get("id") for c in cells if c.cell_type == "code"]
    check_cells = {
        int(c.metadata["ds500"]["exercise"]): code_ids.index(c.get("id"))
        for c in cells
        if "check" in _tags(c)
    }
    unique = {exercise: list(dict.fromkeys(reasons)) for exercise, reasons in review.items()}
    return Assembly(notebook, check_cells, nonces, unique, notes)


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


def _canonical_labs(solutions_dir: Path) -> dict[int, CanonicalLab]:
    """Every solution with its student lab and what its checks read, by lab number."""
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"{solutions_dir}: no solutions folder (pass --solutions)")
    labs: dict[int, CanonicalLab] = {}
    for path in sorted(solutions_dir.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        labs[int(solution.metadata["ds500"]["lab"])] = _canonical(solution, path.name)
    return labs


def _receipts(path: Path) -> dict[int, str]:
    """Exercise -> nonce, from the receipts the guard wrote (none if the file is gone)."""
    found: dict[int, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            exercise, _, nonce = line.partition(" ")
            if exercise.isdigit():
                found[int(exercise)] = nonce
    return found


def grade_submission(
    submission: Submission,
    canonical_labs: dict[int, CanonicalLab],
    *,
    lab: int | None = None,
    cell_timeout: float = 120,
    timeout: float = 900,
) -> list[ExerciseResult]:
    """Grade one notebook; never raises for anything the student did.

    Args:
        submission: the student and the notebook path.
        canonical_labs: lab number -> the canonical lab (see :func:`grade`).
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
    exercises = canonical.solution.metadata["ds500"]["exercises"]
    with tempfile.TemporaryDirectory(prefix="ds500-grade-") as tmp:
        work, reports = Path(tmp) / "work", Path(tmp) / "reports"
        work.mkdir()
        reports.mkdir()
        target, receipts = work / f"lab{number:02d}.ipynb", reports / "receipts.txt"
        prepared = assemble(notebook, canonical, receipts=str(receipts), notebook_file=str(target))
        nbformat.write(prepared.notebook, target)
        try:
            outcome = run_nbval(target, reports / "report.xml", cell_timeout=cell_timeout, timeout=timeout)
        except RuntimeError as err:
            return not_gradable(f"the notebook could not be executed ({str(err)[:_MAX_MESSAGE]})", number)
        confirmed = _receipts(receipts)
    rows = []
    for key, info in sorted(exercises.items(), key=lambda item: int(item[0])):
        exercise, max_points = int(key), float(info["points"])
        check = prepared.check_cells[exercise]
        reasons = list(prepared.review.get(exercise, []))
        if outcome is None:
            passed, message = False, f"not finished: the notebook ran over {timeout:g} s and was stopped"
        elif check not in outcome:
            passed, message = False, "the check cell was not run"
        elif (failure := outcome[check]) is None:
            passed = confirmed.get(exercise) == prepared.nonces[exercise]
            message = "passed" if passed else (
                "tampering detected: the check cell reported success but never reached its end (its "
                "errors were hidden or its code was replaced)"
            )
        else:
            passed = False
            if failure.startswith(SKIPPED):
                message = f"not run: {_stopped_cell(outcome, prepared.notebook, cell_timeout)}"
            else:
                message = _reason(failure, cell_timeout)
        if message.startswith("tampering detected"):
            reasons.insert(0, "tampering detected at the check")
        review = "review: " + "; ".join(reasons) if reasons else ""
        rows.append(
            ExerciseResult(
                submission.student, number, exercise, max_points if passed else 0.0, max_points, passed,
                message, name, review, tuple(prepared.notes),
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
                f"{r.points:g}", f"{r.max_points:g}", r.passed, r.message, r.notebook, r.review,
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
            lines += [f"Note: {note}" for note in dict.fromkeys(n for r in part for n in r.notes)]
            lines += [""] if part[0].notes else []
            for r in part:
                if r.exercise is None:
                    lines.append(f"- ❌ {r.message}")
                elif r.passed:
                    lines.append(f"- ✅ Exercise {r.exercise}: passed ({r.points:g} / {r.max_points:g})")
                else:
                    lines.append(f"- ❌ Exercise {r.exercise} (0 / {r.max_points:g}): {r.message}")
                if r.review:
                    lines.append(f"  - ⚠️ Your instructor will look at this exercise ({r.review})")
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
