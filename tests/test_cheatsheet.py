"""The generated cheat sheet and the renamed-and-deprecated glossary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ds500 import cheatsheet, quiz


def _question(qid: str, tags: list[str], **extra: Any) -> dict[str, Any]:
    options = [{"key": k, "text": f"option {k}", "correct": k == "A", "why": f"because {k}"} for k in "ABCD"]
    return {
        "id": qid,
        "kind": "single",
        "sections": {"2024-10": ["1.1"], "2026-06": ["1.1"]},
        "question": extra.pop("question", "Which one?"),
        "options": options,
        "reference": {"title": "Docs", "url": "https://cloud.google.com/docs"},
        "tags": tags,
        **extra,
    }


def _load(tmp_path: Path, questions: list[dict[str, Any]]) -> list[quiz.Question]:
    (tmp_path / "05_x.yaml").write_text(yaml.safe_dump({"lab": 5, "questions": questions}), encoding="utf-8")
    return quiz.load(5, directory=tmp_path)


def test_render_sorts_by_service_and_escapes_pipes(tmp_path: Path) -> None:
    questions = _load(
        tmp_path,
        [
            _question(
                "05-01",
                ["service-selection"],
                cheat_sheet={"clue": "DAGs | many steps", "service": "Vertex AI Pipelines"},
            ),
            _question(
                "05-02", ["service-selection"], cheat_sheet={"clue": "SQL analysts", "service": "BigQuery ML"}
            ),
        ],
    )
    text = cheatsheet.render(questions, cheatsheet.glossary())
    rows = [line for line in text.splitlines() if "`05-" in line]
    assert rows == [
        "| BigQuery ML | SQL analysts | `05-02` |",
        "| Vertex AI Pipelines | DAGs \\| many steps | `05-01` |",
    ]
    assert "## Renamed and deprecated" in text and "Gemini Enterprise Agent Platform" in text


def test_render_needs_service_selection_questions(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no question is tagged"):
        cheatsheet.render(_load(tmp_path, [_question("05-01", ["scenario"])]), [])


def test_untested_entries(tmp_path: Path) -> None:
    entries = cheatsheet.glossary()
    questions = _load(
        tmp_path, [_question("05-01", ["renamed"], question="What is Gemini Enterprise Agent Platform?")]
    )
    missing = cheatsheet.untested_entries(entries, questions)
    assert "Vertex AI" not in missing and len(missing) == len(entries) - 1
    untagged = _load(
        tmp_path, [_question("05-01", ["scenario"], question="Gemini Enterprise Agent Platform")]
    )
    assert "Vertex AI" in cheatsheet.untested_entries(entries, untagged)
