"""Run a solution in one kernel and, after each check, the wrong answers recorded for it.

Why one kernel: executing a whole lab again for every wrong answer would cost minutes per lab.
Here the solution runs once, top to bottom; after an exercise's check has passed, each recorded
wrong answer replaces the exercise's solution cell, the cells up to the check run again and the
check must fail with its own message (``❌ Exercise N``). The right answer runs again after each
wrong one, and after the last one the check too, which must pass, so the cells after it see the
state the solution left.

Wrong answers live in ``tests/wrong_answers/<lab stem>.yaml`` (never shipped to students)::

    exercises:
      1:
        - mistake: the churn rate of the test split      # what a student really does
          replace: 'train["churn"]'                       # text of the solution cell, found once
          with: 'test["churn"]'
        - mistake: the number of churners, not a rate
          solution: |                                     # or the whole solution region
            churn_rate = df["churn"].sum()
          rerun_from: registry                            # optional: a cell id to run again first

``rerun_from`` is for answers that change state outside the kernel (a model registry, files):
the cells from that one on run again before the wrong answer and before the right one.
"""

from __future__ import annotations

import queue
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

WRONG_ANSWERS = Path(__file__).parent / "wrong_answers"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class WrongAnswer:
    """A plausible mistake for one exercise, as a text replacement or a whole solution region."""

    exercise: int
    mistake: str
    replace: str | None = None
    with_: str | None = None
    solution: str | None = None
    rerun_from: str | None = None

    def apply(self, source: str) -> str:
        """The solution cell's source with this mistake in it.

        Raises:
            ValueError: the text to replace is not in the cell exactly once, or the cell has
                no solution region (the recorded answer drifted from the solution).
        """
        if self.solution is not None:
            if BEGIN not in source or END not in source:
                raise ValueError(f"exercise {self.exercise}: the solution cell has no {BEGIN} region")
            head, rest = source.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            return f"{head}{BEGIN}\n{self.solution.rstrip()}\n{END}{tail}"
        assert self.replace is not None and self.with_ is not None
        count = source.count(self.replace)
        if count != 1:
            raise ValueError(
                f"exercise {self.exercise} ({self.mistake}): {self.replace!r} occurs {count} times in the "
                "solution cell; update tests/wrong_answers"
            )
        return source.replace(self.replace, self.with_)


def load_wrong_answers(stem: str) -> dict[int, list[WrongAnswer]]:
    """The wrong answers recorded for a lab, by exercise number (empty when there is no file)."""
    path = WRONG_ANSWERS / f"{stem}.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    answers: dict[int, list[WrongAnswer]] = {}
    for exercise, entries in (data.get("exercises") or {}).items():
        for entry in entries:
            mistake = str(entry.get("mistake", "")).strip()
            has_patch = "replace" in entry and "with" in entry
            if not mistake or has_patch == ("solution" in entry):
                raise ValueError(
                    f"{path.name} exercise {exercise}: give a mistake and either replace+with or solution"
                )
            answer = WrongAnswer(
                int(exercise), mistake, entry.get("replace"), entry.get("with"), entry.get("solution"),
                entry.get("rerun_from"),
            )
            answers.setdefault(int(exercise), []).append(answer)
    return answers


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str  # everything the cell printed, errors included (ANSI colours removed)
    error: str = ""  # "ExceptionName: message" when the cell raised


class Kernel:
    """A Jupyter kernel that runs one cell at a time and returns what it printed."""

    def __init__(self, client: Any, cell_timeout: float) -> None:
        self._client = client
        self._timeout = cell_timeout

    def run(self, code: str) -> Outcome:
        printed: list[str] = []
        error = ""

        def collect(message: dict[str, Any]) -> None:
            nonlocal error
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                printed.append(content.get("data", {}).get("text/plain", ""))
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
                printed.append("\n".join(content["traceback"]))

        try:
            reply = self._client.execute_interactive(
                code, timeout=self._timeout, output_hook=collect, allow_stdin=False, stop_on_error=False
            )
        except (TimeoutError, queue.Empty):
            return Outcome(False, "".join(printed), f"TimeoutError: the cell ran over {self._timeout:g} s")
        ok = reply["content"]["status"] == "ok"
        return Outcome(ok, _ANSI.sub("", "".join(printed)), _ANSI.sub("", error))


