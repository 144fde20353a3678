"""Unit tests for ds500.quiz: the question banks, validation, show and check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ds500 import examguide, quiz

BANKS = sorted((Path(quiz.__file__).parent / "questions").glob("*.yaml"))
LABS = {int(path.name[:2]): path.stem for path in BANKS}


# -- the shipped banks -----------------------------------------------------------------


@pytest.mark.parametrize("lab", sorted(LABS))
def test_bank_loads_and_is_complete(lab: int) -> None:
    questions = quiz.load(lab)
    assert len(questions) >= 7
    assert any(q.kind == "multiple" for q in questions)
    assert any(q.kind == "single" for q in questions)
    for q in questions:
        assert q.lab == lab
        assert q.id.startswith(f"{lab:02d}-")
        # every guide version, or none for a question about studying (lab 00's study-plan questions)
        assert set(q.sections) == set(examguide.VERSIONS) or (not q.sections and "study-plan" in q.tags)
        for version, ids in q.sections.items():
            assert set(ids) <= set(examguide.load(version).subsection_ids())
        assert q.reference_url.startswith("https://")
        assert q.reference_title
        assert all(opt.why for opt in q.options)
        if q.kind == "single":
            assert len(q.options) == 4 and len(q.correct_keys) == 1
        else:
            assert 4 <= len(q.options) <= 6 and len(q.correct_keys) >= 2


def test_bank_size_and_questions_on_the_labs_own_numbers() -> None:
    questions = quiz.all_questions()
    assert len(questions) >= 100
    for lab in LABS:
        tagged = [q for q in questions if q.lab == lab and {"numeric", "code-reading"} & set(q.tags)]
        assert tagged, f"lab {lab:02d} has no numeric or code-reading question"


def test_correct_answers_are_spread_over_keys() -> None:
    # A bank where the answer is nearly always "B" teaches the wrong lesson.
    singles = [q for q in quiz.all_questions() if q.kind == "single"]
    keys = [next(iter(q.correct_keys)) for q in singles]
    assert max(keys.count(k) for k in "ABCD") <= len(keys) // 2


def test_all_questions_unique_ids() -> None:
    questions = quiz.all_questions()
    ids = [q.id for q in questions]
    assert len(ids) == len(set(ids))
    assert {q.lab for q in questions} >= set(LABS)
    assert ids == sorted(ids)


@pytest.mark.parametrize("lab", [1, "1", "01", "01_problem_framing", "01_problem_framing.yaml"])
def test_load_accepts_lab_forms(lab: int | str) -> None:
    assert [q.id for q in quiz.load(lab)] == [q.id for q in quiz.load(1)]


@pytest.mark.parametrize("lab", [99, "99", "problem_framing", "", True, 1.0, None])
def test_load_unknown_lab(lab: Any) -> None:
    with pytest.raises(ValueError, match="lab"):
        quiz.load(lab)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        quiz.load(1, directory=tmp_path / "nope")


# -- validation, with banks written to a temporary folder -----------------------------


def _question(qid: str = "05-01", kind: str = "single") -> dict[str, Any]:
    options = [{"key": k, "text": f"option {k}", "correct": k == "B", "why": f"because {k}"} for k in "ABCD"]
    if kind == "multiple":
        options.append({"key": "E", "text": "option E", "correct": True, "why": "because E"})
    return {
        "id": qid,
        "kind": kind,
        "sections": {"2024-10": ["1.1"], "2026-06": ["1.1"]},
        "question": "Which one?",
        "options": options,
        "reference": {"title": "Docs", "url": "https://cloud.google.com/bigquery/docs"},
        "tags": ["scenario"],
    }


def _bank(tmp_path: Path, questions: list[dict[str, Any]], name: str = "05_test.yaml", lab: Any = 5) -> Path:
    (tmp_path / name).write_text(
        yaml.safe_dump({"lab": lab, "questions": questions}, sort_keys=False), encoding="utf-8"
    )
    return tmp_path


def test_valid_tmp_bank(tmp_path: Path) -> None:
    directory = _bank(tmp_path, [_question("05-01"), _question("05-02", "multiple")])
    questions = quiz.load(5, directory=directory)
    assert [q.id for q in questions] == ["05-01", "05-02"]
    assert questions[0].correct_keys == frozenset({"B"})
    assert questions[1].correct_keys == frozenset({"B", "E"})
    assert questions[1].keys == ("A", "B", "C", "D", "E")
    assert quiz.load("05_test", directory=str(directory))[0].id == "05-01"


def _set(path: list[Any], value: Any) -> Any:
    def mutate(q: dict[str, Any]) -> None:
        target: Any = q
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Any:
    def mutate(q: dict[str, Any]) -> None:
        target: Any = q
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return mutate


BAD_SINGLE = [
    (_set(["kind"], "essay"), "unknown kind 'essay'"),
    (_set(["options", 0, "correct"], True), "exactly 1 correct option, has 2"),
    (_set(["options", 1, "correct"], False), "exactly 1 correct option, has 0"),
    (_set(["options", 1, "key"], "A"), "duplicate option key 'A'"),
    (_set(["options", 1, "key"], "X"), "must have key 'B'"),
    (_delete(["options", 2, "why"]), "missing 'why'"),
    (_set(["options", 2, "why"], "  "), "missing 'why'"),
    (_set(["options", 2, "correct"], "no"), "'correct' must be true or false"),
    (_set(["options", 2, "text"], ""), "'text' must be a non-empty string"),
    (_set(["reference", "url"], "http://cloud.google.com/x"), "must start with https://"),
    (_delete(["reference"]), "missing 'reference'"),
    (_set(["sections", "2024-10"], ["1.1", "9.9"]), "unknown exam guide subsection '9.9'"),
    (_set(["sections", "2026-06"], ["0.1"]), "unknown exam guide subsection '0.1'"),
    (_delete(["sections", "2026-06"]), "non-empty list for '2026-06'"),
    (_set(["sections", "2030-01"], ["1.1"]), "unknown exam guide version"),
    (_set(["sections"], ["1.1"]), "'sections' must map"),
    (_set(["question"], ""), "'question' must be a non-empty string"),
    (_set(["options"], []), "needs 4 options"),
    (_delete(["tags"]), "'tags' must be a non-empty list"),
    (_set(["tags"], []), "'tags' must be a non-empty list"),
    (_set(["tags"], ["Scenario"]), "tag 'Scenario' must be a lowercase word"),
    (_set(["tags"], ["scenario", "scenario"]), "duplicate tags"),
    (_set(["tags"], ["service-selection"]), "needs cheat_sheet"),
    (_set(["cheat_sheet"], {"clue": "x", "service": "y"}), "only for questions tagged service-selection"),
    (_set(["cheat_sheet"], "BigQuery"), "'cheat_sheet' must be a mapping"),
]


def test_cheat_sheet_entry(tmp_path: Path) -> None:
    question = _question("05-01")
    question["tags"] = ["scenario", quiz.SERVICE_SELECTION]
    question["cheat_sheet"] = {"clue": "SQL analysts, data in the warehouse", "service": "BigQuery ML"}
    loaded = quiz.load(5, directory=_bank(tmp_path, [question]))[0]
    assert loaded.tags == ("scenario", "service-selection")
    assert loaded.cheat_sheet == ("SQL analysts, data in the warehouse", "BigQuery ML")


@pytest.mark.parametrize(("mutate", "message"), BAD_SINGLE)
def test_validation_errors(tmp_path: Path, mutate: Any, message: str) -> None:
    question = _question("05-01")
    mutate(question)
    directory = _bank(tmp_path, [question])
    with pytest.raises(ValueError, match=message) as err:
        quiz.load(5, directory=directory)
    assert "05_test.yaml" in str(err.value)
    assert "05-01" in str(err.value)


def test_multiple_needs_two_correct(tmp_path: Path) -> None:
    question = _question("05-01", "multiple")
    question["options"][4]["correct"] = False
    with pytest.raises(ValueError, match=r"05-01.*at least 2 correct"):
        quiz.load(5, directory=_bank(tmp_path, [question]))


def test_multiple_needs_a_wrong_option(tmp_path: Path) -> None:
    question = _question("05-01", "multiple")
    for opt in question["options"]:
        opt["correct"] = True
    with pytest.raises(ValueError, match="1 wrong one"):
        quiz.load(5, directory=_bank(tmp_path, [question]))


def test_multiple_option_count(tmp_path: Path) -> None:
    question = _question("05-01", "multiple")
    question["options"] = question["options"][:3]
    question["options"][0]["correct"] = True
    with pytest.raises(ValueError, match="needs 4 to 6 options"):
        quiz.load(5, directory=_bank(tmp_path, [question]))


def test_duplicate_question_ids(tmp_path: Path) -> None:
    directory = _bank(tmp_path, [_question("05-01"), _question("05-01")])
    with pytest.raises(ValueError, match=r"05_test\.yaml: duplicate question id '05-01'"):
        quiz.load(5, directory=directory)


@pytest.mark.parametrize("qid", ["5-1", "05_01", "06-01", 501])
def test_bad_question_id(tmp_path: Path, qid: Any) -> None:
    directory = _bank(tmp_path, [_question(qid)])
    with pytest.raises(ValueError, match=r"05_test\.yaml.*(NN-KK|lab number)"):
        quiz.load(5, directory=directory)


def test_file_lab_mismatch(tmp_path: Path) -> None:
    directory = _bank(tmp_path, [_question("05-01")], lab=6)
    with pytest.raises(ValueError, match=r"05_test\.yaml: 'lab' must be 5"):
        quiz.load(5, directory=directory)


def test_bad_file_contents(tmp_path: Path) -> None:
    (tmp_path / "05_test.yaml").write_text("lab: 5\nquestions: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="non-empty list"):
        quiz.load(5, directory=tmp_path)
    (tmp_path / "05_test.yaml").write_text("lab: [5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="invalid YAML"):
        quiz.load(5, directory=tmp_path)
    (tmp_path / "05_test.yaml").write_text("- 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected a mapping"):
        quiz.load(5, directory=tmp_path)


def test_bad_file_name(tmp_path: Path) -> None:
    _bank(tmp_path, [_question("05-01")], name="Lab5.yaml")
    with pytest.raises(ValueError, match="named like the notebook"):
        quiz.all_questions(directory=tmp_path)


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    _bank(tmp_path, [_question("05-01")], name="05_a.yaml")
    _bank(tmp_path, [_question("05-01")], name="05_b.yaml")
    with pytest.raises(ValueError, match=r"05_b\.yaml: question id '05-01' is also used in 05_a"):
        quiz.all_questions(directory=tmp_path)
    with pytest.raises(ValueError, match="several question banks"):
        quiz.load(5, directory=tmp_path)


# -- check -----------------------------------------------------------------------------


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """A bank with one single (answer B) and one multiple (answers B and E) question."""
    return _bank(tmp_path, [_question("05-01"), _question("05-02", "multiple")])


def test_check_all_correct(bank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = quiz.check(5, {"05-01": "B", "05-02": ["B", "E"]}, directory=bank)
    assert (result.score, result.total) == (2, 2)
    assert result.percent == 100.0
    assert result.per_question == {"05-01": True, "05-02": True}
    out = capsys.readouterr().out
    assert "2/2 correct" in out
    assert "because C" in out  # every option's explanation is shown
    assert "https://cloud.google.com/bigquery/docs" in out


def test_check_case_insensitive(bank: Path) -> None:
    result = quiz.check(5, {"05-01": "b", "05-02": "e, b"}, directory=bank)
    assert result.score == 2
    result = quiz.check(5, {"05-01": " b ", "05-02": ("e", "B")}, directory=bank)
    assert result.score == 2


def test_check_multiple_is_all_or_nothing(bank: Path) -> None:
    assert quiz.check(5, {"05-02": ["B"]}, directory=bank).per_question["05-02"] is False
    assert quiz.check(5, {"05-02": ["B", "E", "A"]}, directory=bank).per_question["05-02"] is False
    assert quiz.check(5, {"05-02": ["E", "B"]}, directory=bank).per_question["05-02"] is True


def test_check_wrong_single(bank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = quiz.check(5, {"05-01": "A"}, directory=bank)
    assert result.per_question == {"05-01": False, "05-02": None}
    assert result.score == 0 and result.percent == 0.0
    out = capsys.readouterr().out
    assert "incorrect" in out and "your answer A" in out and "correct: B" in out
    assert "unanswered" in out


@pytest.mark.parametrize("answers", [None, ..., {}, {"05-01": ..., "05-02": None}])
def test_check_unanswered(bank: Path, answers: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = quiz.check(5, answers, directory=bank)
    assert result.score == 0
    assert result.unanswered == 2
    assert result.per_question == {"05-01": None, "05-02": None}
    out = capsys.readouterr().out
    # no key before an answer: Run All must not print the key or the explanations
    assert "05-01`** ⬜ unanswered" in out and "correct:" not in out and "because" not in out
    assert "reveal=True" in out


def test_check_shows_answered_or_revealed_only(
    bank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quiz.check(5, {"05-01": "A"}, directory=bank)
    out = capsys.readouterr().out
    assert "your answer A; correct: B" in out and "because C" in out
    assert "`05-02`** ⬜ unanswered" in out and "because E" not in out and "correct: B, E" not in out
    quiz.check(5, {}, directory=bank, reveal=True)
    out = capsys.readouterr().out
    assert "correct: B, E" in out and "because E" in out and "reveal=True" not in out


def test_lab_quiz_records_misses_once_opted_in(
    bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ds500 import progress

    store_path = tmp_path / "home" / "progress.json"
    monkeypatch.setenv(progress.ENV_VAR, str(store_path))
    quiz.check(1, {"01-01": "A"})  # not opted in: nothing written
    assert not store_path.exists()
    progress.Progress.open("default").save()  # opting in creates the file
    questions = quiz.load(1)
    wrong = next(k for k in questions[0].keys if k not in questions[0].correct_keys)
    quiz.check(1, {questions[0].id: wrong, questions[1].id: sorted(questions[1].correct_keys)})
    assert progress.Progress.open(store_path).boxes == {questions[0].id: 1}
    quiz.check(1, {})  # an empty sheet records nothing
    quiz.check(5, {"05-01": "A"}, directory=bank)  # nor does a bank outside the package
    assert progress.Progress.open(store_path).boxes == {questions[0].id: 1}
    store_path.write_text("damaged")
    with pytest.warns(UserWarning, match="misses not recorded.*delete it"):
        assert quiz.check(1, {questions[0].id: wrong}).score == 0
    capsys.readouterr()


@pytest.mark.parametrize("value", ["", "  ", [], ()])
def test_check_empty_values_are_unanswered(bank: Path, value: Any) -> None:
    assert quiz.check(5, {"05-01": value}, directory=bank).per_question["05-01"] is None


def test_check_unknown_question(bank: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown question id\(s\) \['05-09'\]"):
        quiz.check(5, {"05-09": "A"}, directory=bank)


@pytest.mark.parametrize("value", ["Z", ["B", "F"], "AB"])
def test_check_unknown_key(bank: Path, value: Any) -> None:
    question = "05-01" if value != ["B", "F"] else "05-02"
    with pytest.raises(ValueError, match=rf"question {question}: unknown option key"):
        quiz.check(5, {question: value}, directory=bank)


def test_check_single_takes_one_key(bank: Path) -> None:
    with pytest.raises(ValueError, match="takes one answer"):
        quiz.check(5, {"05-01": ["A", "B"]}, directory=bank)


@pytest.mark.parametrize("value", [1, {"A": True}, [1, 2], 2.5])
def test_check_bad_value_types(bank: Path, value: Any) -> None:
    with pytest.raises(ValueError, match="question 05-01"):
        quiz.check(5, {"05-01": value}, directory=bank)


def test_check_answers_must_be_a_mapping(bank: Path) -> None:
    with pytest.raises(ValueError, match="answers must be a dict"):
        quiz.check(5, ["B", "E"], directory=bank)  # type: ignore[arg-type]


def test_check_package_bank_with_its_own_keys(capsys: pytest.CaptureFixture[str]) -> None:
    questions = quiz.load(1)
    answers = {q.id: sorted(q.correct_keys) for q in questions}
    result = quiz.check(1, answers)
    assert result.score == result.total == len(questions)
    # one wrong multiple-select answer: drop one correct key
    multi = next(q for q in questions if q.kind == "multiple")
    answers[multi.id] = sorted(multi.correct_keys)[:1]
    result = quiz.check("01_problem_framing", answers)
    assert result.score == len(questions) - 1
    assert result.per_question[multi.id] is False
    capsys.readouterr()


# -- show ------------------------------------------------------------------------------


@pytest.mark.parametrize("lab", sorted(LABS))
def test_show_prints_outside_ipython(lab: int, capsys: pytest.CaptureFixture[str]) -> None:
    quiz.show(lab)
    out = capsys.readouterr().out
    questions = quiz.load(lab)
    assert f"({len(questions)} questions)" in out
    for number, q in enumerate(questions, start=1):
        assert f"**{number}. `{q.id}`**" in out
    assert "(choose one)" in out
    for q in questions:
        if q.kind == "multiple":
            assert f"(choose {['', '', 'two', 'three', 'four', 'five'][len(q.correct_keys)]})" in out
    assert "- **A.**" in out and "- **D.**" in out
    # show never reveals the answers or the explanations
    assert "✅" not in out
    assert not any(opt.why in out for q in questions for opt in q.options)


def test_show_uses_ipython_display(bank: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython
    import IPython.display

    shown: list[Any] = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    quiz.show(5, directory=bank)
    quiz.check(5, {"05-01": "B"}, directory=bank)
    assert len(shown) == 2
    assert all(isinstance(obj, IPython.display.Markdown) for obj in shown)
    assert "05-02" in shown[0].data
    assert "1/2 correct" in shown[1].data


# -- the held-out pool -----------------------------------------------------------------


def _pool(tmp_path: Path, questions: list[dict[str, Any]], name: str = "a_test.yaml", **top: Any) -> Path:
    (tmp_path / "pool").mkdir(exist_ok=True)
    body = {"pool": "mock", **top, "questions": questions}
    (tmp_path / "pool" / name).write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return tmp_path


def test_pool_loads_apart_from_the_labs(bank: Path) -> None:
    june_only = _question("mock-a002")
    june_only["sections"] = {"2026-06": ["1.1"]}  # a topic the October 2024 guide does not have
    _pool(bank, [_question("mock-a001"), june_only])
    pool = quiz.pool_questions(directory=bank)
    assert [(q.id, q.lab, q.pool) for q in pool] == [("mock-a001", None, "mock"), ("mock-a002", None, "mock")]
    assert set(pool[1].sections) == {"2026-06"}
    assert [q.id for q in quiz.all_questions(directory=bank)] == ["05-01", "05-02"]
    assert [q.id for q in quiz.bank(directory=bank)] == ["05-01", "05-02", "mock-a001", "mock-a002"]
    (bank / "pool_less").mkdir()
    assert quiz.pool_questions(directory=bank / "pool_less") == []


@pytest.mark.parametrize(
    ("name", "top", "qid", "message"),
    [
        ("a_test.yaml", {}, "05-01", "must look like 'mock-a001'"),
        ("a_test.yaml", {}, "mock-b001", "start with 'mock-a'"),
        ("a_test.yaml", {"lab": 5}, "mock-a001", "a pool file says 'pool: mock' and has no 'lab'"),
        ("a_test.yaml", {"pool": "exam"}, "mock-a001", "got pool 'exam'"),
        ("05_test.yaml", {}, "mock-a001", "named like pool/a_slug.yaml"),
    ],
)
def test_pool_schema_errors(tmp_path: Path, name: str, top: dict[str, Any], qid: str, message: str) -> None:
    _pool(tmp_path, [_question(qid)], name=name, **top)
    with pytest.raises(ValueError, match=message):
        quiz.pool_questions(directory=tmp_path)


def test_lab_questions_need_every_guide_version(tmp_path: Path) -> None:
    question = _question("05-01")
    question["sections"] = {"2026-06": ["1.1"]}
    with pytest.raises(ValueError, match="non-empty list for '2024-10'"):
        quiz.load(5, directory=_bank(tmp_path, [question]))


def test_pool_and_lab_ids_are_unique_together(bank: Path) -> None:
    _pool(bank, [_question("mock-a001")])
    _pool(bank, [_question("mock-a001")], name="a_more.yaml")
    with pytest.raises(ValueError, match="'mock-a001' is also used in a_more.yaml"):
        quiz.bank(directory=bank)


def test_show_questions_hides_ids_for_the_mock(bank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = quiz.load(5, directory=bank)
    quiz.show_questions(questions, "Mock", hide_ids=True, variable="my_answers")
    out = capsys.readouterr().out
    assert "**1.** (choose one)" in out and "**2.** (choose two)" in out
    assert "05-0" not in out and "Exam guide" not in out
    assert "my_answers = {1: ..., 2: ...}" in out
    with pytest.raises(ValueError, match="Python name"):
        quiz.show_questions(questions, "Mock", variable="my answers")


def test_a_study_question_has_no_exam_section_and_counts_nowhere(tmp_path: Path) -> None:
    (tmp_path / "00_start.yaml").write_text(yaml.safe_dump({"lab": 0, "questions": [{
        "id": "00-01", "kind": "single", "sections": {}, "tags": ["study-plan"],
        "question": "How long is the exam?",
        "options": [{"key": k, "text": f"{n} hours", "correct": n == 2, "why": f"it lasts two hours, not {n}"}
                    for k, n in zip("ABCD", (1, 2, 3, 4), strict=True)],
        "reference": {"title": "Exam", "url": "https://cloud.google.com/learn/certification"},
    }]}))
    (question,) = quiz.load(0, directory=tmp_path)
    assert question.sections == {}
    assert sum(examguide.question_counts([question], "2026-06").values()) == 0

