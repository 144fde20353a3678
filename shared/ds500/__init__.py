"""ds500: the thin helper package behind the DS500 labs.

Plumbing only: fixtures with checksums, environment set-up and the offline guard,
check cells, the local Google Cloud stand-in, accelerator choice, quizzes, the exam
guide, the registry of dated facts, lab generation and grading. The ideas a student
must learn live in the notebooks, not here.

Importing ``ds500`` is cheap: it imports neither TensorFlow nor torch, and the
heavier submodules (``cloud``, ``accelerators``, ``quiz`` ...) load on first use::

    import ds500
    ctx = ds500.setup(seed=42)
    df = ds500.fixtures.load("telco_churn")
"""

from __future__ import annotations

import importlib
from typing import Any

from ds500.checks import Check, ExerciseNotDone
from ds500.environment import LabContext, setup

__version__ = "0.1.0"

__all__ = ["Check", "ExerciseNotDone", "LabContext", "setup", "__version__"]

_LAZY_SUBMODULES = {
    "accelerators",
    "cheatsheet",
    "churn_model",
    "churn_pipeline",
    "cloud",
    "corpus",
    "drift",
    "examguide",
    "facts",
    "fixtures",
    "grading",
    "labgen",
    "loadtest",
    "localcloud",
    "offline",
    "practice",
    "quiz",
    "serving",
    "tamper",
}


def __getattr__(name: str) -> Any:
    """Import submodules on first use, so ``import ds500`` stays fast."""
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"ds500.{name}")
    raise AttributeError(f"module 'ds500' has no attribute {name!r}")
