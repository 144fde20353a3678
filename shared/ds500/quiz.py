"""Exam-style practice questions at the end of every lab.

Each lab has a question bank in ``ds500/questions/NN_slug.yaml``: scenario
questions in the style of the PMLE exam (single choice, or multiple select scored
all-or-nothing as on the real exam). Every option carries its own explanation and
every question links to Google's documentation, so a wrong answer teaches.

In a lab::

    ds500.quiz.show(1)                       # the questions, as Markdown
    answers = {"01-01": "B", "01-02": ["a", "c"], "01-03": ...}
    result = ds500.quiz.check(1, answers)    # feedback for every question
    result.score, result.total, result.percent

The held-out practice-exam pool lives in ``ds500/questions/pool/<letter>_<slug>.yaml``:
the same question schema, but the file says ``pool: mock`` instead of ``lab: N`` and ids
look like ``mock-a001`` (the letter is the file's first letter). These questions are never
shown in a lab; only :mod:`ds500.practice` draws them, so the mock stays unseen.

The YAML schema (one file per lab, named like the notebook)::

    lab: 1
    questions:
      - id: "01-01"             # NN-KK, unique across the bank
        kind: single            # single | multiple
        sections: {"2024-10": ["1.1"], "2026-06": ["1.1"]}  # {} for a question about studying, not the exam
        question: scenario text
        options:
          - {key: A, text: "...", correct: false, why: "..."}
        reference: {title: "...", url: "https://cloud.google.com/..."}
        tags: [scenario, service-selection]   # lowercase words; see TAGS
        cheat_sheet: {clue: "...", service: "..."}  # required with service-selection

Tags with a meaning elsewhere: ``service-selection`` questions feed the "exam clue
-> service" cheat sheet through their ``cheat_sheet`` entry; ``deprecation`` and
``renamed`` questions test the glossary of retired and renamed products;
``numeric`` and ``code-reading`` questions use numbers or code from the lab.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ds500 import examguide

try:  # Python 3.11+
    from importlib.resources.abc import Traversable
except ImportError:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

__all__ = [
    "KINDS",
    "SERVICE_SELECTION",
    "Option",
    "Question",
    "QuizResult",
    "POOL",
    "all_questions",
    "bank",
    "check",
    "check_questions",
    "load",
    "lab_files",
    "load_file",
    "pool_files",
    "pool_questions",
    "show",
    "show_questions",
]

KINDS: tuple[str, ...] = ("single", "multiple")
"""Question kinds: one correct option, or several (scored all-or-nothing)."""

SERVICE_SELECTION = "service-selection"
"""The tag of questions whose ``cheat_sheet`` entry feeds the service cheat sheet."""

POOL = "mock"
"""The name of the held-out pool (``pool: mock`` in its files, ``questions/pool/``)."""

_FILE_STEM = re.compile(r"^(\d{2})_[a-z0-9_]+$")
_POOL_STEM = re.compile(r"^([a-z])_[a-z0-9_]+$")
_QUESTION_ID = re.compile(r"^(\d{2})-(\d{2})$")
_POOL_ID = re.compile(r"^mock-([a-z])(\d{3})$")
_TAG = re.compile(r"^[a-z][a-z0-9-]*$")
_KEYS = "ABCDEFGH"
_OPTION_COUNT = {"single": (4, 4), "multiple": (4, 6)}

Directory = Path | Traversable

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it: the mock reads a few hundred questions per draw."""


@dataclass(frozen=True)
class Option:
    """One answer option.

    Attributes:
        key: the letter shown to the student (``"A"``, ``"B"``, ...).
        text: the option text.
        correct: whether choosing it is part of the right answer.
        why: why the option is right or wrong (shown after checking).
    """

    key: str
    text: str
    correct: bool
    why: str


