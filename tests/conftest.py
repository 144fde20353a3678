"""Shared fixtures: the repository root, the notebooks under test and the local cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LAB_IDS = [p.stem for p in SOLUTIONS]


SLOWEST_FIRST = ("07", "08", "11", "12", "09", "06", "14", "03", "04")
"""Labs by time to run (``nox -s bench``, 2026-12-03), slowest first; the rest keep their order.

Why: ``nox -s tests`` runs on two pytest-xdist workers that take tests in collection order.
A notebook test takes one to three minutes, a unit test a fraction of a second; when the
long ones start first, both workers finish together instead of one running a long notebook
alone at the end. Only the order depends on this list, never a result.
"""

GRADING_MODULES = ("tests/test_grading.py", "tests/test_grading_tamper.py")
"""Test modules whose module-scoped fixture grades a whole synthetic class (minutes of work)."""


def _start_order(item: pytest.Item) -> tuple[int, int]:
    if item.nodeid.split("::", 1)[0] in GRADING_MODULES:
        return (0, 0)
    if item.get_closest_marker("notebooks") is None:
        return (2, 0)
    lab = next((stem[:2] for stem in LAB_IDS if f"[{stem}]" in item.nodeid), "")
    return (1, SLOWEST_FIRST.index(lab) if lab in SLOWEST_FIRST else len(SLOWEST_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The grading tests first, then the notebook tests, the slowest labs' first (see
    :data:`SLOWEST_FIRST`), then the rest."""
    items.sort(key=_start_order)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: a run without it must not fail
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Send each test module to one xdist worker, but spread the notebook tests.

    Why: with plain ``-n 2`` (``--dist load``) the tests of one module land on both workers,
    so each worker builds the module's fixtures: both graded the synthetic classes of
    :data:`GRADING_MODULES`, 140 s and 85 s, twice. Here the two grading modules are one
    unit of work for one worker (the first, while the other starts the notebook tests),
    every other module is one unit, and each notebook test is a unit of its own, so the slow
    labs still run on both workers. Units are handed out in collection order.
    """
    from xdist.scheduler import LoadScopeScheduling

    class ModulePerWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if module == "tests/test_notebooks.py":
                return nodeid
            return "grading" if module in GRADING_MODULES else module

    config.option.loadscopereorder = False  # keep the order of pytest_collection_modifyitems
    return ModulePerWorker(config, log)


def read(path: Path) -> nbformat.NotebookNode:
    """Read a notebook as nbformat v4."""
    return nbformat.read(path, as_version=4)


def tags(cell: nbformat.NotebookNode) -> list[str]:
    """A cell's tags (an empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


@pytest.fixture(params=SOLUTIONS, ids=LAB_IDS)
def solution_path(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture(scope="module")
def ctx() -> Any:
    """The offline cloud context in us-central1: the SDKs pointed at the local stand-in.

    A test module that needs another region or a bucket made up front defines its own ``ctx``.
    """
    from ds500 import cloud

    return cloud.context(False, "", "us-central1")
