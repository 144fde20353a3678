"""The practice exam: allocation, draws from the held-out pool, progress, drill, study plan, widget."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets
import pytest
import yaml

from ds500 import banklint, examguide, examwidget, practice, progress, quiz

SECTION_SIZE = 40  # per section: enough for three 60-question mocks in either guide's weights


def _question(qid: str, sub: str, key: str, kind: str = "single") -> dict[str, Any]:
    correct = key if kind == "single" else key + ("A" if key == "D" else "D")
    stem = f"Scenario {qid} about {sub}." + (" Choose two." if kind == "multiple" else "")
    return {
        "id": qid, "kind": kind,
        "sections": {"2024-10": [sub], "2026-06": [sub]},
        "question": stem,
        "options": [{"key": k, "text": f"Option {k} of {qid}", "correct": k in correct,
                     "why": f"Why {k} of {qid}."} for k in "ABCD"],
        "reference": {"title": f"Page {sub}", "url": f"https://cloud.google.com/docs/{sub}"},
        "tags": ["scenario"],
    }


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab bank (labs 1 and 3) and a pool of SECTION_SIZE questions per section, one file per section."""
    folder = tmp_path_factory.mktemp("questions")
    labs = {1: ["1.1", "1.2", "2.1"], 3: ["3.1", "4.1", "5.1", "6.1", "1.1"], 4: ["1.1"], 5: ["1.1"],
            17: ["1.1", "1.1"]}
    for lab, subs in labs.items():
        questions = [_question(f"{lab:02d}-{i + 1:02d}", sub, "B") for i, sub in enumerate(subs)]
        (folder / f"{lab:02d}_lab.yaml").write_text(yaml.safe_dump({"lab": lab, "questions": questions}))
    (folder / "pool").mkdir()
    for s, letter in zip("123456", "abcdef", strict=True):
        questions = [
            _question(f"mock-{letter}{i + 1:03d}", f"{s}.{1 + i % 2}", "ABCD"[i % 4],
                      "multiple" if i % 5 == 0 else "single")
            for i in range(SECTION_SIZE)
        ]
        body = {"pool": "mock", "questions": questions}
        (folder / "pool" / f"{letter}_s{s}.yaml").write_text(yaml.safe_dump(body))
    return folder


@pytest.fixture(scope="module")
def pool(bank: Path) -> list[quiz.Question]:
    """The fixture pool, loaded once (draws then cost no YAML parsing)."""
    return quiz.pool_questions(directory=bank)


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
def test_allocate_rejects_bad_counts(n: Any) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        practice.allocate(n, "2024-10")


@pytest.mark.parametrize("version", examguide.VERSIONS)
def test_draw_is_seeded_weighted_and_from_the_pool_only(
    bank: Path, pool: list[quiz.Question], version: str
) -> None:
    exam = practice.draw(version=version, seed=3, directory=bank)
    assert len(exam) == practice.MOCK_SIZE == 60 and len({q.id for q in exam}) == 60
    assert all(q.pool == "mock" and q.lab is None for q in exam)
    assert [q.id for q in exam] == [q.id for q in practice.draw(version=version, seed=3, pool=pool)]
    assert [q.id for q in exam] != [q.id for q in practice.draw(version=version, seed=4, pool=pool)]
    assert Counter(practice.section_of(q, version) for q in exam) == +Counter(practice.allocate(60, version))
    default = practice.draw(pool=pool, seed=1)
    assert [q.id for q in default] == [q.id for q in practice.draw(version="2026-06", pool=pool, seed=1)]