@dataclass(frozen=True)
class Question:
    """One exam-style question.

    Attributes:
        id: ``"NN-KK"`` (lab number and question number) or ``"mock-a001"`` for the
            held-out pool; unique in the bank.
        lab: the lab number, or None for a pool question (no lab shows it).
        kind: ``"single"`` or ``"multiple"``.
        sections: guide version -> exam guide subsection ids the question practises.
        question: the scenario and the question.
        options: the options in key order.
        reference_title: the title of the documentation page to read.
        reference_url: its https URL.
        tags: lowercase topic words, e.g. ``("scenario", "service-selection")``.
        cheat_sheet: ``(clue, service)`` for service-selection questions, else None.
    """

    id: str
    lab: int | None
    kind: str
    sections: Mapping[str, tuple[str, ...]]
    question: str
    options: tuple[Option, ...]
    reference_title: str
    reference_url: str
    tags: tuple[str, ...] = ()
    cheat_sheet: tuple[str, str] | None = None
    pool: str | None = None

    @property
    def correct_keys(self) -> frozenset[str]:
        """The keys of the correct options (one for single, two or more for multiple)."""
        return frozenset(opt.key for opt in self.options if opt.correct)

    @property
    def keys(self) -> tuple[str, ...]:
        """Every option key, in order."""
        return tuple(opt.key for opt in self.options)


@dataclass(frozen=True)
class QuizResult:
    """The outcome of :func:`check`.

    Attributes:
        score: the number of questions answered correctly.
        total: the number of questions in the lab's bank.
        per_question: question id -> True (correct), False (wrong) or None (unanswered).
    """

    score: int
    total: int
    per_question: dict[str, bool | None] = field(default_factory=dict)

    @property
    def percent(self) -> float:
        """The score as a percentage of all questions (0 for an empty bank)."""
        return 100.0 * self.score / self.total if self.total else 0.0

    @property
    def unanswered(self) -> int:
        """How many questions were left unanswered."""
        return sum(v is None for v in self.per_question.values())


# -- loading and validation ------------------------------------------------------


def _questions_dir(directory: str | Directory | None) -> Directory:
    if directory is None:
        return resources.files("ds500") / "questions"
    if isinstance(directory, str):
        return Path(directory)
    return directory


def _bank_files(directory: Directory) -> list[Directory]:
    if not directory.is_dir():
        raise ValueError(f"question folder {directory} does not exist")
    return sorted((f for f in directory.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)


def _lab_file(lab: int | str, directory: Directory) -> Directory:
    """Find the bank of ``lab``: 1, "1", "01" or "01_problem_framing"."""
    if isinstance(lab, bool) or not isinstance(lab, int | str):
        raise ValueError(f"lab must be a number like 1 or a name like '01_problem_framing', got {lab!r}")
    files = _bank_files(directory)
    text = str(lab).strip()
    if text.endswith(".yaml"):
        text = text[: -len(".yaml")]
    if text.isdigit():
        number = f"{int(text):02d}"
        matches = [f for f in files if f.name[:3] == f"{number}_"]
    else:
        matches = [f for f in files if f.name == f"{text}.yaml"]
    if not matches:
        known = ", ".join(f.name[: -len(".yaml")] for f in files) or "none"
        raise ValueError(f"no question bank for lab {lab!r} in {directory}; known: {known}")
    if len(matches) > 1:
        raise ValueError(f"several question banks for lab {lab!r}: {[f.name for f in matches]}")
    return matches[0]


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key!r} must be a non-empty string")
    return " ".join(value.split()) if key != "question" else value.strip()


