"""The question-bank linter: find the test-taking cues that let a candidate score without knowing.

Why: a practice exam is only worth what it measures. A bank whose correct option is usually
the longest, the only qualified one ("and also", "while keeping"), or usually "B" can be
passed by picking by shape; a multiple-select stem without "Choose two" is harsher than the
exam; a mock question that says "in this lab" is recall, not an unseen scenario. This module
checks the whole bank (every lab's ``questions/NN_*.yaml`` and the held-out
``questions/pool/*.yaml``) and returns one finding per problem, each with a message that says
what to change. ``ds500 bank lint`` prints them and fails when there is any; a test runs it.

Rules and thresholds (module constants, so tests and the report quote the same numbers):

* ``schema``: the file does not load (see :func:`ds500.quiz.load_file`): a missing per-option
  ``why``, a missing or non-https reference, a bad id... The loader's message is the finding.
* ``why-too-short``: an explanation under :data:`MIN_WHY_CHARS` characters explains nothing.
* ``longest-key-rate``: over the 4-option single-choice questions, the correct option is the
  strictly longest in more than :data:`MAX_LONGEST_KEY_SHARE` of them (chance is 25 %).
  Checked over the whole bank and over the pool alone (the mock draws only from it).
* ``key-much-longer``: one question whose correct option (for multiple select: its shortest
  correct option) is longer than every distractor by a wide margin: more than
  :data:`LONG_KEY_RATIO` times the longest distractor *and* more than
  :data:`LONG_KEY_EXTRA_CHARS` characters longer. Both conditions, so that short options
  ("Cloud Run" vs "GKE") and long balanced ones are left alone.
* ``qualifier-in-key``: a qualifier phrase (:data:`QUALIFIERS`) appears in a correct option and
  in no distractor.
* ``letter-distribution``: the correct letters of 4-option single-choice questions are far from
  uniform: chi-square p < :data:`LETTER_P_VALUE`, or one letter holds more than
  :data:`MAX_LETTER_SHARE`. Whole bank and pool, as above.
* ``choose-n``: a multiple-select stem without "Choose N." matching its number of correct
  options, or a single-choice stem that asks to choose several.
* ``lab-reference``: a pool question (stem or options) mentions "this lab", "the lab", "in lab",
  "lab 7", a notebook, or a lab's parameter variable (``PRUNING_TRIALS``).
* ``duplicate-option``: two options of one question with the same text.
* ``repeats-lab-key``: a pool question whose correct option(s) read like a lab question's
  (difflib ratio above :data:`MAX_KEY_RATIO`): the same fact re-worded is not held out.
* ``near-duplicate``: two stems in the bank with a :mod:`difflib` ratio above
  :data:`MAX_STEM_RATIO`, or sharing more than :data:`MAX_SHARED_SHINGLES` of the shorter
  stem's 8-word shingles (a shared closing sentence such as "What should the team do?" is a
  handful of shingles, not half of them).

Example::

    from ds500 import banklint
    for finding in banklint.lint():
        print(finding)
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ds500 import quiz

__all__ = [
    "LETTER_P_VALUE",
    "LONG_KEY_EXTRA_CHARS",
    "LONG_KEY_RATIO",
    "MAX_LETTER_SHARE",
    "MAX_KEY_RATIO",
    "MAX_LONGEST_KEY_SHARE",
    "MAX_SHARED_SHINGLES",
    "MAX_STEM_RATIO",
    "MIN_WHY_CHARS",
    "QUALIFIERS",
    "Finding",
    "choose_count",
    "format_findings",
    "key_is_longest",
    "letter_p_value",
    "lint",
    "lint_questions",
    "load_bank",
    "longest_pick",
    "notebook_variables",
    "summary",
]

MAX_LONGEST_KEY_SHARE = 0.35
"""Most 4-option single-choice questions whose key may be the strictly longest option (chance: 25 %)."""

LONG_KEY_RATIO = 1.5
"""A key longer than this times the longest distractor ..."""

LONG_KEY_EXTRA_CHARS = 40
"""... and longer by more than this many characters is a cue on its own."""

LETTER_P_VALUE = 0.01
"""Chi-square p-value below which the correct-letter distribution is not uniform."""

MAX_LETTER_SHARE = 0.40
"""Most single-choice questions one letter may answer."""

MIN_WHY_CHARS = 20
"""An option's explanation shorter than this does not explain."""

