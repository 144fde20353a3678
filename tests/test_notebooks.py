"""Every solution passes all its checks under nbval; every untouched lab fails each one.

Each notebook is executed by ``pytest --nbval-lax`` in a child process, exactly as an
instructor would grade it; the JUnit report tells, cell by cell, what passed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import LAB_IDS, ROOT, read, tags

pytestmark = pytest.mark.notebooks


def run_nbval(notebook: Path, report: Path) -> dict[int, str | None]:
    """Execute ``notebook`` under nbval; map each code cell's index to its failure (or None)."""
    env = {**os.environ, "DS500_OFFLINE": "1", "NO_GCE_CHECK": "true", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", str(notebook), "-q", "-p", "no:cacheprovider",
         "-o", "addopts=", "--nbval-cell-timeout=300", f"--junitxml={report}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert report.exists(), f"nbval did not run:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    results: dict[int, str | None] = {}
    for case in ET.parse(report).iter("testcase"):
        number = int(case.get("name", "").removeprefix("Cell "))
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        results[number] = None if problem is None else (problem.get("message", "") + (problem.text or ""))
    return results


@pytest.mark.parametrize("stem", LAB_IDS)
def test_solution_passes_every_cell(stem: str, tmp_path: Path) -> None:
    results = run_nbval(ROOT / "solutions" / f"{stem}.ipynb", tmp_path / "report.xml")
    failed = {n: msg for n, msg in results.items() if msg is not None}
    assert results and not failed, "\n\n".join(f"Cell {n}:\n{m[-1500:]}" for n, m in failed.items())


@pytest.mark.parametrize("stem", LAB_IDS)
def test_untouched_lab_fails_every_check_and_nothing_else(stem: str, tmp_path: Path) -> None:
    code = [c for c in read(ROOT / "labs" / f"{stem}.ipynb").cells if c.cell_type == "code"]
    results = run_nbval(ROOT / "labs" / f"{stem}.ipynb", tmp_path / "report.xml")
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
