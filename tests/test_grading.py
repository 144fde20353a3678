"""``ds500 grade`` on a class of synthetic submissions, hostile ones included.

The submissions are made here from lab 00's solution and student lab (the fastest
lab); one batch grades them all, and each test reads its rows.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import nbformat
import pytest

from ds500 import grading
from ds500.cli import main

from conftest import ROOT, read, tags

SOLUTION = ROOT / "solutions" / "00_start_here.ipynb"
LAB = ROOT / "labs" / "00_start_here.ipynb"
POINTS = {int(k): v["points"] for k, v in read(SOLUTION).metadata["ds500"]["exercises"].items()}
CELL_TIMEOUT = 30  # for the endless-loop and crash submissions; the others get the default
HOSTILE = ("endless", "crash")
PATCH = "import ds500.checks\nds500.checks.Check.__exit__ = lambda self, *args: True"


def _code(source: str, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    return cell


def _after(nb: nbformat.NotebookNode, cell_id: str, *cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    index = next(i for i, c in enumerate(nb.cells) if c.get("id") == cell_id)
    nb.cells[index + 1 : index + 1] = list(cells)
    return nb


def _without(nb: nbformat.NotebookNode, *cell_ids: str) -> nbformat.NotebookNode:
    nb.cells = [c for c in nb.cells if c.get("id") not in cell_ids]
    return nb


def _in_region(
    nb: nbformat.NotebookNode, cell_id: str, code: str, *, first: bool = False
) -> nbformat.NotebookNode:
    """Put ``code`` inside the solution region of a solution notebook's exercise cell."""
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    marker = "### BEGIN SOLUTION\n" if first else "### END SOLUTION"
    cell.source = cell.source.replace(marker, f"{marker}{code}\n" if first else f"{code}\n{marker}")
    return nb


def _tampered() -> nbformat.NotebookNode:
    nb = read(LAB)
    for cell in nb.cells:
        if "check" in tags(cell):
            cell.source = "pass  # trust me"
    for info in nb.metadata["ds500"]["exercises"].values():
        info["points"] = 100
    return nb


def _no_metadata() -> nbformat.NotebookNode:
    nb = read(SOLUTION)
    del nb.metadata["ds500"]
    return nb


SUBMISSIONS = {
    "solved": lambda: read(SOLUTION),
    "untouched": lambda: read(LAB),
    "tampered": _tampered,
    "deleted": lambda: _without(read(SOLUTION), "ex2-check", "ex3-solution"),
    "endless": lambda: _in_region(read(SOLUTION), "ex1-solution", "while True:\n    pass"),
    "crash": lambda: _in_region(read(SOLUTION), "ex2-solution", "import os\nos._exit(1)", first=True),
    "noisy": lambda: _in_region(
        read(SOLUTION), "ex1-solution",
        "print('x' * 20_000_000)\nimport os\nfor name in os.listdir('.'):\n    os.remove(name)",
    ),
    "extra_patch": lambda: _after(read(LAB), "setup", _code(PATCH, "patch")),
    "no_metadata": _no_metadata,
    "other_lab": lambda: read(ROOT / "solutions" / "01_problem_framing.ipynb"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[grading.ExerciseResult]]]:
    folder, hostile = tmp_path_factory.mktemp("class"), tmp_path_factory.mktemp("hostile")
    for name, make in SUBMISSIONS.items():
        nbformat.write(make(), (hostile if name in HOSTILE else folder) / f"{name}.ipynb")
    (folder / "broken.ipynb").write_text("{not json", encoding="utf-8")
    (folder / "team").mkdir()
    nbformat.write(read(SOLUTION), folder / "team" / "00_start_here.ipynb")
    files = [*folder.rglob("*.ipynb"), *hostile.rglob("*.ipynb")]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    results = grading.grade([folder], solutions_dir=ROOT / "solutions", lab=0, jobs=2, timeout=600)
    results += grading.grade([hostile], solutions_dir=ROOT / "solutions", lab=0, jobs=2,
                             cell_timeout=CELL_TIMEOUT, timeout=600)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    assert before == after, "grading modified a submission"
    by_student: dict[str, list[grading.ExerciseResult]] = {}
    for row in results:
        by_student.setdefault(row.student, []).append(row)
    return folder, by_student


def _outcome(rows: list[grading.ExerciseResult]) -> list[tuple[int | None, float, bool]]:
    return [(r.exercise, r.points, r.passed) for r in rows]


