"""The PMLE exam guide outline, and which labs cover which part of it.

The course maps every lab to subsections of the official exam guide, so a student
can see what is covered and a maintainer can spot gaps. Two guide versions are
shipped as package data (``exam_guide.yaml``):

* ``"2026-06"``: the June 2026 guide, the default: the English exam follows it since
  2026-06-01 (Google's certification page). Its outline comes from two third-party
  transcriptions that agree (``verified`` is ``False``: the weights add up to 101 and
  are not confirmed against Google's PDF);
* ``"2024-10"``: the October 2024 guide, the previous exam, kept for candidates who sit
  it in a language that has not moved to the new version.

Section and subsection titles are Google's names; the topic strings are our own
short re-wording, not the guide's text.

Example::

    from ds500 import examguide
    guide = examguide.load()   # the June 2026 guide
    guide.weights()            # {"1": 13, "2": 16, ...}
    guide.section_of("5.2").title
    df = examguide.coverage(sorted(Path("solutions").glob("*.ipynb")), "2026-06")
    print(examguide.format_coverage(df))
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # pandas is imported lazily, inside coverage()
    import pandas as pd

__all__ = [
    "DEFAULT_VERSION",
    "VERSIONS",
    "WEIGHT_TOLERANCE",
    "ExamGuide",
    "Section",
    "Subsection",
    "COVERAGE_END",
    "COVERAGE_START",
    "coverage",
    "coverage_markdown",
    "format_coverage",
    "load",
    "question_counts",
]

VERSIONS: tuple[str, ...] = ("2024-10", "2026-06")
"""The guide versions shipped with the package, oldest first."""

DEFAULT_VERSION = "2026-06"
"""The version used when none is given: the one confirmed on Google's page."""

WEIGHT_TOLERANCE = 1
"""How far the weights of a version may sum away from 100.

Google publishes each section's share as a rounded percentage, so the shares
of a version can add up to 99 or 101: the June 2026 transcriptions give
13 + 16 + 21 + 20 + 18 + 13 = 101. Anything further off is a typo.
"""

_SECTION_ID = re.compile(r"^[1-9]$")
_SUBSECTION_ID = re.compile(r"^([1-9])\.([1-9][0-9]?)$")


@dataclass(frozen=True)
class Subsection:
    """One subsection of the guide, e.g. ``1.1``.

    Attributes:
        id: the dotted id, ``"<section>.<n>"``.
        title: Google's title of the subsection.
        topics: short topic strings in our own words (what to study).
    """

    id: str
    title: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """One of the six sections of the guide, with its share of the exam.

    Attributes:
        id: ``"1"`` to ``"6"``.
        title: Google's title of the section.
        weight: the approximate percentage of exam questions from this section.
        subsections: the section's subsections, in guide order.
    """

    id: str
    title: str
    weight: int
    subsections: tuple[Subsection, ...]


