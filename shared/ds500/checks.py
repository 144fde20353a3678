"""Check cells: a friendly pass message, or an ``AssertionError`` that teaches.

Every graded exercise in a lab ends with a ``check``-tagged cell built from
:class:`Check`. The grader (nbval) only sees pass or fail, so the *message* of
the failure is the feedback the student reads: it names the exercise, says
what was expected, and gives a hint.

Example (a check cell)::

    with ds500.Check("Exercise 1", hint="Divide churners by all customers.") as c:
        c.answered(churn_rate=churn_rate)
        c.close("churn rate", churn_rate, df["churn"].mean(), atol=1e-3)

An untouched lab leaves answers as ``...`` (``Ellipsis``); :meth:`Check.answered`
turns that into "not answered yet" rather than a confusing ``TypeError`` later.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from types import TracebackType
from typing import Any

__all__ = ["Check", "ExerciseNotDone"]


class ExerciseNotDone(AssertionError):
    """Raised by a check cell whose exercise is unanswered or wrong.

    It subclasses ``AssertionError`` so that nbval, pytest and the grader treat
    it as a failed check, and its message is what the student sees.
    """


class Check:
    """A context manager that runs a check cell's assertions for one exercise.

    Args:
        exercise: the label shown to the student, e.g. ``"Exercise 2"``.
        hint: one sentence that points at the idea, shown with every failure.
        success: what to print when every assertion passes.

    Raises:
        ValueError: if ``exercise`` is empty.
    """

    def __init__(self, exercise: str, hint: str = "", success: str = "") -> None:
        if not isinstance(exercise, str) or not exercise.strip():
            raise ValueError("Check needs the exercise label, e.g. Check('Exercise 1', ...)")
        self.exercise = exercise.strip()
        self.hint = hint.strip()
        self.success = success.strip()

    # -- context manager -------------------------------------------------
    def __enter__(self) -> Check:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc_type is None:
            extra = f" {self.success}" if self.success else ""
            print(f"✅ {self.exercise} passed.{extra}")
        return False  # never swallow a failure

    # -- assertions ------------------------------------------------------
    def fail(self, problem: str) -> None:
        """Raise :class:`ExerciseNotDone` with the exercise label and the hint."""
        message = f"❌ {self.exercise}: {problem}"
        if self.hint:
            message += f"\nHint: {self.hint}"
        raise ExerciseNotDone(message)

    def answered(self, **answers: Any) -> None:
        """Fail if any answer is still the ``...`` placeholder (or ``None``)."""
        if not answers:
            raise ValueError("answered() needs at least one name=value pair")
        missing = [name for name, value in answers.items() if value is Ellipsis or value is None]
        if missing:
            names = ", ".join(f"`{n}`" for n in missing)
            self.fail(
                f"not answered yet: {names} still holds the `...` placeholder. "
                "Write your answer in the exercise cell above, run it, then run this cell again."
            )

    def true(self, condition: Any, problem: str) -> None:
        """Fail with ``problem`` unless ``condition`` is truthy."""
        if not bool(condition):
            self.fail(problem)

    def equal(self, what: str, actual: Any, expected: Any) -> None:
        """Fail unless ``actual == expected``; the message shows both."""
        if not _equal(actual, expected):
            self.fail(f"{what} should be {expected!r}, got {actual!r}.")

    def close(
        self,
        what: str,
        actual: Any,
        expected: float,
        *,
        rtol: float = 1e-6,
        atol: float = 0.0,
    ) -> None:
        """Fail unless ``actual`` is a finite number within tolerance of ``expected``."""
        try:
            value = float(actual)
        except (TypeError, ValueError):
            self.fail(f"{what} should be a number, got {type(actual).__name__} {actual!r}.")
            return
        if not math.isfinite(value):
            self.fail(f"{what} should be a finite number, got {value!r}.")
        if not math.isclose(value, float(expected), rel_tol=rtol, abs_tol=atol):
            self.fail(f"{what} should be about {float(expected):.6g}, got {value:.6g}.")

    def between(self, what: str, actual: Any, low: float, high: float) -> None:
        """Fail unless ``low <= actual <= high``."""
        try:
            value = float(actual)
        except (TypeError, ValueError):
            self.fail(f"{what} should be a number, got {type(actual).__name__} {actual!r}.")
            return
        if not low <= value <= high:
            self.fail(f"{what} should lie between {low:g} and {high:g}, got {value:.6g}.")

    def is_a(self, what: str, actual: Any, types: type | tuple[type, ...]) -> None:
        """Fail unless ``actual`` is an instance of ``types``."""
        if not isinstance(actual, types):
            wanted = (
                " or ".join(t.__name__ for t in types)
                if isinstance(types, tuple)
                else types.__name__
            )
            self.fail(f"{what} should be a {wanted}, got {type(actual).__name__}.")

    def same_items(self, what: str, actual: Iterable[Any], expected: Iterable[Any]) -> None:
        """Fail unless both iterables hold the same items, in any order."""
        try:
            got, want = sorted(map(str, actual)), sorted(map(str, expected))
        except TypeError:
            self.fail(f"{what} should be a list, got {type(actual).__name__}.")
            return
        if got != want:
            extra = sorted(set(got) - set(want))
            lacking = sorted(set(want) - set(got))
            detail = []
            if lacking:
                detail.append(f"missing {lacking}")
            if extra:
                detail.append(f"unexpected {extra}")
            self.fail(f"{what} is not right: {'; '.join(detail) or 'wrong counts'}.")


def _equal(actual: Any, expected: Any) -> bool:
    """``==`` that tolerates numpy scalars and never raises on odd types."""
    try:
        return bool(actual == expected)
    except Exception:  # e.g. an array compared with a scalar
        return False
