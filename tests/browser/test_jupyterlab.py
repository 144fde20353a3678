"""A student's path through JupyterLab, in a real browser.

Each test opens a notebook in JupyterLab, runs every cell from the Run menu, waits
for the kernel to go idle and asserts on what a student would see. Screenshots go
to ``build/screenshots/``. Run with ``nox -s browser`` (which starts JupyterLab as
the README's ``nox -s lab`` does) or ``pytest -m browser tests/browser``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser

RUN_TIMEOUT_S = 240
SOLUTIONS = [
    "solutions/01_problem_framing.ipynb",
    "solutions/10_serving_microservices.ipynb",  # starts a real server from the kernel
    "solutions/17_practice_exam.ipynb",
]
"""Solutions run end to end in the browser (a sample: each costs its run time)."""


def _exercises(relative: str) -> list[str]:
    metadata = json.loads((ROOT / relative).read_text(encoding="utf-8"))["metadata"]["ds500"]
    return sorted(metadata["exercises"], key=int)


def _open(browser: Any, server: Any, relative: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server.lab_url(relative))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    # The kernel named by the notebook's kernelspec started by itself and is ready.
    _kernel_status(page, "Idle").wait_for(timeout=90_000)
    return page


def _kernel_status(page: Any, status: str) -> Any:
    """The status bar item "Python 3 (ipykernel) | <status>" (present once a kernel is connected)."""
    return page.locator(".jp-StatusBar-TextItem", has_text=re.compile(rf"^Python 3.*\| {status}$"))


def _kernel_dialog(page: Any) -> bool:
    return page.locator(".jp-Dialog").filter(has_text=re.compile("Select Kernel", re.I)).count() > 0


def _run_all(page: Any) -> float:
    """Run all cells from the Run menu; return seconds until the kernel is idle again."""
    start = time.monotonic()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    # The first code cell gets execution count 1 once the kernel has taken the request.
    page.locator(".jp-InputPrompt", has_text=re.compile(r"^\[1\]:$")).first.wait_for(timeout=60_000)
    deadline = start + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        busy = page.locator(".jp-InputPrompt", has_text="[*]").count()
        if busy == 0 and _kernel_status(page, "Idle").count():
            return time.monotonic() - start
        page.wait_for_timeout(500)
    raise AssertionError(f"the notebook was still running after {RUN_TIMEOUT_S} s")


def _outputs(page: Any) -> str:
    return "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())


@pytest.mark.parametrize("relative", SOLUTIONS)
def test_solution_runs_clean_in_jupyterlab(
    browser: Any, jupyter_server: Any, screenshot: Any, relative: str
) -> None:
    page = _open(browser, jupyter_server, relative)
    assert not _kernel_dialog(page), "JupyterLab asked for a kernel: is the python3 kernelspec missing?"
    seconds = _run_all(page)
    print(f"{relative}: run all took {seconds:.1f} s in the browser")
    text = _outputs(page)
    assert not _kernel_dialog(page)
    assert "Traceback" not in text and not re.search(r"^\w*Error\b", text, re.M), text[-3000:]
    assert page.locator(".jp-OutputArea-output img").count() >= 1, "no plot was rendered"
    for number in _exercises(relative):
        assert f"✅ Exercise {number} passed." in text, f"the pass message of exercise {number} is missing"
    page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
    screenshot(page, relative.replace("/", "_").removesuffix(".ipynb"))
    page.close()


def test_untouched_lab_stops_at_the_first_exercise(
    browser: Any, jupyter_server: Any, screenshot: Any
) -> None:
    relative = "labs/00_start_here.ipynb"
    page = _open(browser, jupyter_server, relative)
    assert not _kernel_dialog(page)
    _run_all(page)
    text = _outputs(page)
    assert "❌ Exercise 1" in text, text[-3000:]
    assert "NameError" not in text, "a bare NameError reached the student"
    for number in _exercises(relative)[1:]:
        assert f"Exercise {number}" not in text, f"execution went on past exercise 1 to exercise {number}"
    failure = page.locator(".jp-OutputArea-output", has_text="❌ Exercise 1").first
    failure.scroll_into_view_if_needed()
    screenshot(page, relative.replace("/", "_").removesuffix(".ipynb"))
    page.close()