def _parse_sections(raw: Any, where: str, *, every_version: bool = True) -> dict[str, tuple[str, ...]]:
    """Guide version -> subsection ids. Lab questions list every version (the coverage tables
    need them); a pool question may list only the versions whose guide has its topic (a
    June 2026 topic is then never drawn into an October 2024 mock)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: 'sections' must map guide versions to subsection ids")
    if every_version and not raw:
        return {}  # a lab question about studying or the course itself: no exam-guide topic
    unknown = set(raw) - set(examguide.VERSIONS)
    if unknown:
        raise ValueError(
            f"{where}: unknown exam guide version(s) {sorted(map(str, unknown))}; "
            f"known: {', '.join(examguide.VERSIONS)}"
        )
    sections: dict[str, tuple[str, ...]] = {}
    for version in examguide.VERSIONS:
        ids = raw.get(version)
        if ids is None and not every_version and raw:
            continue
        if not isinstance(ids, list) or not ids:
            raise ValueError(f"{where}: 'sections' needs a non-empty list for {version!r}")
        known = set(examguide.load(version).subsection_ids())
        for sub_id in ids:
            if sub_id not in known:
                raise ValueError(f"{where}: unknown exam guide subsection {sub_id!r} for version {version}")
        sections[version] = tuple(str(s) for s in ids)
    return sections


def _parse_options(raw: Any, kind: str, where: str) -> tuple[Option, ...]:
    low, high = _OPTION_COUNT[kind]
    if not isinstance(raw, list) or not low <= len(raw) <= high:
        wanted = f"{low}" if low == high else f"{low} to {high}"
        raise ValueError(f"{where}: a {kind} question needs {wanted} options")
    options: list[Option] = []
    for i, opt in enumerate(raw):
        if not isinstance(opt, Mapping):
            raise ValueError(f"{where}: option {i + 1} must be a mapping")
        key = opt.get("key")
        if key in (o.key for o in options):
            raise ValueError(f"{where}: duplicate option key {key!r}")
        if key != _KEYS[i]:
            raise ValueError(f"{where}: option {i + 1} must have key {_KEYS[i]!r}, got {key!r}")
        opt_where = f"{where} option {key}"
        correct = opt.get("correct")
        if not isinstance(correct, bool):
            raise ValueError(f"{opt_where}: 'correct' must be true or false")
        if not isinstance(opt.get("why"), str) or not opt["why"].strip():
            raise ValueError(f"{opt_where}: missing 'why' (every option explains itself)")
        options.append(
            Option(
                key=key, text=_text(opt, "text", opt_where), correct=correct, why=_text(opt, "why", opt_where)
            )
        )
    n_correct = sum(o.correct for o in options)
    if kind == "single" and n_correct != 1:
        raise ValueError(f"{where}: a single question needs exactly 1 correct option, has {n_correct}")
    if kind == "multiple" and not 2 <= n_correct < len(options):
        raise ValueError(
            f"{where}: a multiple question needs at least 2 correct options and 1 wrong one, "
            f"has {n_correct} of {len(options)}"
        )
    return tuple(options)


def _parse_tags(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where}: 'tags' must be a non-empty list of lowercase words, e.g. [scenario]")
    for tag in raw:
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise ValueError(f"{where}: tag {tag!r} must be a lowercase word like 'service-selection'")
    if len(set(raw)) != len(raw):
        raise ValueError(f"{where}: duplicate tags in {raw}")
    return tuple(raw)


def _parse_cheat_sheet(raw: Any, tags: tuple[str, ...], where: str) -> tuple[str, str] | None:
    if raw is None:
        if SERVICE_SELECTION in tags:
            raise ValueError(f"{where}: a {SERVICE_SELECTION} question needs cheat_sheet: {{clue, service}}")
        return None
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: 'cheat_sheet' must be a mapping with 'clue' and 'service'")
    if SERVICE_SELECTION not in tags:
        raise ValueError(f"{where}: 'cheat_sheet' is only for questions tagged {SERVICE_SELECTION}")
    return _text(raw, "clue", f"{where} cheat_sheet"), _text(raw, "service", f"{where} cheat_sheet")


def _parse_id(raw: Mapping[str, Any], where: str, lab: int | None, letter: str | None) -> str:
    qid = raw.get("id")
    if lab is not None:
        match = _QUESTION_ID.match(qid) if isinstance(qid, str) else None
        if not match:
            raise ValueError(f"{where}: question id {qid!r} must look like 'NN-KK', e.g. '01-03'")
        if int(match.group(1)) != lab:
            raise ValueError(f"{where} question {qid}: id does not start with the lab number {lab:02d}")
        return qid
    match = _POOL_ID.match(qid) if isinstance(qid, str) else None
    if not match:
        raise ValueError(f"{where}: pool question id {qid!r} must look like 'mock-{letter}001'")
    if match.group(1) != letter:
        raise ValueError(f"{where} question {qid}: ids in this file start with 'mock-{letter}' (its letter)")
    return qid


def _parse_question(raw: Any, where: str, *, lab: int | None = None, letter: str | None = None) -> Question:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: each question must be a mapping")
    qid = _parse_id(raw, where, lab, letter)
    where = f"{where} question {qid}"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{where}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    reference = raw.get("reference")
    if not isinstance(reference, Mapping):
        raise ValueError(f"{where}: missing 'reference' with 'title' and 'url'")
    url = _text(reference, "url", f"{where} reference")
    if not url.startswith("https://"):
        raise ValueError(f"{where}: reference url {url!r} must start with https://")
    return Question(
        id=qid,
        lab=lab,
        kind=kind,
        sections=_parse_sections(raw.get("sections"), where, every_version=lab is not None),
        question=_text(raw, "question", where),
        options=_parse_options(raw.get("options"), kind, where),
        reference_title=_text(reference, "title", f"{where} reference"),
        reference_url=url,
        tags=(tags := _parse_tags(raw.get("tags"), where)),
        cheat_sheet=_parse_cheat_sheet(raw.get("cheat_sheet"), tags, where),
        pool=None if lab is not None else POOL,
    )


def load_file(path: Directory) -> list[Question]:
    """Load and validate one bank file: a lab's ``NN_slug.yaml`` or a pool's ``pool/x_slug.yaml``.

    A file in a folder named ``pool`` is read as part of the held-out pool (``pool: mock``,
    ids ``mock-x001``); any other file as a lab's bank (``lab: N``, ids ``NN-KK``).

    Raises:
        ValueError: the file breaks the schema (see :func:`load`); the message names the
            file and the question.
    """
    name = path.name
    in_pool = Path(str(path)).parent.name == "pool"
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else None
    match = (_POOL_STEM if in_pool else _FILE_STEM).match(stem or "")
    if not match:
        wanted = "like pool/a_slug.yaml" if in_pool else "like the notebook, e.g. 01_slug.yaml"
        raise ValueError(f"{name}: a question bank is named {wanted}")
    where = f"pool/{name}" if in_pool else name
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        raise ValueError(f"{where}: invalid YAML ({err})") from err
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping with '{'pool' if in_pool else 'lab'}' and 'questions'")
    lab: int | None = None
    if in_pool:
        if data.get("pool") != POOL or "lab" in data:
            got = data.get("pool")
            raise ValueError(f"{where}: a pool file says 'pool: {POOL}' and has no 'lab'; got pool {got!r}")
    else:
        lab = data.get("lab")
        if isinstance(lab, bool) or not isinstance(lab, int) or lab != int(match.group(1)):
            raise ValueError(f"{where}: 'lab' must be {int(match.group(1))} (the file's number), got {lab!r}")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise ValueError(f"{where}: 'questions' must be a non-empty list")
    questions: list[Question] = []
    seen: set[str] = set()
    letter = match.group(1) if in_pool else None
    for raw in raw_questions:
        question = _parse_question(raw, where, lab=lab, letter=letter)
        if question.id in seen:
            raise ValueError(f"{where}: duplicate question id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    return questions


def load(lab: int | str, *, directory: str | Directory | None = None) -> list[Question]:
    """Load and validate the question bank of one lab.

    Validation happens on every load so that a broken bank fails in CI (and in
    the lab) with a message naming the file and the question, not with a
    confusing result.

    Args:
        lab: the lab number (``1``), its two digits (``"01"``) or the notebook's
            stem (``"01_problem_framing"``).
        directory: the folder of YAML banks; by default the package's ``questions``.

    Returns:
        The questions in file order.

    Raises:
        ValueError: if no bank matches ``lab``, or the bank breaks the schema:
            unknown kind, a single question without exactly one correct option,
            a multiple question with fewer than two, duplicate ids or keys, a
            missing ``why``, a non-https reference, or exam guide subsection ids
            that the guide version does not have.
    """
    return load_file(_lab_file(lab, _questions_dir(directory)))


def _load_unique(paths: Iterable[Directory], owner: dict[str, str]) -> list[Question]:
    questions: list[Question] = []
    for path in paths:
        for question in load_file(path):
            if question.id in owner:
                raise ValueError(
                    f"{path.name}: question id {question.id!r} is also used in {owner[question.id]}"
                )
            owner[question.id] = path.name
            questions.append(question)
    return questions


def all_questions(*, directory: str | Directory | None = None) -> list[Question]:
    """Load every lab's question bank and check that ids are unique across the labs.

    The held-out pool is not included (see :func:`pool_questions` and :func:`bank`): the
    labs' questions feed the coverage table and the cheat sheet; the pool only the mock.

    Args:
        directory: the folder of YAML banks; by default the package's ``questions``.

    Returns:
        All lab questions, ordered by file name and then file order.

    Raises:
        ValueError: as :func:`load`, or when two files share a question id.
    """
    return _load_unique(_bank_files(_questions_dir(directory)), {})


def lab_files(directory: str | Directory | None = None) -> list[Directory]:
    """The labs' YAML files (``<directory>/NN_slug.yaml``), by name."""
    return _bank_files(_questions_dir(directory))


