"""Tests for ds500.corpus: the shipped service cards are valid, and bad files fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ds500 import corpus


def test_shipped_cards_are_valid() -> None:
    cards = corpus.load_cards()
    assert 25 <= len(cards) <= 40
    assert len({card["id"] for card in cards}) == len(cards)
    assert all(set(card) == set(corpus.CARD_FIELDS) for card in cards)
    assert {card["status"] for card in cards} <= set(corpus.STATUSES)
    assert any(card["status"] == "deprecated" for card in cards)


def test_shipped_questions_point_at_cards() -> None:
    ids = {card["id"] for card in corpus.load_cards()}
    questions = corpus.load_questions()
    assert len(questions) >= 30
    assert {q["card"] for q in questions} <= ids
    assert len({q["question"] for q in questions}) == len(questions)


def _write(tmp_path: Path, data: object) -> Path:
    file = tmp_path / "cards.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    return file


_CARD = {
    "id": "some-card",
    "name": "Some card",
    "formerly": "",
    "status": "current",
    "text": " ".join(["word"] * 25),
    "url": "https://cloud.google.com/",
}


def test_custom_file_round_trip(tmp_path: Path) -> None:
    file = _write(tmp_path, {"cards": [_CARD], "questions": [{"question": "Q?", "card": "some-card"}]})
    assert corpus.load_cards(file) == [_CARD]
    assert corpus.load_questions(str(file)) == [{"question": "Q?", "card": "some-card"}]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Bad Id"}, "hyphens"),
        ({"status": "beta"}, "status"),
        ({"url": "http://x"}, "https"),
        ({"text": "too short"}, "too short"),
        ({"name": 3}, "must be text"),
    ],
)
def test_bad_card(tmp_path: Path, change: dict[str, object], message: str) -> None:
    with pytest.raises(corpus.CorpusError, match=message):
        corpus.load_cards(_write(tmp_path, {"cards": [{**_CARD, **change}]}))


def test_missing_key_and_duplicate(tmp_path: Path) -> None:
    partial = {k: v for k, v in _CARD.items() if k != "url"}
    with pytest.raises(corpus.CorpusError, match="lacks url"):
        corpus.load_cards(_write(tmp_path, {"cards": [partial]}))
    with pytest.raises(corpus.CorpusError, match="duplicate"):
        corpus.load_cards(_write(tmp_path, {"cards": [_CARD, _CARD]}))


def test_bad_questions(tmp_path: Path) -> None:
    with pytest.raises(corpus.CorpusError, match="no card has"):
        corpus.load_questions(
            _write(tmp_path, {"cards": [_CARD], "questions": [{"question": "Q?", "card": "x"}]})
        )
    with pytest.raises(corpus.CorpusError, match="questions"):
        corpus.load_questions(_write(tmp_path, {"cards": [_CARD]}))
    twice = [{"question": "Q?", "card": "some-card"}] * 2
    with pytest.raises(corpus.CorpusError, match="repeats"):
        corpus.load_questions(_write(tmp_path, {"cards": [_CARD], "questions": twice}))


def test_bad_file(tmp_path: Path) -> None:
    with pytest.raises(corpus.CorpusError, match="does not exist"):
        corpus.load_cards(tmp_path / "nothing.yaml")
    with pytest.raises(corpus.CorpusError, match="non-empty 'cards'"):
        corpus.load_cards(_write(tmp_path, {"cards": []}))
    broken = tmp_path / "broken.yaml"
    broken.write_text("cards: [", encoding="utf-8")
    with pytest.raises(corpus.CorpusError, match="not valid YAML"):
        corpus.load_cards(broken)
    with pytest.raises(TypeError):
        corpus.load_cards(3)  # type: ignore[arg-type]
