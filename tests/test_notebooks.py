"""Every solution passes all its checks, and its checks reject the recorded wrong answers;
every untouched lab fails each check and nothing else.

Each notebook is copied to a temporary folder. A solution runs in one kernel
(``exercise_probe``): after each check has passed, the wrong answers recorded in
``tests/wrong_answers/`` replace the exercise's answer and the check must fail with its
own message. An untouched lab runs under ``pytest --nbval-lax`` in a child process, with
the grader's own runner (``ds500.grading.run_nbval``); the JUnit report tells, cell by
cell, what passed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ds500 import grading

from conftest import LAB_IDS, ROOT, read, tags
from exercise_probe import WRONG_ANSWERS, load_wrong_answers, probe

pytestmark = pytest.mark.notebooks


def run_nbval(notebook: Path, tmp_path: Path) -> dict[int, str | None]:
    """Run a copy of ``notebook`` under nbval in ``tmp_path`` (what it writes stays there)."""
    work = tmp_path / "work"
    work.mkdir()
    copy = work / notebook.name
    shutil.copy2(notebook, copy)
    results = grading.run_nbval(copy, tmp_path / "report.xml", cell_timeout=300, timeout=900)
    assert results is not None, f"{notebook.name} did not finish within 900 s"
    return results


@pytest.mark.parametrize("stem", LAB_IDS)
def test_solution_passes_every_cell_and_its_checks_reject_wrong_answers(stem: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    copy = work / f"{stem}.ipynb"
    shutil.copy2(ROOT / "solutions" / copy.name, copy)
    report = probe(copy, load_wrong_answers(stem))
    assert not report.problems, "\n\n".join(report.problems)


MIN_WRONG_ANSWERS = 2
PENDING: set[str] = set()
"""Labs (two-digit numbers) allowed to lack MIN_WRONG_ANSWERS per exercise; every lab has them now."""


@pytest.mark.parametrize("stem", LAB_IDS)
def test_every_exercise_has_recorded_wrong_answers(stem: str) -> None:
    exercises = {
        int(c.metadata["ds500"]["exercise"]) for c in read(ROOT / "solutions" / f"{stem}.ipynb").cells
        if "check" in tags(c)
    }
    recorded = load_wrong_answers(stem)
    short = sorted(n for n in exercises if len(recorded.get(n, [])) < MIN_WRONG_ANSWERS)
    unknown = sorted(set(recorded) - exercises)
    assert not unknown, f"{WRONG_ANSWERS.name}/{stem}.yaml names exercises the lab lacks: {unknown}"
    if stem[:2] in PENDING:
        assert short, f"{stem} is complete: remove it from PENDING"
        pytest.skip(f"exercises {short} still need {MIN_WRONG_ANSWERS} recorded wrong answers")
    assert not short, f"exercises {short} of {stem} need {MIN_WRONG_ANSWERS} recorded wrong answers"


@pytest.mark.parametrize("stem", LAB_IDS)
def test_untouched_lab_fails_every_check_and_nothing_else(stem: str, tmp_path: Path) -> None:
    code = [c for c in read(ROOT / "labs" / f"{stem}.ipynb").cells if c.cell_type == "code"]
    results = run_nbval(ROOT / "labs" / f"{stem}.ipynb", tmp_path)
    assert len(results) == len(code)
    for n, cell in enumerate(code):
        outcome = results[n]
        if "check" in tags(cell):
            exercise = cell.metadata["ds500"]["exercise"]
            assert outcome is not None, f"check cell {cell.id} passed on the untouched lab"
            assert f"❌ Exercise {exercise}" in outcome, (
                f"{cell.id} failed without its message:\n{outcome[-1500:]}"
            )
        elif "solution" in tags(cell) and outcome is not None:
            assert "NotImplementedError" in outcome, f"stub {cell.id} failed oddly:\n{outcome[-1500:]}"
        else:
            assert outcome is None, f"cell {cell.id} must not fail on the untouched lab:\n{outcome[-1500:]}"