@dataclass(frozen=True)
class ExamGuide:
    """One version of the exam guide outline.

    Attributes:
        version: the version id, one of :data:`VERSIONS`.
        title: a human-readable title of the version.
        source: where the outline comes from (so readers can judge it).
        verified: ``True`` only when the outline was checked on Google's page.
        sections: the sections, in guide order.
    """

    version: str
    title: str
    source: str
    verified: bool
    sections: tuple[Section, ...]

    def subsection_ids(self) -> list[str]:
        """Return every subsection id in guide order (the columns of :func:`coverage`)."""
        return [sub.id for sec in self.sections for sub in sec.subsections]

    def weights(self) -> dict[str, int]:
        """Return section id -> weight in percent, to plan study time by exam share."""
        return {sec.id: sec.weight for sec in self.sections}

    def section(self, section_id: str) -> Section:
        """Return the section with id ``section_id`` (e.g. ``"3"``).

        Raises:
            ValueError: if the version has no such section.
        """
        for sec in self.sections:
            if sec.id == str(section_id):
                return sec
        known = ", ".join(sec.id for sec in self.sections)
        raise ValueError(f"exam guide {self.version} has no section {section_id!r}; known: {known}")

    def subsection(self, sub_id: str) -> Subsection:
        """Return the subsection with id ``sub_id`` (e.g. ``"5.2"``).

        Raises:
            ValueError: if the version has no such subsection.
        """
        for sec in self.sections:
            for sub in sec.subsections:
                if sub.id == sub_id:
                    return sub
        raise ValueError(
            f"exam guide {self.version} has no subsection {sub_id!r}; "
            f"known: {', '.join(self.subsection_ids())}"
        )

    def section_of(self, sub_id: str) -> Section:
        """Return the section that holds subsection ``sub_id`` (to show its weight).

        Raises:
            ValueError: if the version has no such subsection.
        """
        for sec in self.sections:
            if any(sub.id == sub_id for sub in sec.subsections):
                return sec
        raise ValueError(
            f"exam guide {self.version} has no subsection {sub_id!r}; "
            f"known: {', '.join(self.subsection_ids())}"
        )


# -- loading and validation ----------------------------------------------------


def _check_version(version: object) -> str:
    if not isinstance(version, str) or version not in VERSIONS:
        raise ValueError(f"unknown exam guide version {version!r}; choose one of {', '.join(VERSIONS)}")
    return version


def _read_yaml(path: Path | None) -> dict[str, Any]:
    if path is None:
        text = (resources.files("ds500") / "exam_guide.yaml").read_text(encoding="utf-8")
        where = "ds500/exam_guide.yaml"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
        raise ValueError(f"{where}: expected a mapping with a 'versions' key")
    return data