MAX_STEM_RATIO = 0.9
"""difflib ratio above which two stems are near-duplicates."""

MAX_SHARED_SHINGLES = 0.5
"""Share of the shorter stem's 8-word shingles above which two stems are near-duplicates."""

MAX_KEY_RATIO = 0.8
"""difflib ratio above which a pool question's key repeats a lab question's key."""

SHINGLE_WORDS = 8
"""Words per shingle for the near-duplicate rule."""

MIN_GROUP = 30
"""Fewest single-choice questions a group (the pool) needs before its own rates are judged."""

QUALIFIERS: tuple[str, ...] = (
    "and also",
    "while keeping",
    "while still",
    "while preserving",
    "while maintaining",
    "without losing",
    "without changing",
    "as well as",
    "in addition",
    "at the same time",
)
"""Phrases that make an option sound complete; a cue when only the key has one."""

_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "2": 2, "3": 3, "4": 4, "5": 5}
_CHOOSE = re.compile(r"\bchoose\s+(two|three|four|five|[2-5])\b", re.IGNORECASE)
_LAB_WORDS = re.compile(
    r"\b(this|the|in|our|previous|earlier)\s+lab\b|\blab\s+\d{1,2}\b|\bnotebook'?s?\s+(cell|variable)s?\b"
    r"|\bin\s+the\s+notebook\b|\bthis\s+notebook\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Finding:
    """One problem in the bank.

    Attributes:
        rule: the rule's name (see the module docstring), e.g. ``"choose-n"``.
        where: the file and question (``"pool/a_data.yaml mock-a004"``), or ``"bank"``/``"pool"``
            for a bank-wide statistic.
        message: what is wrong and what to change.
    """

    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.rule}] {self.message}"


# -- statistics shared by the rules and the tests ----------------------------------------


def _singles(questions: Iterable[quiz.Question]) -> list[quiz.Question]:
    return [q for q in questions if q.kind == "single" and len(q.options) == 4]


def key_is_longest(question: quiz.Question) -> bool:
    """Whether the (single) correct option is strictly longer, in characters, than every other."""
    key = next(o for o in question.options if o.correct)
    return all(len(key.text) > len(o.text) for o in question.options if not o.correct)


def longest_pick(question: quiz.Question) -> frozenset[str]:
    """The answer of a candidate who picks by length: the N longest options (N = keys wanted).

    Ties go to the earlier letter, so the strategy is deterministic.
    """
    ranked = sorted(question.options, key=lambda o: (-len(o.text), o.key))
    return frozenset(o.key for o in ranked[: len(question.correct_keys)])


def letter_p_value(counts: Sequence[int]) -> float:
    """Chi-square goodness-of-fit p-value of ``counts`` against a uniform distribution.

    Raises:
        ValueError: fewer than two categories, or no observations.
    """
    if len(counts) < 2 or sum(counts) <= 0 or any(c < 0 for c in counts):
        raise ValueError(f"need at least two non-negative counts with a positive total, got {list(counts)}")
    from scipy.stats import chisquare

    return float(chisquare(list(counts)).pvalue)


def choose_count(stem: str) -> int | None:
    """The N of "Choose N" in a stem (two-five or digits); None when absent, -1 when it names several."""
    found = {_NUMBERS[m.lower()] for m in _CHOOSE.findall(stem)}
    return found.pop() if len(found) == 1 else (None if not found else -1)


def summary(questions: Sequence[quiz.Question]) -> dict[str, Any]:
    """Bank statistics for reports: sizes, the longest-key share and the correct letters.

    Returns:
        ``{"questions", "single4", "multiple", "longest_key", "longest_key_share",
        "letters": {"A": n, ...}, "letter_p_value"}`` (the p-value is None under 2 questions).
    """
    singles = _singles(questions)
    letters = Counter(next(iter(q.correct_keys)) for q in singles)
    counts = [letters.get(k, 0) for k in "ABCD"]
    longest = sum(key_is_longest(q) for q in singles)
    return {
        "questions": len(questions),
        "single4": len(singles),
        "multiple": sum(q.kind == "multiple" for q in questions),
        "longest_key": longest,
        "longest_key_share": longest / len(singles) if singles else 0.0,
        "letters": dict(zip("ABCD", counts, strict=True)),
        "letter_p_value": letter_p_value(counts) if len(singles) >= 2 else None,
    }


