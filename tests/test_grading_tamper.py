"""``ds500 grade`` against submissions that patch what the check cells rely on (lab 01).

Each submission tries one family of routes; one ``grade`` call runs them all. Without
the guard every one of them would score full marks on the exercises asserted here.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from ds500 import grading, tamper

from conftest import ROOT, read

SOLUTION = ROOT / "solutions" / "01_problem_framing.ipynb"
LAB = ROOT / "labs" / "01_problem_framing.ipynb"
EXERCISES = [1, 2, 3, 4, 5]


def _region(nb: nbformat.NotebookNode, cell_id: str, code: str) -> nbformat.NotebookNode:
    """Append ``code`` to the student's answer in an exercise cell (solution or lab)."""
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    if "### END SOLUTION" in cell.source:
        cell.source = cell.source.replace("### END SOLUTION", f"{code}\n### END SOLUTION")
    else:
        cell.source = f"{code}\n{cell.source}"
    return nb


def _extras() -> nbformat.NotebookNode:
    nb = read(SOLUTION)
    note = nbformat.v4.new_markdown_cell("My notes: the leaks are written after the customer leaves.")
    scratch = nbformat.v4.new_code_cell("print(len(leaky_columns))")
    nb.cells[5:5] = [note, scratch]
    return nb


CHECK_CLASS = """\
import ds500.checks
ds500.checks.Check.__exit__ = lambda self, *args: True


class Check:
    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return True

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


ds500.Check = Check"""

NUMPY = """\
profit_by_k = profit_by_k + np.r_[0.0, np.ones(len(profit_by_k) - 1)]  # wrong after the first k
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None"""

BUILTINS = """\
import builtins
builtins.print = lambda *args, **kwargs: None
builtins.AssertionError = Exception
sorted = lambda *args, **kwargs: []"""

HIDDEN_ERRORS = "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)"

SUBMISSIONS = {
    "extras": _extras,
    "check_class": lambda: _region(read(LAB), "ex1-solution", CHECK_CLASS),
    "numpy": lambda: _region(read(SOLUTION), "ex4-solution", NUMPY),
    "builtins": lambda: _region(read(SOLUTION), "ex5-solution", BUILTINS),
    "hidden_errors": lambda: _region(read(LAB), "ex1-solution", HIDDEN_ERRORS),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[grading.ExerciseResult]]:
    folder = tmp_path_factory.mktemp("tamper")
    for name, make in SUBMISSIONS.items():
        nbformat.write(make(), folder / f"{name}.ipynb")
    results = grading.grade([folder], solutions_dir=ROOT / "solutions", lab=1, jobs=2, timeout=600)
    by_student: dict[str, list[grading.ExerciseResult]] = {}
    for row in results:
        by_student.setdefault(row.student, []).append(row)
    return by_student


def _passed(rows: list[grading.ExerciseResult]) -> list[bool]:
    return [r.passed for r in rows]


def test_solution_with_harmless_extra_cells_keeps_full_marks(graded) -> None:
    rows = graded["extras"]
    assert _passed(rows) == [True] * 5 and all(r.points == r.max_points and not r.review for r in rows)
    assert rows[0].notes == ("1 code cell(s) you added were not run: only your code in the exercise cells "
                             "is graded.",)


def test_patched_or_replaced_check_class_scores_zero_and_is_flagged(graded) -> None:
    rows = graded["check_class"]
    assert _passed(rows) == [False] * 5
    for row in rows:
        assert row.message.startswith("tampering detected: ")
        assert "ds500.Check was replaced" in row.message and "Check.__exit__ was replaced" in row.message
        assert row.review.startswith("review: tampering detected at the check")
    assert "imports ds500.checks" in rows[0].review
    assert "assigns ds500.Check (patches a module)" in rows[0].review


def test_patched_numpy_comparison_scores_zero_from_that_exercise_on(graded) -> None:
    rows = graded["numpy"]
    assert _passed(rows) == [True, True, True, False, False]
    assert "np.allclose was replaced" in rows[3].message
    assert "numpy.testing.assert_allclose was replaced" in rows[3].message
    assert "assigns np.allclose (patches a module)" in rows[3].review and not rows[0].review


def test_patched_or_shadowed_builtins_score_zero(graded) -> None:
    rows = graded["builtins"]
    assert _passed(rows) == [True, True, True, True, False]
    for text in ("builtins.print was replaced", "builtins.AssertionError was replaced"):
        assert text in rows[4].message
    assert "imports builtins" in rows[4].review and "rebinds `sorted`, which a check uses" in rows[4].review


