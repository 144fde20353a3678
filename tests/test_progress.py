"""The progress file: seen mock questions and Leitner boxes, on temporary paths only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ds500 import progress


def test_memory_store_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(progress.ENV_VAR, str(tmp_path / "p.json"))
    store = progress.Progress.open(None)
    store.record({"mock-a001": False})
    assert store.save() is None and not (tmp_path / "p.json").exists()


def test_default_path_and_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    assert progress.default_path() == Path("~/.ds500/progress.json").expanduser()
    monkeypatch.setenv(progress.ENV_VAR, str(tmp_path / "mine.json"))
    assert progress.Progress.open("default").path == tmp_path / "mine.json"
    assert progress.recording_store() is None  # not opted in: no file yet
    progress.Progress.open("default").save()
    assert progress.recording_store() is not None


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "progress.json"
    store = progress.Progress.open(path)
    store.mark_seen(["mock-a001", "mock-b002"], today=dt.date(2026, 12, 1))
    store.mark_seen(["mock-a001"], today=dt.date(2026, 12, 2))  # the first date stays
    store.record({"08-03": False, "mock-a001": True, "mock-b002": None})
    assert store.save() == path
    again = progress.Progress.open(path)
    assert again.seen == {"mock-a001": "2026-12-01", "mock-b002": "2026-12-01"}
    assert again.boxes == {"08-03": 1} and again.drills == 0
    assert json.loads(path.read_text())["format"] == 1


def test_leitner_boxes_and_schedule() -> None:
    store = progress.Progress()
    store.record({"q1": False, "q2": False, "q3": True})  # q3 was never missed: no box
    assert store.boxes == {"q1": 1, "q2": 1}
    store.record({"q1": True})
    assert store.boxes == {"q1": 2, "q2": 1}
    assert store.due() == ["q2", "q1"]  # drill 0: every box is due, lowest first
    store.finish_drill()
    assert store.due() == ["q2"]  # drill 1: box 2 waits
    store.finish_drill()
    store.record({"q1": True, "q2": False})
    assert store.boxes == {"q1": 3, "q2": 1}
    store.drills = 4
    assert store.due() == ["q2", "q1"]  # box 3 every fourth drill
    store.record({"q1": True})
    assert "q1" not in store.boxes  # learned
    store.record({"q2": False})
    assert store.boxes == {"q2": 1}


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"format": 2, "seen": {}, "boxes": {}, "drills": 0}',
     '{"format": 1, "seen": {}, "boxes": {"q": 7}, "drills": 0}', '{"format": 1}'],
)
def test_broken_file_says_delete_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="delete it to start afresh"):
        progress.Progress.open(path)


@pytest.mark.parametrize("path", ["", "  ", 3])
def test_bad_paths(path: object) -> None:
    with pytest.raises(ValueError, match="'default', a file path or None"):
        progress.Progress.open(path)  # type: ignore[arg-type]


def test_bad_ids() -> None:
    with pytest.raises(ValueError, match="non-empty strings"):
        progress.Progress().record({"": False})
    with pytest.raises(ValueError, match="non-empty strings"):
        progress.Progress().mark_seen([3])  # type: ignore[list-item]