# -- per-question rules ----------------------------------------------------------------


def _where(question: quiz.Question, files: dict[str, str]) -> str:
    return f"{files.get(question.id, '?')} {question.id}"


def _length_rules(q: quiz.Question, where: str) -> list[Finding]:
    correct = [o for o in q.options if o.correct]
    wrong = [o for o in q.options if not o.correct]
    shortest_key = min(len(o.text) for o in correct)
    longest_wrong = max(len(o.text) for o in wrong)
    if shortest_key > LONG_KEY_RATIO * longest_wrong and shortest_key - longest_wrong > LONG_KEY_EXTRA_CHARS:
        return [Finding(
            "key-much-longer", where,
            f"the correct option has {shortest_key} characters, the longest distractor {longest_wrong} "
            f"(limit: {LONG_KEY_RATIO}x and +{LONG_KEY_EXTRA_CHARS}); make the distractors as specific "
            "as the key or move the justification into 'why'",
        )]
    return []


def _qualifier_rules(q: quiz.Question, where: str) -> list[Finding]:
    findings = []
    for phrase in QUALIFIERS:
        pattern = re.compile(rf"\b{re.escape(phrase)}\b", re.IGNORECASE)
        in_key = [o.key for o in q.options if o.correct and pattern.search(o.text)]
        in_wrong = any(pattern.search(o.text) for o in q.options if not o.correct)
        if in_key and not in_wrong:
            findings.append(Finding(
                "qualifier-in-key", where,
                f"only the correct option(s) {', '.join(in_key)} say {phrase!r}: give a distractor the same "
                "kind of qualifier or drop it from the key",
            ))
    return findings


def _choose_rules(q: quiz.Question, where: str) -> list[Finding]:
    n = choose_count(q.question)
    wanted = len(q.correct_keys)
    if q.kind == "multiple" and n != wanted:
        said = "does not say how many to choose" if n is None else (
            "names several counts" if n == -1 else f"says choose {n}")
        return [Finding(
            "choose-n", where,
            f"the stem {said} but {wanted} options are correct: end it with "
            f"\"Choose {['', '', 'two', 'three', 'four', 'five'][wanted]}.\"",
        )]
    if q.kind == "single" and n is not None:
        return [Finding("choose-n", where, "a single-choice stem asks to choose several options")]
    return []


def _why_rules(q: quiz.Question, where: str) -> list[Finding]:
    findings = [
        Finding("why-too-short", where, f"option {o.key}'s 'why' has {len(o.why)} characters (at least "
                f"{MIN_WHY_CHARS}): say why it is right or wrong")
        for o in q.options if len(o.why) < MIN_WHY_CHARS
    ]
    texts = [o.text.casefold() for o in q.options]
    for text, count in Counter(texts).items():
        if count > 1:
            findings.append(Finding("duplicate-option", where, f"{count} options read {text!r}"))
    return findings


def _lab_rules(q: quiz.Question, where: str, variables: frozenset[str]) -> list[Finding]:
    if q.pool is None:
        return []
    text = " ".join([q.question, *(o.text for o in q.options)])
    findings = []
    match = _LAB_WORDS.search(text)
    if match:
        findings.append(Finding(
            "lab-reference", where,
            f"a mock question mentions {match.group(0)!r}: write it as a scenario that stands on its own",
        ))
    names = sorted(v for v in variables if re.search(rf"(?<![\w.]){re.escape(v)}(?!\w)", text))
    if names:
        findings.append(Finding(
            "lab-reference", where,
            f"a mock question names the labs' variable(s) {names}: describe the setting instead",
        ))
    return findings


# -- bank-wide rules -------------------------------------------------------------------