def test_hidden_errors_leave_no_receipt_and_score_zero(graded) -> None:
    rows = graded["hidden_errors"]
    assert _passed(rows) == [False] * 5
    assert all("never reached its end" in r.message for r in rows)
    assert "uses get_ipython()" in rows[0].review


def test_feedback_and_gradebook_show_the_review(graded, tmp_path: Path) -> None:
    results = [r for rows in graded.values() for r in rows]
    book = grading.write_gradebook(results, tmp_path / "gradebook.csv").read_text(encoding="utf-8")
    assert book.splitlines()[0].endswith(",notebook,review")
    grading.write_feedback(results, tmp_path / "feedback")
    feedback = (tmp_path / "feedback" / "numpy.md").read_text(encoding="utf-8")
    assert "⚠️ Your instructor will look at this exercise (review: tampering detected" in feedback
    assert "Note: " not in feedback
    extras = (tmp_path / "feedback" / "extras.md").read_text(encoding="utf-8")
    assert "Note: 1 code cell(s) you added" in extras


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("import ds500.checks\nds500.checks.Check.__exit__ = f", "imports ds500.checks"),
        ("setattr(np, 'allclose', f)", "calls setattr()"),
        ("globals()['y_test'] = 1", "uses globals()"),
        ("import sys\nsys.modules['numpy'] = None", "uses sys.modules"),
        ("import importlib", "imports importlib"),
        ("f.__code__ = g.__code__", "uses __code__"),
        ("x = (1).__class__", "uses __class__"),
        ("exec('1')", "calls exec()"),
        ("open('../solutions/01_problem_framing.ipynb')", "reads the solutions folder"),
        ("import socket", "network access (socket)"),
        ("import urllib.request", "network access (urllib)"),
        ("import requests", "network access (requests)"),
        ("import subprocess", "runs programs (subprocess)"),
        ("import os\nos.system('ls')", "runs programs (os.system)"),
        ("class A:\n    def __eq__(self, other):\n        return True", "defines __eq__"),
        ("y_test = y_test[:10]", "rebinds `y_test`, which a check uses"),
        ("_ds500_guard.verify = print", "touches the grader's guard"),
    ],
)
def test_scan_flags_what_answers_never_need(code: str, reason: str) -> None:
    source = f"x = 1\n{code}\nprint(x)"
    lines = range(2, 2 + len(code.splitlines()))
    reasons = tamper.scan(source, lines, modules={"np"}, protected={"y_test"})
    assert any(r.startswith(reason) for r in reasons), reasons


def test_scan_is_clean_on_every_solution_and_looks_only_at_the_region() -> None:
    for number, canonical in grading._canonical_labs(ROOT / "solutions").items():
        built = grading.assemble(canonical.solution, canonical, receipts="r.txt")
        assert all(not reasons for reasons in built.review.values()), (number, built.review)
    assert tamper.scan("import builtins\nx = 1", range(2, 3), modules=set(), protected=set()) == []
    assert tamper.scan("def f(:\n  pass", range(1, 3), modules=set(), protected=set()) == []


def test_guard_reports_what_was_patched(tmp_path: Path) -> None:
    import numpy as np

    import ds500.checks

    namespace = {"np": np, "ds500": __import__("ds500")}
    check = "with ds500.Check('E') as c:\n    c.true(np.allclose(1, 1), 'x')\n    print(1)"
    use = tamper.check_references(check, {"np", "ds500"})
    assert use.chains == ["ds500.Check", "np.allclose"] and use.builtins == ["print"]
    guard = tamper.Guard(namespace, use.chains, str(tmp_path / "receipts.txt"))
    guard.verify(1, use.builtins)
    original = ds500.checks.Check.__exit__
    try:
        ds500.checks.Check.__exit__ = lambda self, *args: True
        namespace["print"] = len
        expected = r"Exercise 2: tampering detected: .*`print` is shadowed.*Check.__exit__ was replaced"
        with pytest.raises(tamper.TamperingDetected, match=expected):
            guard.verify(2, use.builtins)
    finally:
        ds500.checks.Check.__exit__ = original
    guard.confirm(3, "abc")
    assert (tmp_path / "receipts.txt").read_text(encoding="utf-8") == "3 abc\n"