def _full(*passed: bool) -> list[tuple[int, float, bool]]:
    return [(n, POINTS[n] if ok else 0.0, ok) for n, ok in zip(sorted(POINTS), passed, strict=True)]


def test_every_submission_gets_a_result(graded) -> None:
    _, rows = graded
    assert set(rows) == set(SUBMISSIONS) | {"broken", "team"}


def test_solution_and_team_folder_get_full_points(graded) -> None:
    _, rows = graded
    for student in ("solved", "team"):
        assert _outcome(rows[student]) == _full(True, True, True)
        assert all(r.lab == 0 and r.message == "passed" for r in rows[student])


def test_untouched_lab_fails_each_check_with_its_message(graded) -> None:
    _, rows = graded
    assert _outcome(rows["untouched"]) == _full(False, False, False)
    assert all(r.message.startswith("not answered yet") for r in rows["untouched"])


def test_edited_checks_and_points_are_restored(graded) -> None:
    _, rows = graded
    assert _outcome(rows["tampered"]) == _full(False, False, False)
    assert [r.max_points for r in rows["tampered"]] == [POINTS[n] for n in sorted(POINTS)]


def test_deleted_check_is_restored_and_deleted_answer_scores_zero(graded) -> None:
    _, rows = graded
    assert _outcome(rows["deleted"]) == _full(True, True, False)
    assert rows["deleted"][2].message.startswith("not answered yet")
    assert "Exercise 3: the exercise cell `ex3-solution` was deleted" in rows["deleted"][2].notes[0]


def test_code_in_an_added_cell_is_not_run(graded) -> None:
    _, rows = graded
    assert _outcome(rows["extra_patch"]) == _full(False, False, False)
    assert all(r.message.startswith("not answered yet") and not r.review for r in rows["extra_patch"])
    assert rows["extra_patch"][0].notes == ("1 code cell(s) you added were not run: only your code in the "
                                            "exercise cells is graded.",)


def test_endless_loop_in_an_answer_is_interrupted_and_the_rest_still_runs(graded) -> None:
    _, rows = graded
    assert _outcome(rows["endless"]) == _full(True, True, True)


def test_kernel_crash_scores_the_later_checks_zero_with_the_reason(graded) -> None:
    _, rows = graded
    assert _outcome(rows["crash"]) == _full(True, False, False)
    for row in rows["crash"][1:]:
        assert row.message.startswith("not run: code cell") and "(`import os`) ran over" in row.message


def test_megabytes_of_output_and_deleted_files_in_an_answer_do_not_matter(graded) -> None:
    _, rows = graded
    assert _outcome(rows["noisy"]) == _full(True, True, True)


@pytest.mark.parametrize(
    ("student", "reason"),
    [
        ("broken", "not gradable: not a valid notebook: broken JSON at line 1"),
        ("no_metadata", "not gradable: the notebook has no DS500 lab number"),
        ("other_lab", "not gradable: this is lab 01, not lab 00"),
    ],
)
def test_not_gradable_submissions_say_why(graded, student: str, reason: str) -> None:
    _, rows = graded
    [row] = rows[student]
    assert row.message.startswith(reason) and row.points == 0 and row.exercise is None


def test_reports(graded, tmp_path: Path) -> None:
    _, rows = graded
    results = [r for student in sorted(rows) for r in rows[student]]
    book = grading.write_gradebook(results, tmp_path / "gradebook.csv")
    table = list(csv.DictReader(book.open(encoding="utf-8")))
    assert list(table[0]) == list(grading.GRADEBOOK_COLUMNS)
    solved = {(r["student"], r["exercise"], r["points"], r["passed"]) for r in table
              if r["student"] == "solved"}
    assert solved == {("solved", str(n), f"{POINTS[n]:g}", "True") for n in POINTS}
    files = grading.write_feedback(results, tmp_path / "feedback")
    assert len(files) == len(rows)
    crash = (tmp_path / "feedback" / "crash.md").read_text(encoding="utf-8")
    assert "✅ Exercise 1: passed" in crash and "❌ Exercise 2 (0 / 3): not run" in crash
    summary = grading.format_summary(results)
    assert "solved" in summary and f"{sum(POINTS.values())}/{sum(POINTS.values())}" in summary


