"""A practice exam drawn from the held-out pool, weighted like the real exam, and a drill of misses.

Why: a week before the exam a student needs a realistic mock: questions never seen in a
lab, in the proportions of the exam guide's section weights (the June 2026 guide by
default, the October 2024 one on request), 60 questions in two hours, scored
all-or-nothing on multiple-select questions, with a per-section readout and a study plan
(the labs and documentation pages to revisit per weak section). Lab 17 uses this module;
the mock's questions live in ``questions/pool/*.yaml`` and are shown nowhere else.

While a mock runs its questions are numbered 1..n with neither ids nor sections (both
would hint); the review after :func:`check` shows both. With a progress store (see
:mod:`ds500.progress`) successive mocks avoid questions already submitted, and every miss,
here or in a lab's quiz, comes back in :func:`drill`.

Each question counts for the *section* of the first subsection it lists for the chosen
guide version (``"3.2"`` counts for section 3).

Example::

    from ds500 import practice, progress
    store = progress.Progress.open(None)            # or "default": ~/.ds500/progress.json
    exam = practice.draw(seed=7, progress=store)    # 60 questions, June 2026 weights
    practice.show(exam)
    result = practice.check(exam, {1: "B", 2: ["A", "D"]}, progress=store)
    scores = practice.section_scores(exam, result)
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ds500 import examguide, quiz
from ds500.progress import Progress

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MINUTES_PER_QUESTION",
    "MOCK_SIZE",
    "MOCK_VERSION",
    "PLAN_LABS",
    "PRACTICE_LAB",
    "allocate",
    "check",
    "check_drill",
    "draw",
    "drill",
    "labs_by_subsection",
    "plot_section_scores",
    "section_of",
    "section_scores",
    "show",
    "show_study_plan",
    "study_plan",
]

MOCK_VERSION = "2026-06"
"""The guide a mock follows by default: the June 2026 guide, the current English exam."""

MOCK_SIZE = 60
"""Questions in a default mock: the real exam has 50-60 in two hours."""

MINUTES_PER_QUESTION = 2.0
"""Time per question: 120 minutes for 60 questions, as on the exam."""

PRACTICE_LAB = 17
"""The practice exam's own lab: never suggested as a lab to revisit."""

PLAN_LABS = 3
"""Labs a study plan suggests per weak section (more is a syllabus, not a plan)."""


def section_of(question: quiz.Question, version: str) -> str:
    """The exam-guide section a question counts for: that of its first subsection.

    Raises:
        ValueError: unknown version, or the question has no subsection in it.
    """
    examguide.load(version)  # validates the version
    if version not in question.sections:
        raise ValueError(f"question {question.id} has no exam-guide section for version {version}")
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
    n: int = MOCK_SIZE,
    *,
    version: str = MOCK_VERSION,
    seed: int = 0,
    directory: Any = None,
    progress: Progress | None = None,
    pool: Sequence[quiz.Question] | None = None,
) -> list[quiz.Question]:
    """Draw a mock of ``n`` questions from the held-out pool, seeded, weighted by section.

    ``pool`` passes the pool already loaded (``quiz.pool_questions()``), for many draws.

    Within a section questions are drawn at random without replacement, those the
    ``progress`` store has seen last (so successive mocks share nothing while the pool
    lasts); the exam is then shuffled (section order would give hints). Without a store
    the draw depends on the seed only.

    Raises:
        ValueError: the pool is empty or too small for ``n`` (see :func:`allocate`), or
            ``version`` is unknown.
    """
    if pool is None:
        pool = quiz.pool_questions(directory=directory)
    if not pool:
        raise ValueError("the practice-exam pool (questions/pool/*.yaml) is empty: there is nothing to draw")
    examguide.load(version)  # validates the version
    seen = progress.seen if progress is not None else {}
    pools: dict[str, list[quiz.Question]] = {}
    for question in (q for q in pool if version in q.sections):  # a June 2026 topic has no 2024-10 section
        pools.setdefault(section_of(question, version), []).append(question)
    counts = allocate(n, version, {s: len(qs) for s, qs in pools.items()})
    rng = random.Random(seed)
    exam: list[quiz.Question] = []
    for section, k in counts.items():
        fresh = [q for q in pools.get(section, []) if q.id not in seen]
        old = sorted((q for q in pools.get(section, []) if q.id in seen), key=lambda q: (seen[q.id], q.id))
        rng.shuffle(fresh)
        exam += (fresh + old)[:k]
    rng.shuffle(exam)
    return exam


def show(exam: Sequence[quiz.Question], *, variable: str = "my_answers") -> None:
    """Show the drawn questions numbered 1..n, without answers, ids or sections."""
    quiz.show_questions(exam, "Practice exam", hide_ids=True, variable=variable)


def _by_number(exam: Sequence[quiz.Question], answers: Mapping[Any, Any] | None) -> dict[str, Any]:
    """Accept answers keyed by question number (1..n, as shown) or by id (as in the review)."""
    if answers is None or answers is ...:
        return {}
    if not isinstance(answers, Mapping):
        raise ValueError("answers must be a dict like {1: 'B', 2: ['A', 'C']} (question number -> keys)")
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if isinstance(key, int) and not isinstance(key, bool):
            if not 1 <= key <= len(exam):
                raise ValueError(f"question number {key} is not in this exam (1 to {len(exam)})")
            key = exam[key - 1].id
        if key in out:
            raise ValueError(f"question {key} is answered twice (by number and by id)")
        out[key] = value
    return out


