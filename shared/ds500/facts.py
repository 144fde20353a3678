"""The registry of dated facts (``facts.yaml``) and the check that the course agrees with it.

Why one registry: product names and lifecycle dates change (Vertex AI became Gemini Enterprise
Agent Platform, notebooks and AutoML tasks were shut down), and a course that states the same date
in a lab, a question, a service card and the cheat sheet will sooner or later state two different
ones. Here each fact is written once, with Google's page and the day it was last read; lab 00's
lifecycle table and the cheat sheet are built from it, and :func:`conflicts` finds any sentence in
the course that names a product next to a date the registry does not know for it.

Example::

    from ds500 import facts
    table = facts.lifecycle()                     # lab 00's lifecycle table
    facts.conflicts([("lab 06", "User-managed notebooks ended in January 2025.")])
    # -> ['lab 06: "User-managed notebooks ended in January 2025." names Workbench user-managed ...']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

__all__ = ["RETIRED_STATUSES", "STATUSES", "Fact", "conflicts", "dates_in", "lifecycle", "load"]

STATUSES = ("renamed", "launched", "deprecated", "retired", "removed", "shut down", "archived")
RETIRED_STATUSES = frozenset({"retired", "removed", "shut down", "archived"})
"""Statuses after which the product can no longer be used."""
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Fact:
    """One product's lifecycle: what happened when, what to use now, and who says so."""

    term: str
    product: str
    status: str
    date: str
    now: str
    use_instead: str
    reference_title: str
    reference_url: str
    checked: str
    match: tuple[str, ...]
    deprecated: str | None = None
    ends: str | None = None
    events: dict[str, str] = field(default_factory=dict)

    @property
    def dates(self) -> frozenset[str]:
        """Every date the registry knows for this product (ISO strings)."""
        return frozenset(d for d in (self.date, self.deprecated, self.ends, *self.events) if d)

    def mentioned_in(self, text: str) -> bool:
        return any(re.search(pattern, text, re.IGNORECASE) for pattern in self.match)


def _date(raw: Any, key: str, where: str, *, required: bool = False) -> str | None:
    if raw is None and not required:
        return None
    if not isinstance(raw, str) or not _ISO.match(raw):
        raise ValueError(f"{where}: {key} {raw!r} must be an ISO date such as \"2026-04-22\"")
    return raw