def test_whole_notebook_timeout(tmp_path: Path) -> None:
    # In the answer region: the grader runs only the student's answers, so an added cell never runs,
    # and lab 00 alone now finishes within the 8 s (it did not when this test was written).
    slow = _in_region(read(SOLUTION), "ex1-solution", "import time\ntime.sleep(60)", first=True)
    nbformat.write(slow, tmp_path / "slow.ipynb")
    canonical = grading._canonical_labs(ROOT / "solutions")
    rows = grading.grade_submission(
        grading.Submission("slow", tmp_path / "slow.ipynb"), canonical, cell_timeout=120, timeout=8
    )
    assert [r.passed for r in rows] == [False] * len(POINTS)
    assert all("ran over 8 s" in r.message for r in rows)


def test_assemble_keeps_only_the_exercise_code_of_the_student() -> None:
    canonical = grading._canonical_labs(ROOT / "solutions")[0]
    student = _without(read(SOLUTION), "parameters", "ex1-check")
    student = _after(student, "setup", _code("extra = 1", "student-extra"))
    next(c for c in student.cells if c.get("id") == "confidence").source = "my_confidence = {}"
    next(c for c in student.cells if c.get("id") == "ex2-check").source = "pass"
    built = grading.assemble(student, canonical, receipts="receipts.txt")
    ids = [c.id for c in built.notebook.cells]
    lab_ids = [c.id for c in canonical.lab.cells]
    first = lab_ids.index("ex1-solution")
    assert ids == [*lab_ids[:first], "ds500-guard", *lab_ids[first:]]
    by_id = {c.id: c.source for c in built.notebook.cells}
    solution = {c.id: c.source for c in read(SOLUTION).cells}
    assert by_id["confidence"] == solution["confidence"] and "extra" not in by_id
    assert by_id["ex1-solution"] == solution["ex1-solution"].replace("### BEGIN SOLUTION\n", "").replace(
        "### END SOLUTION\n", "")
    for exercise in (1, 2):
        check = built.notebook.cells[ids.index(f"ex{exercise}-check")].source
        assert check.startswith(f"_ds500_guard.verify({exercise}, ")
        assert check.endswith(f"_ds500_guard.confirm({exercise}, {built.nonces[exercise]!r})")
        assert solution[f"ex{exercise}-check"] in check
    assert built.notes == [
        "1 code cell(s) you added were not run: only your code in the exercise cells is graded.",
        "Your edits to 1 of the lab's other code cells were not used: those cells ran as the lab has them.",
    ]
    assert built.review == {1: [], 2: [], 3: []}


def test_assemble_finds_the_answer_without_markers() -> None:
    canonical = grading._canonical_labs(ROOT / "solutions")[0]
    student = read(LAB)
    cell = next(c for c in student.cells if c.get("id") == "ex1-solution")
    cell.source = cell.source.replace("exact = ...  # YOUR CODE HERE", "exact = 1\nimport builtins")
    other = next(c for c in student.cells if c.get("id") == "ex3-solution")
    other.source = "retired = []"  # the lab's print lines after the answer were deleted
    built = grading.assemble(student, canonical, receipts="receipts.txt")
    by_id = {c.id: c.source for c in built.notebook.cells}
    assert by_id["ex1-solution"].splitlines()[:2] == ["exact = 1", "import builtins"]
    assert by_id["ex1-solution"].endswith("\nquestions_per_section")
    assert by_id["ex3-solution"].startswith("retired = []\nprint(")
    assert built.review == {1: ["imports builtins"], 2: [], 3: []}


def test_find_submissions(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "x.ipynb").write_text("{}")
    (tmp_path / "bob" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "bob" / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    found = grading.find_submissions([tmp_path])
    assert [(s.student, s.path.name) for s in found] == [("a", "a.ipynb"), ("bob", "x.ipynb")]
    with pytest.raises(FileNotFoundError, match="no such file"):
        grading.find_submissions([tmp_path / "missing"])
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ValueError, match="are .ipynb notebooks"):
        grading.find_submissions([tmp_path / "notes.txt"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no notebooks found"):
        grading.find_submissions([tmp_path / "empty"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"jobs": 0}, "jobs must be a positive integer"), ({"cell_timeout": 0}, "timeouts must be positive")],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        grading.grade([tmp_path], solutions_dir=ROOT / "solutions", **kwargs)


def test_cli_reports_missing_solutions_folder(tmp_path: Path, capsys) -> None:
    nbformat.write(read(LAB), tmp_path / "x.ipynb")
    assert main(["grade", str(tmp_path / "x.ipynb"), "--solutions", str(tmp_path / "nope")]) == 2
    assert "no solutions folder" in capsys.readouterr().err