def pool_files(directory: str | Directory | None = None) -> list[Directory]:
    """The held-out pool's YAML files (``<directory>/pool/*.yaml``), by name; none if no pool yet."""
    pool = _questions_dir(directory) / "pool"
    return _bank_files(pool) if pool.is_dir() else []


def pool_questions(*, directory: str | Directory | None = None) -> list[Question]:
    """Load the held-out practice-exam pool (questions no lab shows).

    Raises:
        ValueError: as :func:`load_file`, or when two pool files share an id.
    """
    return _load_unique(pool_files(directory), {})


def bank(*, directory: str | Directory | None = None) -> list[Question]:
    """Every question: the labs' banks, then the pool, with ids unique across all of them.

    Raises:
        ValueError: as :func:`load_file`, or when two files share an id.
    """
    owner: dict[str, str] = {}
    labs = _load_unique(_bank_files(_questions_dir(directory)), owner)
    return labs + _load_unique(pool_files(directory), owner)


# -- rendering --------------------------------------------------------------------


def _display(markdown: str) -> None:
    """Show Markdown in a notebook, or print it in a terminal or test."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython is a dependency
        print(markdown)
        return
    if get_ipython() is None:
        print(markdown)
        return
    display(Markdown(markdown))


_COUNT_WORDS = ("none", "one", "two", "three", "four", "five", "six")


def _instruction(question: Question) -> str:
    """"(choose one)" or "(choose two)": the exam always says how many options to pick."""
    return f"(choose {_COUNT_WORDS[len(question.correct_keys)]})"


def _guide_line(question: Question) -> str:
    parts = [f"{v}: {', '.join(ids)}" for v, ids in question.sections.items()]
    return "Exam guide " + "; ".join(parts)


def show(lab: int | str, *, directory: str | Directory | None = None) -> None:
    """Show a lab's questions (without answers) as Markdown.

    Args:
        lab: as in :func:`load`.
        directory: the folder of YAML banks; by default the package's ``questions``.

    Raises:
        ValueError: as :func:`load`.
    """
    questions = load(lab, directory=directory)
    show_questions(questions, f"Exam practice: lab {questions[0].lab:02d}")


def show_questions(
    questions: Sequence[Question], title: str, *, hide_ids: bool = False, variable: str = "answers"
) -> None:
    """Show any list of questions (a lab's, or a drawn practice exam) without answers.

    Args:
        questions: the questions, in the order to number them.
        title: the heading.
        hide_ids: number the questions 1..n and show neither ids nor exam-guide sections
            (the mock: an id or a section would hint at the answer). The answer template
            then uses the numbers as keys.
        variable: the name of the answers dict in the template (the cell the student fills).
    """
    if not questions:
        raise ValueError("no questions to show")
    if not variable.isidentifier():
        raise ValueError(f"variable must be a Python name like 'my_answers', got {variable!r}")
    lines = [
        f"### {title} ({len(questions)} questions)",
        "",
        "Multiple-select questions score only when every correct option, and no other, "
        "is chosen, as on the exam.",
    ]
    for number, q in enumerate(questions, start=1):
        label = f"**{number}.**" if hide_ids else f"**{number}. `{q.id}`**"
        lines += ["", f"{label} {_instruction(q)}", "", q.question, ""]
        lines += [f"- **{opt.key}.** {opt.text}" for opt in q.options]
        if not hide_ids:
            lines += ["", f"<sub>{_guide_line(q)}</sub>"]
    keys = [str(n) for n in range(1, len(questions) + 1)] if hide_ids else [f'"{q.id}"' for q in questions]
    template = ", ".join(f"{k}: ..." for k in keys)
    lines += ["", "Answer in the next cell, e.g.", "", "```python", f"{variable} = {{{template}}}", "```"]
    _display("\n".join(lines))


def _normalize(question: Question, value: Any) -> frozenset[str] | None:
    """Turn one answer into a set of upper-case keys, or None when unanswered."""
    if value is None or value is ...:
        return None
    if isinstance(value, str):
        tokens = [t for t in re.split(r"[\s,;]+", value) if t]
    elif isinstance(value, Iterable) and not isinstance(value, Mapping):
        tokens = list(value)
        if not all(isinstance(t, str) for t in tokens):
            raise ValueError(f"question {question.id}: answer keys must be strings like 'A', got {value!r}")
        tokens = [t.strip() for t in tokens if t.strip()]
    else:
        raise ValueError(
            f"question {question.id}: answer with a key like 'B' or a list like ['A', 'C'], got {value!r}"
        )
    if not tokens:
        return None
    keys = frozenset(t.upper() for t in tokens)
    unknown = sorted(keys - set(question.keys))
    if unknown:
        raise ValueError(
            f"question {question.id}: unknown option key(s) {unknown}; "
            f"the options are {', '.join(question.keys)} (separate several keys with commas)"
        )
    if question.kind == "single" and len(keys) > 1:
        raise ValueError(f"question {question.id} takes one answer, got {sorted(keys)}")
    return keys


def check(
    lab: int | str,
    answers: Mapping[str, str | Sequence[str]] | None,
    *,
    directory: str | Directory | None = None,
    reveal: bool = False,
) -> QuizResult:
    """Score answers and show feedback for the answered questions of a lab.

    For every answered question the feedback shows the student's answer, whether it
    is correct, the correct keys, each option's explanation and the documentation
    link: reading why the distractors are wrong is where most of the exam practice
    happens. An unanswered question shows only "unanswered": running the cell before
    answering (Run All) must not print the key. ``reveal=True`` shows everything.

    Once the student has opted in to a progress file (see :mod:`ds500.progress`), the
    questions answered wrongly go into its Leitner boxes for the missed-questions drill.

    Args:
        lab: as in :func:`load`.
        answers: question id -> option key (``"B"``) or keys (``["A", "C"]`` or
            ``"A, C"``), case-insensitive. ``...``, ``None`` or an empty value
            means unanswered; ``None``, ``...`` or ``{}`` for the whole mapping
            leaves every question unanswered.
        directory: the folder of YAML banks; by default the package's ``questions``.
        reveal: show the key and explanations of unanswered questions too.

    Returns:
        A :class:`QuizResult`; multiple-select questions score all-or-nothing.

    Raises:
        ValueError: for an unknown question id, an unknown option key, several
            keys for a single-choice question, or answers that are not a mapping.
    """
    from ds500 import progress

    questions = load(lab, directory=directory)
    result = check_questions(questions, answers, f"Lab {questions[0].lab:02d} quiz", reveal=reveal)
    try:
        store = progress.recording_store() if directory is None else None
    except ValueError as err:  # a damaged progress file must not break a lab's quiz
        warnings.warn(f"misses not recorded: {err}", stacklevel=2)
        store = None
    if store is not None and result.unanswered < result.total:
        store.record(result.per_question)
        store.save()
    return result


def check_questions(
    questions: Sequence[Question],
    answers: Mapping[str, str | Sequence[str]] | None,
    title: str,
    *,
    display: bool = True,
    reveal: bool = False,
    numbers: Mapping[str, int] | None = None,
) -> QuizResult:
    """Score answers to any list of questions and show the feedback (see :func:`check`).

    ``display=False`` only scores (for analysing many answer sheets quietly);
    ``reveal=True`` also explains the unanswered questions; ``numbers`` (id -> number)
    replaces the running number in the review (the mock numbers its questions itself).
    """
    if not questions:
        raise ValueError("no questions to check")
    if answers is None or answers is ...:
        answers = {}
    if not isinstance(answers, Mapping):
        raise ValueError("answers must be a dict like {'01-01': 'B', '01-02': ['A', 'C']}")
    by_id = {q.id: q for q in questions}
    unknown = sorted(str(k) for k in answers if k not in by_id)
    if unknown:
        shown = ", ".join(list(by_id)[:20]) + (", ..." if len(by_id) > 20 else "")
        raise ValueError(f"unknown question id(s) {unknown} for {title}; the ids are {shown}")
    chosen = {q.id: _normalize(q, answers.get(q.id)) for q in questions}

    per_question: dict[str, bool | None] = {}
    lines: list[str] = []
    for number, q in enumerate(questions, start=1):
        keys = chosen[q.id]
        ok = None if keys is None else keys == q.correct_keys
        per_question[q.id] = ok
        label = f"**{(numbers or {}).get(q.id, number)}. `{q.id}`**"
        if ok is None and not reveal:
            lines += ["", f"{label} ⬜ unanswered"]
            continue
        status = {None: "⬜ unanswered", True: "✅ correct", False: "❌ incorrect"}[ok]
        given = ", ".join(sorted(keys)) if keys else "—"
        lines += [
            "",
            f"{label} {status}: your answer {given}; correct: {', '.join(sorted(q.correct_keys))}",
            "",
            q.question,
            "",
        ]
        for opt in q.options:
            mark = "✓" if opt.correct else "✗"
            picked = " ← your choice" if keys and opt.key in keys else ""
            lines.append(f"- **{opt.key}** {mark} {opt.text}{picked}  \n  _{opt.why}_")
        lines += ["", f"Read: [{q.reference_title}]({q.reference_url}) · <sub>{_guide_line(q)}</sub>"]

    score = sum(v is True for v in per_question.values())
    result = QuizResult(score=score, total=len(questions), per_question=per_question)
    header = (
        f"### {title}: {score}/{len(questions)} correct "
        f"({result.percent:.0f} %), {result.unanswered} unanswered"
    )
    if result.unanswered and not reveal:
        header += "\n\nUnanswered questions show no key: answer them and rerun, or pass `reveal=True`."
    if display:
        _display("\n".join([header, *lines]))
    return result
