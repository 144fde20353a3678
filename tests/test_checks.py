"""Unit tests of ds500.checks: every assertion can fail, and says why."""

from __future__ import annotations

import numpy as np
import pytest

from ds500.checks import Check, ExerciseNotDone


def test_pass_prints_a_friendly_message(capsys) -> None:
    with Check("Exercise 1", success="Well done.") as c:
        c.answered(x=1)
        c.equal("x", np.int64(1), 1)
        c.close("rate", 0.2654, 0.26537, atol=1e-3)
        c.between("k", 5, 1, 10)
        c.is_a("x", 1, (int, float))
        c.same_items("columns", ["b", "a"], ["a", "b"])
        c.true(True, "never shown")
    assert capsys.readouterr().out.strip() == "✅ Exercise 1 passed. Well done."


def test_placeholder_is_not_answered() -> None:
    with pytest.raises(ExerciseNotDone, match=r"Exercise 2: not answered yet: `rate`") as err:
        with Check("Exercise 2", hint="Use the mean.") as c:
            c.answered(rate=..., other=3)
    assert "Hint: Use the mean." in str(err.value)
    assert isinstance(err.value, AssertionError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.equal("k", 3, 4), "k should be 4, got 3"),
        (lambda c: c.equal("a", np.arange(3), 1), "a should be 1"),
        (lambda c: c.close("rate", 0.5, 0.26, atol=1e-3), "rate should be about 0.26, got 0.5"),
        (lambda c: c.close("rate", "high", 0.26), "rate should be a number, got str"),
        (lambda c: c.close("rate", float("nan"), 0.26), "finite number"),
        (lambda c: c.between("k", 11, 1, 10), "between 1 and 10, got 11"),
        (lambda c: c.between("k", None, 1, 10), "should be a number"),
        (lambda c: c.is_a("plan", [1], dict), "plan should be a dict, got list"),
        (lambda c: c.is_a("x", "s", (int, float)), "int or float"),
        (lambda c: c.same_items("cols", ["a", "c"], ["a", "b"]), r"missing \['b'\]; unexpected \['c'\]"),
        (lambda c: c.same_items("cols", 5, ["a"]), "should be a list"),
        (lambda c: c.true(False, "the plan must sum to 40 h"), "the plan must sum to 40 h"),
    ],
)
def test_each_assertion_fails_with_its_reason(call, message: str, capsys) -> None:
    with pytest.raises(ExerciseNotDone, match=message):
        with Check("Exercise 3") as c:
            call(c)
    assert "passed" not in capsys.readouterr().out


def test_bad_use_is_reported() -> None:
    with pytest.raises(ValueError, match="exercise label"):
        Check("  ")
    with pytest.raises(ValueError, match="at least one"):
        Check("Exercise 1").answered()


def test_other_errors_propagate_unchanged() -> None:
    with pytest.raises(KeyError):
        with Check("Exercise 4"):
            raise KeyError("x")