def _fact(raw: Any, index: int) -> Fact:
    where = f"facts.yaml entry {index + 1}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be a mapping")
    texts = {}
    for key in ("term", "product", "status", "now", "use_instead"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: {key!r} must be a non-empty string")
        texts[key] = " ".join(value.split())
    if texts["status"] not in STATUSES:
        raise ValueError(f"{where}: status {texts['status']!r} is not one of {', '.join(STATUSES)}")
    date = _date(raw.get("date"), "date", where, required=True)
    checked = _date(raw.get("checked"), "checked", where, required=True)
    deprecated = _date(raw.get("deprecated"), "deprecated", where)
    ends = _date(raw.get("ends"), "ends", where)
    if ends and texts["status"] != "deprecated":
        raise ValueError(f"{where}: 'ends' (a scheduled end) only fits status deprecated")
    events = raw.get("events") or {}
    if not isinstance(events, dict):
        raise ValueError(f"{where}: 'events' must map ISO dates to what happened")
    for day in events:
        _date(day, "an events date", where, required=True)
    reference = raw.get("reference") or {}
    if not str(reference.get("url", "")).startswith("https://") or not reference.get("title"):
        raise ValueError(f"{where}: needs reference: {{title, url}} with an https URL")
    match = raw.get("match")
    if not isinstance(match, list) or not match or not all(isinstance(m, str) and m for m in match):
        raise ValueError(f"{where}: 'match' must list the phrases the course uses for the product")
    for pattern in match:
        re.compile(pattern)
    return Fact(
        term=texts["term"],
        product=texts["product"],
        status=texts["status"],
        date=str(date),
        now=texts["now"],
        use_instead=texts["use_instead"],
        reference_title=str(reference["title"]),
        reference_url=str(reference["url"]),
        checked=str(checked),
        match=tuple(match),
        deprecated=deprecated,
        ends=ends,
        events={str(k): str(v) for k, v in events.items()},
    )


def load() -> list[Fact]:
    """Load and validate the package's ``facts.yaml``.

    Raises:
        ValueError: an entry lacks a field, has an unknown status, a malformed date,
            a non-https reference or an invalid ``match`` expression.
    """
    data = yaml.safe_load((resources.files("ds500") / "facts.yaml").read_text(encoding="utf-8"))
    return [_fact(raw, i) for i, raw in enumerate(data["entries"])]


def lifecycle(entries: Sequence[Fact] | None = None) -> Any:
    """Deprecated and retired products as a table: product, deprecated, retired, use_instead.

    ``deprecated`` is when Google announced the end (missing when the registry does not record
    it); ``retired`` is when the product stopped or stops working: a shutdown already past, or
    one that is scheduled. Renames and launches are not lifecycle ends and are left out.
    """
    import pandas as pd

    rows = []
    for fact in entries if entries is not None else load():
        if fact.status == "deprecated":
            rows.append((fact.product, fact.date, fact.ends, fact.use_instead))
        elif fact.status in RETIRED_STATUSES:
            rows.append((fact.product, fact.deprecated, fact.date, fact.use_instead))
    table = pd.DataFrame(rows, columns=["product", "deprecated", "retired", "use_instead"])
    table[["deprecated", "retired"]] = table[["deprecated", "retired"]].apply(pd.to_datetime)
    return table


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sept", "sep"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
# "the June 2026 guide" names a version of the exam guide; it dates no event.
_NOT_A_NAME = rf"(?!(?:\s+(?:and|or)\s+(?:{_MONTH})\.? 20\d\d)?\s+(?:exam\s+)?(?:guides?|versions?))"
_DATE_PATTERNS = (
    re.compile(rf"\b(?P<y>20\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b{_NOT_A_NAME}"),
    re.compile(rf"\b(?P<d>\d{{1,2}}) (?P<mn>{_MONTH})\.? (?P<y>20\d\d)\b{_NOT_A_NAME}", re.IGNORECASE),
    re.compile(rf"\b(?P<mn>{_MONTH})\.? (?P<d>\d{{1,2}}),? (?P<y>20\d\d)\b{_NOT_A_NAME}", re.IGNORECASE),
    re.compile(rf"\b(?P<mn>{_MONTH})\.? (?P<y>20\d\d)\b{_NOT_A_NAME}", re.IGNORECASE),
)
# Sentences, table rows and lines; in code, each string literal of a list stands alone.
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z(\"'`*])|\n|(?<=[\"'])\s*,\s*(?=[\"'])")


def dates_in(text: str) -> list[tuple[int, int, int | None]]:
    """Dates written in ``text`` as (year, month, day or None), in ISO, "16 March 2026",
    "March 16, 2026" or "March 2026" form (each date counted once)."""
    found: list[tuple[int, int, int | None]] = []
    taken: list[range] = []
    for pattern in _DATE_PATTERNS:
        for hit in pattern.finditer(text):
            span = range(hit.start(), hit.end())
            if any(span.start < t.stop and t.start < span.stop for t in taken):
                continue
            if re.search(r"\|\s*$", text[: hit.start()]) and re.match(r"\s*\|", text[hit.end():]):
                continue  # "| October 2024 |": a table cell that names a guide version, not an event
            taken.append(span)
            groups = hit.groupdict()
            month = int(groups["m"]) if groups.get("m") else _MONTHS[groups["mn"].lower()]
            day = int(groups["d"]) if groups.get("d") else None
            found.append((int(groups["y"]), month, day))
    return found


def _agrees(found: tuple[int, int, int | None], known: Iterable[str]) -> bool:
    year, month, day = found
    for iso in known:
        y, m, d = (int(part) for part in iso.split("-"))
        if (y, m) == (year, month) and day in (None, d):
            return True
    return False


def conflicts(texts: Iterable[tuple[str, str]], entries: Sequence[Fact] | None = None) -> list[str]:
    """Sentences that name a registered product next to a date the registry does not know for it.

    Args:
        texts: ``(where, text)`` pairs: a label for the message and the text to read.
        entries: the registry (default: the package's ``facts.yaml``).

    A sentence passes when every date in it agrees (same year and month, and the same day when
    the sentence gives one) with a date of at least one product the sentence names.
    """
    registry = list(entries if entries is not None else load())
    problems = []
    for where, text in texts:
        for sentence in _SENTENCE.split(text):
            named = [fact for fact in registry if fact.mentioned_in(sentence)]
            if not named:
                continue
            known = [day for fact in named for day in fact.dates]
            for found in dates_in(sentence):
                if not _agrees(found, known):
                    written = "-".join(str(part) for part in found if part is not None)
                    names = ", ".join(f"{f.product} ({', '.join(sorted(f.dates))})" for f in named)
                    problems.append(
                        f"{where}: {sentence.strip()[:160]!r} dates {written}, but facts.yaml has {names}"
                    )
    return problems