def _rate_rules(questions: Sequence[quiz.Question], label: str, files: dict[str, str]) -> list[Finding]:
    singles = _singles(questions)
    if not singles:
        return []
    findings = []
    longest = [q for q in singles if key_is_longest(q)]
    share = len(longest) / len(singles)
    if share > MAX_LONGEST_KEY_SHARE:
        per_file = Counter(files.get(q.id, "?") for q in longest)
        worst = ", ".join(f"{name} ({n})" for name, n in per_file.most_common(5))
        findings.append(Finding(
            "longest-key-rate", label,
            f"the correct option is the strictly longest in {len(longest)} of {len(singles)} 4-option "
            f"single-choice questions ({share:.0%}; limit {MAX_LONGEST_KEY_SHARE:.0%}, chance 25%); "
            f"most in {worst}",
        ))
    counts = Counter(next(iter(q.correct_keys)) for q in singles)
    shares = {k: counts.get(k, 0) / len(singles) for k in "ABCD"}
    p_value = letter_p_value([counts.get(k, 0) for k in "ABCD"])
    top = max(shares, key=lambda k: shares[k])
    if p_value < LETTER_P_VALUE or shares[top] > MAX_LETTER_SHARE:
        spread = ", ".join(f"{k} {counts.get(k, 0)}" for k in "ABCD")
        findings.append(Finding(
            "letter-distribution", label,
            f"correct letters of {len(singles)} single-choice questions: {spread} (chi-square p = "
            f"{p_value:.3g}; limits p >= {LETTER_P_VALUE}, no letter over {MAX_LETTER_SHARE:.0%}): "
            f"move some keys away from {top}",
        ))
    return findings


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def _duplicate_rules(questions: Sequence[quiz.Question], files: dict[str, str]) -> list[Finding]:
    words = [_words(q.question) for q in questions]
    vocab = [set(w) for w in words]
    shingles = [_shingles(w) for w in words]
    texts = [" ".join(w) for w in words]
    findings = []
    for i in range(len(questions)):
        for j in range(i + 1, len(questions)):
            union = vocab[i] | vocab[j]
            shared = len(shingles[i] & shingles[j])
            smaller = min(len(shingles[i]), len(shingles[j]))
            by_shingles = smaller > 0 and shared / smaller > MAX_SHARED_SHINGLES
            # A ratio above 0.9 needs most words in common: skip the costly ratio otherwise.
            ratio = 0.0
            if by_shingles or (union and len(vocab[i] & vocab[j]) / len(union) > 0.6):
                ratio = difflib.SequenceMatcher(None, texts[i], texts[j], autojunk=False).ratio()
            if ratio > MAX_STEM_RATIO or by_shingles:
                findings.append(Finding(
                    "near-duplicate", _where(questions[j], files),
                    f"its stem nearly repeats {_where(questions[i], files)} (difflib ratio {ratio:.2f}, "
                    f"{shared} shared {SHINGLE_WORDS}-word shingles of {smaller}): test a different fact or "
                    "drop one",
                ))
    return findings


def _key_text(q: quiz.Question) -> str:
    return " | ".join(" ".join(_words(o.text)) for o in q.options if o.correct)


def _held_out_rules(questions: Sequence[quiz.Question], files: dict[str, str]) -> list[Finding]:
    """A pool question whose key reads like a lab question's key tests the same fact: not held out."""
    labs = [(q, _key_text(q)) for q in questions if q.pool is None]
    findings = []
    for q in (q for q in questions if q.pool is not None):
        key = _key_text(q)
        words = set(key.split())
        for lab_q, lab_key in labs:
            other = set(lab_key.split())
            if not words or len(words & other) / len(words | other) <= 0.5:  # cheap filter first
                continue
            ratio = difflib.SequenceMatcher(None, key, lab_key, autojunk=False).ratio()
            if ratio > MAX_KEY_RATIO:
                findings.append(Finding(
                    "repeats-lab-key", _where(q, files),
                    f"its correct option reads like that of {_where(lab_q, files)} (difflib ratio "
                    f"{ratio:.2f}): a mock question must test what the lab's quiz did not already answer",
                ))
    return findings


# -- entry points ----------------------------------------------------------------------