def _require(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise ValueError(f"{where}: missing key {key!r}")
    value = mapping[key]
    # bool is an int subclass: a weight of True must not pass as 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{where}: {key!r} must be {getattr(kind, '__name__', kind)}")
    return value


def _parse(version: str, raw: Any, where: str) -> ExamGuide:
    where = f"{where} [{version}]"
    title = _require(raw, "title", str, where)
    source = _require(raw, "source", str, where)
    verified = _require(raw, "verified", bool, where)
    raw_sections = _require(raw, "sections", list, where)
    if not raw_sections:
        raise ValueError(f"{where}: no sections")

    sections: list[Section] = []
    seen_sections: set[str] = set()
    seen_subs: set[str] = set()
    for raw_sec in raw_sections:
        sec_id = str(_require(raw_sec, "id", (str, int), where))
        sec_where = f"{where} section {sec_id}"
        if not _SECTION_ID.match(sec_id):
            raise ValueError(f"{sec_where}: section id {sec_id!r} is not a digit 1-9")
        if sec_id in seen_sections:
            raise ValueError(f"{where}: duplicate section id {sec_id!r}")
        seen_sections.add(sec_id)
        weight = _require(raw_sec, "weight", int, sec_where)
        if not 0 < weight <= 100:
            raise ValueError(f"{sec_where}: weight {weight} is not in 1..100")
        subsections: list[Subsection] = []
        for raw_sub in _require(raw_sec, "subsections", list, sec_where):
            sub_id = str(_require(raw_sub, "id", str, sec_where))
            match = _SUBSECTION_ID.match(sub_id)
            if not match:
                raise ValueError(f"{sec_where}: subsection id {sub_id!r} is not like '1.2'")
            if match.group(1) != sec_id:
                raise ValueError(f"{sec_where}: subsection {sub_id!r} does not belong to section {sec_id}")
            if sub_id in seen_subs:
                raise ValueError(f"{where}: duplicate subsection id {sub_id!r}")
            seen_subs.add(sub_id)
            topics = _require(raw_sub, "topics", list, f"{where} {sub_id}")
            if not topics or not all(isinstance(t, str) and t.strip() for t in topics):
                raise ValueError(f"{where} {sub_id}: topics must be non-empty strings")
            subsections.append(
                Subsection(
                    id=sub_id,
                    title=_require(raw_sub, "title", str, f"{where} {sub_id}"),
                    topics=tuple(t.strip() for t in topics),
                )
            )
        if not subsections:
            raise ValueError(f"{sec_where}: no subsections")
        sections.append(
            Section(
                id=sec_id,
                title=_require(raw_sec, "title", str, sec_where),
                weight=weight,
                subsections=tuple(subsections),
            )
        )

    total = sum(sec.weight for sec in sections)
    if abs(total - 100) > WEIGHT_TOLERANCE:
        raise ValueError(
            f"{where}: section weights sum to {total}, not 100 (± {WEIGHT_TOLERANCE} for rounding)"
        )
    return ExamGuide(
        version=version,
        title=title,
        source=" ".join(source.split()),
        verified=verified,
        sections=tuple(sections),
    )


@functools.lru_cache(maxsize=16)
def _load_cached(version: str, path: str | None) -> ExamGuide:
    data = _read_yaml(Path(path) if path is not None else None)
    where = path or "ds500/exam_guide.yaml"
    if version not in data["versions"]:
        raise ValueError(f"{where}: version {version!r} is missing")
    return _parse(version, data["versions"][version], where)


def load(version: str = DEFAULT_VERSION, path: str | Path | None = None) -> ExamGuide:
    """Load and validate one version of the exam guide outline.

    The result is cached: labs, quizzes and the coverage report call this often,
    and the file never changes while a process runs.

    Args:
        version: one of :data:`VERSIONS`.
        path: an alternative YAML file with the same layout (for tests); by
            default the package's own ``exam_guide.yaml``.

    Returns:
        The parsed :class:`ExamGuide`.

    Raises:
        ValueError: for an unknown version, or when the YAML breaks a rule
            (weights not summing to 100 ± :data:`WEIGHT_TOLERANCE`, malformed or duplicate ids, missing
            keys); the message names the file, the version and the problem.
    """
    _check_version(version)
    return _load_cached(version, str(path) if path is not None else None)


# -- coverage --------------------------------------------------------------------


def coverage(notebook_paths: Iterable[str | Path], version: str = DEFAULT_VERSION) -> pd.DataFrame:
    """Tabulate which exam-guide subsections each lab notebook covers.

    The mapping lives in each notebook's ``metadata.ds500.exam_guide[version]``;
    collecting it in one table shows the gaps in the course at a glance.

    Args:
        notebook_paths: ``.ipynb`` files, e.g. ``sorted(Path("solutions").glob("*.ipynb"))``.
        version: the guide version whose subsection ids form the columns.

    Returns:
        A boolean DataFrame: one row per lab, labelled ``"NN Title"`` (from
        ``metadata.ds500.lab`` and ``.title``), one column per subsection id of
        the version, in guide order; True where the lab lists the subsection.

    Raises:
        ValueError: for an unknown version; for a notebook that cannot be read,
            has no ``metadata.ds500``, lacks ``lab``/``title``/``exam_guide[version]``,
            lists an unknown subsection id, or repeats another notebook's lab number.
            The message names the file.
    """
    import pandas as pd

    from ds500.catalog import read_lab

    guide = load(version)
    columns = guide.subsection_ids()
    known = set(columns)
    rows: dict[str, list[bool]] = {}
    labs_seen: dict[int, Path] = {}
    for path in map(Path, notebook_paths):
        info = read_lab(path)  # validates metadata.ds500; CatalogError is a ValueError
        if info.number in labs_seen:
            raise ValueError(f"{path}: lab number {info.number} is also used by {labs_seen[info.number]}")
        labs_seen[info.number] = path
        if version not in info.exam_guide:
            raise ValueError(f"{path}: metadata.ds500.exam_guide has no entry for {version!r}")
        ids = info.exam_guide[version]
        for sub_id in ids:
            if sub_id not in known:
                raise ValueError(f"{path}: unknown exam guide subsection {sub_id!r} for version {version}")
        rows[f"{info.number:02d} {info.title}"] = [sub in ids for sub in columns]

    ordered = sorted(rows, key=lambda label: int(label.split(" ", 1)[0]))
    df = pd.DataFrame([rows[label] for label in ordered], index=ordered, columns=columns)
    df = df.astype(bool)
    df.index.name = "lab"
    df.columns.name = f"exam guide {version}"
    return df


def question_counts(questions: Iterable[Any], version: str = DEFAULT_VERSION) -> dict[str, int]:
    """How many questions practise each subsection of ``version`` (every id they list counts).

    Args:
        questions: :class:`ds500.quiz.Question` objects, e.g. ``quiz.all_questions()``.
        version: the guide version.

    Returns:
        subsection id -> number of questions, for every subsection in guide order.
    """
    counts = dict.fromkeys(load(version).subsection_ids(), 0)
    for question in questions:
        for sub_id in question.sections.get(version, ()):
            counts[sub_id] += 1
    return counts


COVERAGE_START = "<!-- coverage:start (generated by `ds500 coverage --readme README.md`; do not edit) -->"
COVERAGE_END = "<!-- coverage:end -->"


def coverage_markdown(df: pd.DataFrame, counts: dict[str, int]) -> str:
    """The coverage matrix as a Markdown table, with a row of question counts.

    Args:
        df: the result of :func:`coverage`.
        counts: the result of :func:`question_counts` for the same version.
    """
    columns = [str(c) for c in df.columns]
    lines = ["| Lab | " + " | ".join(columns) + " |", "| --- |" + " :-: |" * len(columns)]
    for label, row in df.iterrows():
        lines.append(f"| {label} | " + " | ".join("✓" if bool(v) else "" for v in row) + " |")
    lines.append("| **labs** | " + " | ".join(str(int(df[c].sum())) for c in df.columns) + " |")
    lines.append("| **questions** | " + " | ".join(str(counts.get(c, 0)) for c in columns) + " |")
    return "\n".join(lines)


def format_coverage(df: pd.DataFrame, counts: dict[str, int] | None = None) -> str:
    """Render a coverage table as a plain-text matrix for the terminal.

    A check mark shows a covered subsection, a dot an uncovered one; the last
    row counts the labs per subsection, so zero marks an exam topic no lab teaches.

    Args:
        df: the result of :func:`coverage` (boolean, labs x subsection ids).
        counts: optionally, :func:`question_counts` for the same version (one more line).

    Returns:
        The matrix as a string with one line per lab plus a header and count lines.

    Raises:
        ValueError: if ``df`` is not a boolean DataFrame.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise ValueError("format_coverage expects the DataFrame returned by coverage()")
    if len(df.columns) and not all(pd.api.types.is_bool_dtype(t) for t in df.dtypes):
        raise ValueError("format_coverage expects boolean columns (the output of coverage())")
    columns = [str(c) for c in df.columns]
    labels = [str(i) for i in df.index]
    first = max([len("labs per subsection"), *(len(lab) for lab in labels)])
    widths = [max(3, len(c)) for c in columns]

    def line(head: str, cells: list[str]) -> str:
        body = " ".join(cell.center(w) for cell, w in zip(cells, widths, strict=True))
        return f"{head.ljust(first)}  {body}".rstrip()

    out = [line("", columns)]
    for label, (_, row) in zip(labels, df.iterrows(), strict=True):
        out.append(line(label, ["✓" if bool(v) else "·" for v in row]))
    out.append(line("labs per subsection", [str(int(df[c].sum())) for c in df.columns]))
    if counts is not None:
        out.append(line("questions", [str(counts.get(c, 0)) for c in columns]))
    return "\n".join(out)
