"""The service-card corpus: short revision notes on Google Cloud ML products.

Why a module: lab 03 builds a retrieval-augmented generation (RAG) system over these
cards and scores its retrieval against a labelled question set. Both must be the same
bytes for every student, and a malformed card (a duplicate id, a question pointing at a
card that does not exist) must fail with a clear message on the first cell rather than
as a puzzling recall@k twenty cells later. The cards ship as package data
(``service_cards.yaml`` next to this module), so they travel with ``pip install``.

Typical use::

    from ds500 import corpus
    cards = corpus.load_cards()          # [{"id": "document-ai", "name": ..., "text": ...}, ...]
    questions = corpus.load_questions()  # [{"question": "...", "card": "document-ai"}, ...]
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["CARD_FIELDS", "STATUSES", "CorpusError", "load_cards", "load_questions"]

CARD_FIELDS = ("id", "name", "formerly", "status", "text", "url")
"""The keys of every card, in display order."""

STATUSES = ("current", "renamed", "deprecated", "retired")
"""Allowed values of a card's ``status``."""

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FILE = "service_cards.yaml"


class CorpusError(ValueError):
    """The corpus file is missing or malformed; the message names the card or question."""


def _read(path: str | Path | None) -> dict[str, Any]:
    import yaml

    if path is None:
        text = resources.files("ds500").joinpath(_FILE).read_text(encoding="utf-8")
        where = f"ds500/{_FILE}"
    else:
        if not isinstance(path, (str, Path)):
            raise TypeError(f"path must be a str, a Path or None, not {type(path).__name__}")
        file = Path(path)
        if not file.is_file():
            raise CorpusError(f"{file} does not exist: pass the path of a service-card YAML file")
        text, where = file.read_text(encoding="utf-8"), str(file)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CorpusError(f"{where} is not valid YAML: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("cards"), list) or not data["cards"]:
        raise CorpusError(f"{where} must be a mapping with a non-empty 'cards' list")
    data["_where"] = where
    return data


def _validate_cards(data: dict[str, Any]) -> list[dict[str, str]]:
    where = data["_where"]
    cards: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["cards"]):
        if not isinstance(raw, dict):
            raise CorpusError(f"{where}: card {i + 1} must be a mapping")
        label = f"{where}: card {raw.get('id', i + 1)!r}"
        missing = [key for key in CARD_FIELDS if key not in raw]
        if missing:
            raise CorpusError(f"{label} lacks {', '.join(missing)}")
        card = {key: raw[key] for key in CARD_FIELDS}
        bad = [key for key, value in card.items() if not isinstance(value, str)]
        if bad:
            raise CorpusError(f"{label}: {', '.join(bad)} must be text")
        if not _ID.match(card["id"]):
            raise CorpusError(f"{label}: id must be lowercase words joined by hyphens")
        if card["id"] in seen:
            raise CorpusError(f"{label}: duplicate id")
        seen.add(card["id"])
        if card["status"] not in STATUSES:
            raise CorpusError(f"{label}: status must be one of {', '.join(STATUSES)}")
        if not card["url"].startswith("https://"):
            raise CorpusError(f"{label}: url must start with https://")
        if len(card["text"].split()) < 20:
            raise CorpusError(f"{label}: text is too short to be worth retrieving (under 20 words)")
        cards.append({key: value.strip() for key, value in card.items()})
    return cards


def load_cards(path: str | Path | None = None) -> list[dict[str, str]]:
    """Load and validate the service cards.

    Args:
        path: a service-card YAML file; ``None`` reads the one shipped with ``ds500``.

    Returns:
        One dict per card with the keys of :data:`CARD_FIELDS`, in file order.

    Raises:
        CorpusError: missing file, invalid YAML, missing key, bad id, status or url,
            duplicate id, or a text under 20 words.
        TypeError: ``path`` is not a path.
    """
    return _validate_cards(_read(path))


def load_questions(path: str | Path | None = None) -> list[dict[str, str]]:
    """Load the labelled questions and check that each names an existing card.

    Args:
        path: a service-card YAML file; ``None`` reads the one shipped with ``ds500``.

    Returns:
        ``[{"question": ..., "card": <card id>}, ...]`` in file order.

    Raises:
        CorpusError: as :func:`load_cards`, plus a missing ``questions`` list, an
            empty or duplicate question, or a card id that no card has.
        TypeError: ``path`` is not a path.
    """
    data = _read(path)
    ids = {card["id"] for card in _validate_cards(data)}
    where = data["_where"]
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise CorpusError(f"{where} must hold a non-empty 'questions' list")
    questions: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_questions):
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("question"), str)
            or not raw["question"].strip()
        ):
            raise CorpusError(f"{where}: question {i + 1} needs a non-empty 'question' text")
        text = raw["question"].strip()
        if text in seen:
            raise CorpusError(f"{where}: question {i + 1} repeats {text!r}")
        seen.add(text)
        if raw.get("card") not in ids:
            raise CorpusError(f"{where}: question {i + 1} names card {raw.get('card')!r}, which no card has")
        questions.append({"question": text, "card": raw["card"]})
    return questions