def notebook_variables(solutions: str | Path) -> frozenset[str]:
    """The upper-case names the labs' parameters cells define (``PRUNING_TRIALS``, ``SEED``...).

    A mock question that names one of them only makes sense inside that lab.

    Raises:
        ValueError: ``solutions`` is not a folder.
    """
    folder = Path(solutions)
    if not folder.is_dir():
        raise ValueError(f"solutions folder {folder} does not exist")
    names: set[str] = set()
    for path in sorted(folder.glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code" or "parameters" not in cell.get("metadata", {}).get("tags", []):
                continue
            for node in ast.walk(ast.parse("".join(cell["source"]))):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id.isupper():
                    names.add(node.id)
    return frozenset(names)


def lint_questions(
    questions: Sequence[quiz.Question],
    files: dict[str, str] | None = None,
    *,
    variables: Iterable[str] = (),
) -> list[Finding]:
    """Apply every rule to already loaded questions (see the module docstring).

    Args:
        questions: lab questions and pool questions together.
        files: question id -> file name, for the messages.
        variables: notebook variable names a pool question must not mention.
    """
    files = files or {}
    names = frozenset(variables)
    findings: list[Finding] = []
    for q in questions:
        where = _where(q, files)
        findings += _why_rules(q, where)
        findings += _choose_rules(q, where)
        findings += _length_rules(q, where)
        findings += _qualifier_rules(q, where)
        findings += _lab_rules(q, where, names)
    findings += _rate_rules(questions, "bank", files)
    pool = [q for q in questions if q.pool is not None]
    if len(_singles(pool)) >= MIN_GROUP:
        findings += _rate_rules(pool, "pool", files)
    findings += _duplicate_rules(questions, files)
    findings += _held_out_rules(questions, files)
    return findings


def load_bank(
    directory: str | quiz.Directory | None = None,
) -> tuple[list[quiz.Question], dict[str, str], list[Finding]]:
    """Load every lab file and pool file, turning a file that does not load into a finding.

    One broken file (a colleague's work in progress) must not hide the findings of the others.

    Returns:
        The questions that loaded, question id -> file name, and the ``schema`` findings.
    """
    named = [(p.name, p) for p in quiz.lab_files(directory)]
    named += [(f"pool/{p.name}", p) for p in quiz.pool_files(directory)]
    questions: list[quiz.Question] = []
    files: dict[str, str] = {}
    findings: list[Finding] = []
    for name, path in named:
        try:
            loaded = quiz.load_file(path)
        except ValueError as err:
            findings.append(Finding("schema", name, str(err)))
            continue
        for q in loaded:
            if q.id in files:
                findings.append(Finding("schema", f"{name} {q.id}", f"id also used in {files[q.id]}"))
                continue
            files[q.id] = name
            questions.append(q)
    return questions, files, findings


def lint(
    directory: str | quiz.Directory | None = None, *, solutions: str | Path | None = None
) -> list[Finding]:
    """Lint the whole bank: every lab file and every pool file.

    Args:
        directory: the questions folder; by default the package's ``questions``.
        solutions: the ``solutions/`` folder, to learn the labs' variable names; None skips
            that part of the ``lab-reference`` rule.

    Returns:
        The ``schema`` findings of files that do not load, then the findings per question in
        file order, then the bank-wide ones.
    """
    questions, files, findings = load_bank(directory)
    variables = notebook_variables(solutions) if solutions is not None else frozenset()
    return findings + lint_questions(questions, files, variables=variables)


def format_findings(findings: Sequence[Finding], questions: Sequence[quiz.Question] | None = None) -> str:
    """The findings one per line, sorted by rule, a count per rule, then statistics for the labs and the pool.

    The statistics (size per section, the longest-key share, the correct letters) are what the
    issue's closing note asks for, before and after a rewrite.
    """
    lines = [str(f) for f in sorted(findings, key=lambda f: (f.rule, f.where))]
    per_rule = Counter(f.rule for f in findings)
    lines.append(
        f"{len(findings)} finding(s)" + (": " + ", ".join(f"{r} {n}" for r, n in sorted(per_rule.items()))
                                         if findings else "")
    )
    groups = [("labs", [q for q in questions or () if q.pool is None]),
              ("pool", [q for q in questions or () if q.pool is not None])]
    for label, group in groups:
        if not group:
            continue
        stats = summary(group)
        p = stats["letter_p_value"]
        lines.append(
            f"{label}: {stats['questions']} questions ({stats['single4']} single-choice, {stats['multiple']} "
            f"multiple select); key strictly longest in {stats['longest_key']} of {stats['single4']} "
            f"({stats['longest_key_share']:.0%}); letters {stats['letters']}"
            + ("" if p is None else f", chi-square p = {p:.3g}")
        )
        for version in ("2026-06", "2024-10"):
            firsts = [q.sections[version][0] for q in group if version in q.sections]
            per_section = Counter(sub.split(".")[0] for sub in firsts)
            lines.append(f"  by first section ({version}): "
                         + ", ".join(f"{s}: {n}" for s, n in sorted(per_section.items())))
    return "\n".join(lines)
