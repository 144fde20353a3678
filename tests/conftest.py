"""Shared fixtures: the repository root, the notebooks under test and the local cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LAB_IDS = [p.stem for p in SOLUTIONS]


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
