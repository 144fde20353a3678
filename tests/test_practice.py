"""The practice exam: weighted allocation, seeded draws, per-section scores."""

from __future__ import annotations

from collections import Counter

import matplotlib

matplotlib.use("Agg")

import pytest

from ds500 import examguide, practice, quiz


@pytest.mark.parametrize("version", examguide.VERSIONS)
@pytest.mark.parametrize("n", [1, 7, 50, 60])
def test_allocate_follows_the_weights(version: str, n: int) -> None:
    counts = practice.allocate(n, version)
    weights = examguide.load(version).weights()
    assert sum(counts.values()) == n
    total = sum(weights.values())
    for section, weight in weights.items():
        assert abs(counts[section] - n * weight / total) < 1


def test_allocate_respects_what_the_bank_has() -> None:
    counts = practice.allocate(20, "2024-10", {"1": 10, "2": 1, "3": 10, "4": 10, "5": 10, "6": 0})
    assert counts["2"] == 1 and counts["6"] == 0 and sum(counts.values()) == 20
    with pytest.raises(ValueError, match="the bank has only 3"):
        practice.allocate(4, "2024-10", {"1": 3})


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "50"])
def test_allocate_rejects_bad_counts(n) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        practice.allocate(n, "2024-10")


def test_draw_is_seeded_weighted_and_unique() -> None:
    exam = practice.draw(30, version="2024-10", seed=3)
    assert [q.id for q in exam] == [q.id for q in practice.draw(30, version="2024-10", seed=3)]
    assert [q.id for q in exam] != [q.id for q in practice.draw(30, version="2024-10", seed=4)]
    assert len({q.id for q in exam}) == 30
    bank = Counter(practice.section_of(q, "2024-10") for q in quiz.all_questions())
    assert Counter(practice.section_of(q, "2024-10") for q in exam) == +Counter(
        practice.allocate(30, "2024-10", bank)
    )


def test_draw_rejects_unknown_version() -> None:
    with pytest.raises(ValueError, match="version"):
        practice.draw(5, version="2019-01")


def test_scores_per_section_all_or_nothing(capsys) -> None:
    exam = practice.draw(12, seed=1)
    multiple = next((q for q in exam if q.kind == "multiple"), None)
    answers = {q.id: sorted(q.correct_keys) for q in exam}
    if multiple is not None:
        answers[multiple.id] = sorted(multiple.correct_keys)[:1]  # half right is wrong
    result = practice.check(exam, answers)
    assert "Practice exam" in capsys.readouterr().out
    assert practice.check(exam, answers, display=False) == result and capsys.readouterr().out == ""
    expected = len(exam) - (multiple is not None)
    assert result.score == expected
    scores = practice.section_scores(exam, result, "2024-10")
    assert scores["asked"].sum() == len(exam) and scores["correct"].sum() == expected
    assert practice.plot_section_scores(scores) is not None
    with pytest.raises(ValueError, match="not for this exam"):
        practice.section_scores(exam[:-1], result, "2024-10")
