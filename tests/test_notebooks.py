"""Every solution passes all its checks under nbval; every untouched lab fails each one.

Each notebook is copied to a temporary folder and executed by ``pytest --nbval-lax``
in a child process, with the grader's own runner (``ds500.grading.run_nbval``); the
JUnit report tells, cell by cell, what passed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ds500 import grading

from conftest import LAB_IDS, ROOT, read, tags

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
def test_solution_passes_every_cell(stem: str, tmp_path: Path) -> None:
    results = run_nbval(ROOT / "solutions" / f"{stem}.ipynb", tmp_path)
    failed = {n: msg for n, msg in results.items() if msg is not None}
    assert results and not failed, "\n\n".join(f"Cell {n}:\n{m[-1500:]}" for n, m in failed.items())


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