def test_draw_skips_questions_without_the_version(tmp_path: Path) -> None:
    june = _question("mock-a001", "1.1", "A")
    june["sections"] = {"2026-06": ["1.1"]}
    (tmp_path / "pool").mkdir()
    body = {"pool": "mock", "questions": [june, _question("mock-a002", "1.1", "B")]}
    (tmp_path / "pool" / "a_x.yaml").write_text(yaml.safe_dump(body))
    assert [q.id for q in practice.draw(1, version="2024-10", directory=tmp_path)] == ["mock-a002"]
    with pytest.raises(ValueError, match="no exam-guide section for version 2024-10"):
        practice.section_of(quiz.pool_questions(directory=tmp_path)[0], "2024-10")
    with pytest.raises(ValueError, match="pool .* is empty"):
        practice.draw(directory=tmp_path / "pool")


def test_draw_rejects_unknown_version(pool: list[quiz.Question]) -> None:
    with pytest.raises(ValueError, match="version"):
        practice.draw(5, version="2019-01", pool=pool)


def test_three_successive_mocks_share_no_question(pool: list[quiz.Question], tmp_path: Path) -> None:
    store = progress.Progress.open(tmp_path / "progress.json")
    seen: set[str] = set()
    for attempt in range(3):
        exam = practice.draw(seed=attempt, pool=pool, progress=store)
        ids = {q.id for q in exam}
        assert not ids & seen
        seen |= ids
        practice.check(exam, {1: exam[0].keys[0]}, progress=store, display=False)
        store = progress.Progress.open(tmp_path / "progress.json")  # as a new session would
    assert set(store.seen) == seen and len(seen) == 180
    # the pool is exhausted in some sections now: a fourth mock reuses the oldest questions
    assert len(practice.draw(seed=9, pool=pool, progress=store)) == 60


def test_shipped_pool_gives_three_disjoint_mocks(tmp_path: Path) -> None:
    store = progress.Progress.open(tmp_path / "progress.json")
    pool = quiz.pool_questions()
    for attempt in range(3):
        exam = practice.draw(seed=attempt, progress=store, pool=pool)
        assert len(exam) == 60 and not {q.id for q in exam} & set(store.seen), f"mock {attempt + 1} repeats"
        store.mark_seen(q.id for q in exam)
    assert len(store.seen) == 180


def test_an_empty_sheet_records_nothing(pool: list[quiz.Question], tmp_path: Path) -> None:
    store = progress.Progress.open(tmp_path / "p.json")
    exam = practice.draw(seed=1, pool=pool, progress=store)
    practice.check(exam, {}, progress=store, display=False)
    assert store.seen == {} and not (tmp_path / "p.json").exists()


def test_answers_by_number_or_id(pool: list[quiz.Question], capsys: pytest.CaptureFixture[str]) -> None:
    exam = practice.draw(12, seed=1, pool=pool)
    multiple = next(i for i, q in enumerate(exam) if q.kind == "multiple")
    answers: dict[Any, Any] = {i + 1: sorted(q.correct_keys) for i, q in enumerate(exam)}
    answers[multiple + 1] = sorted(exam[multiple].correct_keys)[:1]  # half right is wrong
    result = practice.check(exam, answers)
    out = capsys.readouterr().out
    assert "Practice exam: 11/12" in out and exam[0].id in out  # the review shows ids
    assert practice.check(exam, {exam[0].id: sorted(exam[0].correct_keys)}, display=False).score == 1
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="question number 13 is not in this exam"):
        practice.check(exam, {13: "A"})
    with pytest.raises(ValueError, match="answered twice"):
        practice.check(exam, {1: "A", exam[0].id: "B"})
    with pytest.raises(ValueError, match="question number -> keys"):
        practice.check(exam, ["A"])  # type: ignore[arg-type]
    scores = practice.section_scores(exam, result)
    assert scores["asked"].sum() == 12 and scores["correct"].sum() == 11
    assert practice.plot_section_scores(scores) is not None
    with pytest.raises(ValueError, match="not for this exam"):
        practice.section_scores(exam[:-1], result)


