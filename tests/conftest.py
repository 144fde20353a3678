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


def _start_order(item: pytest.Item) -> tuple[int, int]:
    if item.get_closest_marker("notebooks") is None:
        return (1, 0)
    lab = next((stem[:2] for stem in LAB_IDS if f"[{stem}]" in item.nodeid), "")
    return (0, SLOWEST_FIRST.index(lab) if lab in SLOWEST_FIRST else len(SLOWEST_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Notebook tests first, the slowest labs' first (see :data:`SLOWEST_FIRST`)."""
    items.sort(key=_start_order)


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
