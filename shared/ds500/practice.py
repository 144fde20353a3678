"""A practice exam drawn from the whole question bank, weighted like the real exam.

Why: a week before the exam a student needs a realistic mock: questions from every
lab, in the proportions of the exam guide's section weights, scored all-or-nothing
on multiple-select questions, with a per-section readout of strengths and weak spots.
Lab 17 uses this module; the questions themselves live in ``questions/*.yaml``.

Each question counts for the *section* of the first subsection it lists for the
chosen guide version (``"3.2"`` counts for section 3).

Example::

    from ds500 import practice
    exam = practice.draw(50, version="2024-10", seed=7)
    practice.show(exam)
    result = practice.check(exam, answers)
    scores = practice.section_scores(exam, result, "2024-10")
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ds500 import examguide, quiz

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["allocate", "check", "draw", "plot_section_scores", "section_of", "section_scores", "show"]


def section_of(question: quiz.Question, version: str) -> str:
    """The exam-guide section a question counts for: that of its first subsection."""
    examguide.load(version)  # validates the version
    return question.sections[version][0].split(".")[0]


def allocate(n: int, version: str, available: Mapping[str, int] | None = None) -> dict[str, int]:
    """Split ``n`` questions over the guide's sections in proportion to their weights.

    Largest-remainder rounding keeps the total exactly ``n``. With ``available``
    (section -> questions in the bank), no section gets more than it has; what it
    cannot take goes to the other sections by weight.

    Raises:
        ValueError: ``n`` is not a positive int, or exceeds what is available.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of questions must be a positive integer, got {n!r}")
    weights = examguide.load(version).weights()
    caps = {s: (math.inf if available is None else available.get(s, 0)) for s in weights}
    if available is not None and n > sum(caps.values()):
        raise ValueError(f"asked for {n} questions, but the bank has only {sum(caps.values())} for {version}")
    counts = dict.fromkeys(weights, 0)
    remaining = n
    while remaining:
        open_sections = {s: w for s, w in weights.items() if counts[s] < caps[s]}
        total = sum(open_sections.values())
        shares = {s: remaining * w / total for s, w in open_sections.items()}
        floors = {s: min(math.floor(v), caps[s] - counts[s]) for s, v in shares.items()}
        leftover = remaining - sum(floors.values())
        by_remainder = sorted(open_sections, key=lambda s: (-(shares[s] - math.floor(shares[s])), s))
        for s in by_remainder:
            if leftover and floors[s] < caps[s] - counts[s]:
                floors[s] += 1
                leftover -= 1
        for s, k in floors.items():
            counts[s] += k
        remaining = n - sum(counts.values())
    return counts


def draw(
    n: int = 50, *, version: str = examguide.DEFAULT_VERSION, seed: int = 0, directory: Any = None
) -> list[quiz.Question]:
    """Draw a practice exam of ``n`` questions, seeded, weighted by section.

    Questions come from every lab's bank; within a section they are drawn at random
    without replacement; the exam is then shuffled (section order would give hints).

    Raises:
        ValueError: as :func:`allocate`, or for an unknown version.
    """
    bank = quiz.all_questions(directory=directory)
    pools: dict[str, list[quiz.Question]] = {}
    for question in bank:
        pools.setdefault(section_of(question, version), []).append(question)
    counts = allocate(n, version, {s: len(qs) for s, qs in pools.items()})
    rng = random.Random(seed)
    exam = [q for s, k in counts.items() if k for q in rng.sample(pools[s], k)]
    rng.shuffle(exam)
    return exam


def show(exam: Sequence[quiz.Question]) -> None:
    """Show the drawn questions, without answers."""
    quiz.show_questions(exam, "Practice exam")


def check(
    exam: Sequence[quiz.Question], answers: Mapping[str, Any] | None, *, display: bool = True
) -> quiz.QuizResult:
    """Score the answers (multiple-select all-or-nothing); show every explanation unless ``display=False``."""
    return quiz.check_questions(exam, answers, "Practice exam", display=display)


def section_scores(exam: Sequence[quiz.Question], result: quiz.QuizResult, version: str) -> pd.DataFrame:
    """Per section: weight, questions asked, correct, and the percentage correct.

    Raises:
        ValueError: ``result`` does not belong to ``exam``.
    """
    import pandas as pd

    if set(result.per_question) != {q.id for q in exam}:
        raise ValueError("the result is not for this exam: check the answers with practice.check(exam, ...)")
    guide = examguide.load(version)
    rows = []
    for section in guide.sections:
        asked = [q for q in exam if section_of(q, version) == section.id]
        correct = sum(result.per_question[q.id] is True for q in asked)
        rows.append({
            "section": section.id, "title": section.title, "weight": section.weight,
            "asked": len(asked), "correct": correct,
            "percent": 100.0 * correct / len(asked) if asked else float("nan"),
        })
    return pd.DataFrame(rows).set_index("section")


def plot_section_scores(scores: pd.DataFrame, *, pass_mark: float = 70.0, ax: Any = None) -> Any:
    """A bar per section (percent correct), coloured weak/strong against ``pass_mark``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.8))
    colors = ["#2ca02c" if p >= pass_mark else "#d62728" for p in scores["percent"].fillna(0)]
    short = [t if len(t) <= 36 else t[:35] + "…" for t in scores["title"]]
    labels = [f"{i}. {t}" for i, t in zip(scores.index, short, strict=True)]
    bars = ax.barh(labels, scores["percent"].fillna(0), color=colors)
    ax.bar_label(bars, labels=[f"{c}/{a}" for c, a in zip(scores["correct"], scores["asked"], strict=True)],
                 padding=3)
    ax.axvline(pass_mark, color="grey", linestyle="--")
    ax.set(xlim=(0, 118), xlabel=f"correct (%); dashed: target {pass_mark:.0f} %",
           title="Practice exam: score by exam-guide section")
    ax.invert_yaxis()
    return ax