def test_show_hides_ids_and_sections(pool: list[quiz.Question], capsys: pytest.CaptureFixture[str]) -> None:
    exam = practice.draw(6, seed=2, pool=pool)
    practice.show(exam)
    out = capsys.readouterr().out
    assert "`mock-" not in out and "Exam guide" not in out and "my_answers = {1: ..., 2: ..." in out


def test_study_plan_lists_labs_and_pages_per_weak_section(bank: Path, pool: list[quiz.Question]) -> None:
    assert practice.labs_by_subsection(directory=bank)["1.1"] == (1, 3, 4, 5)  # never lab 17, the mock
    exam = practice.draw(seed=5, pool=pool)
    answers = {q.id: sorted(q.correct_keys) for q in exam if practice.section_of(q, "2026-06") != "1"}
    result = practice.check(exam, answers, display=False)
    plan = practice.study_plan(exam, result, directory=bank)
    assert [row["section"] for row in plan] == ["1"]
    assert plan[0]["percent"] == 0.0 and plan[0]["missed"] == 8
    assert plan[0]["labs"] == [1, 3, 4]  # lab 1 teaches 1.1 and 1.2; at most PLAN_LABS labs
    assert {url for _, url in plan[0]["pages"]} == {"https://cloud.google.com/docs/1.1",
                                                     "https://cloud.google.com/docs/1.2"}


def test_drill_reasks_misses_in_leitner_order(bank: Path, pool: list[quiz.Question], tmp_path: Path) -> None:
    store = progress.Progress.open(tmp_path / "p.json")
    exam = practice.draw(10, seed=1, pool=pool)
    wrong = {q.id: next(k for k in q.keys if k not in q.correct_keys) for q in exam[:3]}
    practice.check(exam, wrong, progress=store, display=False)
    quiz_miss = {"01-02": 1}
    store.record(dict.fromkeys(quiz_miss, False))  # as a lab quiz records it
    due = practice.drill(store, directory=bank)
    assert {q.id for q in due} == set(wrong) | {"01-02"}
    right = {q.id: sorted(q.correct_keys) for q in due}
    practice.check_drill(due, right, store, display=False)
    assert set(store.boxes.values()) == {2} and store.drills == 1
    assert practice.drill(store, directory=bank) == []  # box 2 is due every second drill
    with pytest.raises(ValueError, match="positive integer"):
        practice.drill(store, n=0, directory=bank)


def test_longest_option_scores_like_chance_on_mocks(bank: Path) -> None:
    """The statistic of issue 15 on the fixture pool (the shipped pool: test_shipped_pool_...)."""
    gap = _longest_minus_chance(bank, mocks=50)
    assert abs(gap) <= 10


def _longest_minus_chance(directory: Path | None, mocks: int) -> float:
    """Mean score (percentage points) of "always pick the N longest options" minus chance."""
    from math import comb

    gaps = []
    pool = quiz.pool_questions(directory=directory)
    for seed in range(mocks):
        exam = practice.draw(seed=seed, pool=pool)
        hits = sum(banklint.longest_pick(q) == q.correct_keys for q in exam)
        chance = sum(1 / comb(len(q.options), len(q.correct_keys)) for q in exam)
        gaps.append(100 * (hits - chance) / len(exam))
    return sum(gaps) / len(gaps)


def test_shipped_pool_longest_option_within_chance_over_200_mocks() -> None:
    gap = _longest_minus_chance(None, mocks=200)
    assert abs(gap) <= 10, f"always picking the longest option scores {gap:+.1f} points over chance"


# -- the widget mock, driven from Python as the browser would (a click is a trait change) ---


@pytest.fixture
def exam(pool: list[quiz.Question]) -> list[quiz.Question]:
    drawn = practice.draw(12, seed=1, pool=pool)
    assert {q.kind for q in drawn} == {"single", "multiple"}
    return drawn