@contextmanager
def kernel(workdir: Path, cell_timeout: float = 300) -> Iterator[Kernel]:
    """Start a python3 kernel in ``workdir`` (the notebook's folder), and stop it afterwards."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(workdir))
    try:
        yield Kernel(client, cell_timeout)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


@dataclass
class ProbeReport:
    """What went wrong: cells of the solution that failed, and wrong answers not rejected."""

    failed_cells: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # the check passed a wrong answer
    broken: list[str] = field(default_factory=list)  # the wrong answer itself crashed, or drifted
    probed: int = 0

    @property
    def problems(self) -> list[str]:
        return self.failed_cells + self.accepted + self.broken


def _exercise(cell: Any) -> int | None:
    value = cell.metadata.get("ds500", {}).get("exercise")
    return int(value) if value is not None else None


def probe(notebook: Path, wrong: dict[int, list[WrongAnswer]], cell_timeout: float = 300) -> ProbeReport:
    """Run ``notebook`` (a solution, in its own folder) and try each wrong answer on its check."""
    cells = nbformat.read(notebook, as_version=4).cells
    report = ProbeReport()
    solution_of: dict[int, int] = {}  # exercise -> index of its solution cell
    unseen = set(wrong)
    with kernel(notebook.parent, cell_timeout) as k:
        for index, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            tags = set(cell.metadata.get("tags", []))
            if "solution" in tags:
                following = next((c for c in cells[index + 1:] if c.cell_type == "code"), None)
                if following is not None and _exercise(following) is not None:
                    solution_of[_exercise(following)] = index
            outcome = k.run(cell.source)
            if not outcome.ok:
                failure = f"cell {index} ({cell.id}): {outcome.error}\n{outcome.text[-1500:]}"
                report.failed_cells.append(failure)
                continue
            number = _exercise(cell)
            if "check" not in tags or number is None or number not in wrong:
                continue
            unseen.discard(number)
            start = solution_of.get(number)
            if start is None:
                report.broken.append(f"exercise {number}: no solution cell right before its check")
                continue
            replay = [c for c in cells[start + 1:index + 1] if c.cell_type == "code"]
            ids = [c.id for c in cells]
            for position, answer in enumerate(wrong[number]):
                report.probed += 1
                label = f"exercise {number}, wrong answer '{answer.mistake}'"
                if answer.rerun_from is not None and answer.rerun_from not in ids[:start]:
                    report.broken.append(f"{label}: rerun_from {answer.rerun_from!r} names no earlier cell")
                    continue
                first_setup = ids.index(answer.rerun_from) if answer.rerun_from else start
                setup = [c for c in cells[first_setup:start] if c.cell_type == "code"]
                try:
                    mutated = answer.apply(cells[start].source)
                except ValueError as err:
                    report.broken.append(f"{label}: {err}")
                    continue
                prepared = all(k.run(c.source).ok for c in setup)
                first = k.run(mutated)
                if not (prepared and first.ok):
                    report.broken.append(f"{label}: the wrong answer itself raised {first.error}")
                else:
                    final = [k.run(c.source) for c in replay][-1]
                    marker = f"❌ Exercise {number}"
                    if final.ok:
                        report.accepted.append(f"{label}: the check passed it")
                    elif marker not in final.error and marker not in final.text:
                        report.broken.append(f"{label}: the check failed without its message: {final.error}")
                # Back to the right answer. After the last wrong answer (or one that changed state
                # outside the kernel), the check runs again too, so that later cells see the state the
                # solution leaves; between two wrong answers the solution cell is enough, since the next
                # wrong answer runs the check again from its top anyway.
                full = position == len(wrong[number]) - 1 or answer.rerun_from is not None
                restored = [k.run(c.source) for c in [*setup, cells[start], *(replay if full else [])]]
                if not all(r.ok for r in restored):
                    failure = next(r for r in restored if not r.ok)
                    report.failed_cells.append(
                        f"{label}: running the solution again afterwards failed: {failure.error}"
                    )
                    return report
    report.broken += [f"exercise {n}: recorded wrong answers, but no check cell ran" for n in sorted(unseen)]
    return report