def check(
    exam: Sequence[quiz.Question],
    answers: Mapping[Any, Any] | None,
    *,
    display: bool = True,
    reveal: bool = False,
    progress: Progress | None = None,
) -> quiz.QuizResult:
    """Score a mock (multiple select all-or-nothing) and show the review of the answered questions.

    Args:
        exam: the drawn questions.
        answers: question number (1..n, as shown) or id -> key(s).
        display: False only scores.
        reveal: also show the key of unanswered questions.
        progress: a store; once at least one question is answered, every question of the
            exam is remembered as seen and the misses go into the Leitner boxes (then the
            store is saved). An empty answer sheet (Run All before answering) records nothing.
    """
    result = quiz.check_questions(
        exam, _by_number(exam, answers), "Practice exam", display=display, reveal=reveal
    )
    if progress is not None and result.unanswered < result.total:
        progress.mark_seen(q.id for q in exam)
        progress.record(result.per_question)
        progress.save()
    return result


def drill(progress: Progress, *, n: int = 10, directory: Any = None) -> list[quiz.Question]:
    """The missed questions due now (Leitner boxes, lowest box first), at most ``n``.

    They come from every lab's quiz and from the pool; ids the bank no longer has are skipped.

    Raises:
        ValueError: ``n`` is not a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    by_id = {q.id: q for q in quiz.bank(directory=directory)}
    return [by_id[qid] for qid in progress.due() if qid in by_id][:n]


def check_drill(
    questions: Sequence[quiz.Question], answers: Mapping[Any, Any] | None, progress: Progress,
    *, display: bool = True,
) -> quiz.QuizResult:
    """Score a drill: right answers climb a box, wrong ones go back to box 1; the drill counts as done."""
    result = quiz.check_questions(questions, _by_number(questions, answers), "Missed-questions drill",
                                  display=display)
    if result.unanswered < result.total:
        progress.record(result.per_question)
        progress.finish_drill()
        progress.save()
    return result


def section_scores(
    exam: Sequence[quiz.Question], result: quiz.QuizResult, version: str = MOCK_VERSION
) -> pd.DataFrame:
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


def labs_by_subsection(version: str = MOCK_VERSION, *, directory: Any = None) -> dict[str, tuple[int, ...]]:
    """Subsection id -> the labs that teach it, most questions first.

    Read from the labs' own quizzes: a lab whose questions practise a subsection teaches it.
    Lab 17, the practice exam itself, is left out.
    """
    examguide.load(version)
    counts: dict[str, Counter[int]] = {}
    for q in quiz.all_questions(directory=directory):
        if q.lab == PRACTICE_LAB:
            continue
        for sub in q.sections.get(version, ()):
            counts.setdefault(sub, Counter())[q.lab] += 1
    return {sub: tuple(lab for lab, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
            for sub, c in counts.items()}


def study_plan(
    exam: Sequence[quiz.Question],
    result: quiz.QuizResult,
    version: str = MOCK_VERSION,
    *,
    pass_mark: float = 70.0,
    directory: Any = None,
) -> list[dict[str, Any]]:
    """For each section under ``pass_mark``: the labs and documentation pages to revisit.

    Labs: the :data:`PLAN_LABS` labs that teach most of the missed questions' subsections (see
    :func:`labs_by_subsection`). Pages: the references of the missed questions.

    Returns:
        One dict per weak section, worst first: ``section``, ``title``, ``percent``,
        ``missed`` (count), ``labs`` (numbers), ``pages`` (``(title, url)`` pairs).
    """
    scores = section_scores(exam, result, version)
    teaching = labs_by_subsection(version, directory=directory)
    plan = []
    for section, row in scores.sort_values("percent", kind="stable").iterrows():
        if math.isnan(row["percent"]) or row["percent"] >= pass_mark:
            continue
        missed = [q for q in exam
                  if section_of(q, version) == section and result.per_question[q.id] is not True]
        labs: Counter[int] = Counter(lab for q in missed for lab in teaching.get(q.sections[version][0], ()))
        pages = list(dict.fromkeys((q.reference_title, q.reference_url) for q in missed))
        plan.append({
            "section": section, "title": row["title"], "percent": float(row["percent"]),
            "missed": len(missed),
            "labs": [lab for lab, _ in sorted(labs.items(), key=lambda kv: (-kv[1], kv[0]))][:PLAN_LABS],
            "pages": pages,
        })
    return plan


def show_study_plan(plan: Sequence[Mapping[str, Any]]) -> None:
    """Show a :func:`study_plan` as Markdown: per weak section, the labs and pages to revisit."""
    if not plan:
        quiz._display("### Study plan\n\nNo section under the target: review the questions you missed above.")
        return
    lines = ["### Study plan: what to revisit, weakest section first"]
    for row in plan:
        labs = ", ".join(f"lab {lab:02d}" for lab in row["labs"]) or "no lab teaches these subsections yet"
        lines += ["", f"**Section {row['section']}. {row['title']}**: {row['percent']:.0f} % "
                      f"({row['missed']} missed). Labs: {labs}."]
        lines += [f"- [{title}]({url})" for title, url in row["pages"]]
    quiz._display("\n".join(lines))


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