def test_widget_answer_mark_and_submit(exam: list[quiz.Question], tmp_path: Path) -> None:
    store = progress.Progress.open(tmp_path / "p.json")
    mock = examwidget.MockExam(exam, progress=store)
    assert mock._seconds == 12 * 120 and mock._clock.value == "0:24:00 left"
    mock.start(clock=False)
    single = next(i for i, q in enumerate(exam) if q.kind == "single")
    multi = next(i for i, q in enumerate(exam) if q.kind == "multiple")
    mock.go(single)
    assert isinstance(mock._stage.children[1], widgets.RadioButtons)
    assert mock._stage.children[1].value is None  # nothing pre-selected
    mock._question(single)[0].value = sorted(exam[single].correct_keys)[0]
    boxes = mock._question(multi)[0].children
    for box in boxes:  # tick every box: the third is refused ("Choose two")
        box.value = True
    assert sum(b.value for b in boxes) == 2 and "Choose 2" in mock._notice.value
    mock._question(multi)[1].value = True
    assert mock.marked() == [multi + 1] and mock._palette[multi].button_style == "warning"
    assert mock._palette[single].button_style == "info"
    assert set(mock.answers()) == {exam[single].id, exam[multi].id}
    mock._tick(60)
    assert mock._clock.value == "0:23:00 left" and mock._bar.value == 60
    result = mock.submit()
    assert result.unanswered == 10 and result.per_question[exam[single].id] is True
    assert mock.submit() is result and mock._choices[single].disabled
    for kind in ("single", "multiple"):  # first shown after submitting: locked like the rest
        unseen = next(i for i, q in enumerate(exam) if q.kind == kind and mock._choices[i] is None)
        mock.go(unseen)
        choice, mark = mock._stage.children[1:]
        assert mark.disabled and all(part.disabled for part in getattr(choice, "children", ()) or [choice])
    assert set(store.seen) == {q.id for q in exam}
    assert progress.Progress.open(tmp_path / "p.json").seen == store.seen


def test_widget_builds_a_question_when_it_is_first_shown(pool: list[quiz.Question]) -> None:
    """Sixty questions built up front made 775 widget models for the browser to load before the exam
    showed; only the palette and the frame are built now, and each question on its first visit."""
    from ipywidgets.widgets.widget import _instances

    exam = practice.draw(60, seed=3, pool=pool)
    before = len(_instances)
    mock = examwidget.MockExam(exam)
    built = len(_instances) - before
    assert built < 200, f"{built} widget models before the exam starts"
    assert mock._choices == [None] * 60 and mock.answers() == {} and mock.marked() == []
    mock.start(clock=False)
    assert mock._choices[0] is not None and mock._choices[1] is None
    mock.go(5)
    assert mock._stage.children[1] is mock._choices[5]
    assert "ds500-mock-current" in mock._palette[5]._dom_classes
    assert "ds500-mock-current" not in mock._palette[0]._dom_classes


def test_widget_time_up_submits(exam: list[quiz.Question]) -> None:
    mock = examwidget.MockExam(exam, minutes=1)
    mock.start(clock=False)
    mock._tick(60)
    assert not mock.submitted and "Time is up" in mock._notice.value
    assert mock._marks[0].disabled and not mock._submit.disabled and mock._stop_clock.is_set()
    assert mock.submit().unanswered == len(exam)


def test_widget_clock_thread_counts_down_and_stops(exam: list[quiz.Question]) -> None:
    import time

    mock = examwidget.MockExam(exam, minutes=1)
    mock.start()
    deadline = time.monotonic() + 5
    while mock._bar.value < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mock._bar.value >= 1 and mock._clock.value.startswith("0:00:5")
    mock.submit()
    assert mock._stop_clock.is_set()


@pytest.mark.parametrize("minutes", [0, -1, True, "10"])
def test_widget_bad_arguments(exam: list[quiz.Question], minutes: object) -> None:
    with pytest.raises(ValueError, match="minutes must be a positive number"):
        examwidget.MockExam(exam, minutes=minutes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no questions"):
        examwidget.MockExam([])
