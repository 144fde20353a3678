"""A student's progress file: which mock questions were seen, and Leitner boxes of missed questions.

Why: a second mock that repeats half of the first measures memory, not readiness, and a
question got wrong is worth asking again a few days later. Both need a little state that
outlives the notebook, so it lives in one small JSON file that the student owns and may
delete at any time (everything starts afresh):

* default path ``~/.ds500/progress.json``; the environment variable ``DS500_PROGRESS``
  overrides it, and every function that takes a store also takes an explicit path;
* ``Progress.open(None)`` is a store in memory only: nothing is read or written. Lab 17
  uses it unless the student opts in, so papermill, nbval, the grader and the tests draw the
  same mock for the same seed on every machine.

Leitner boxes (``LEITNER_BOXES`` = 3): a question answered wrongly, in a mock or in a lab's
quiz, goes to box 1; answered right in a drill it moves up one box, and out of the boxes
(learned) after the last. A drill asks box 1 every time, box 2 every second drill and box 3
every fourth, so what is shaky comes back more often than what is nearly learned.

Lab quizzes record their misses only once the student has opted in, i.e. once the file at
the default path exists (lab 17 creates it when ``PROGRESS_FILE`` is set); before that,
``ds500.quiz.check`` writes nothing anywhere.

Example::

    from ds500 import progress
    store = progress.Progress.open("default")       # ~/.ds500/progress.json
    store.record({"mock-a001": False, "08-03": True})
    store.due()                                     # ids to drill now
    store.save()
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_PATH", "ENV_VAR", "LEITNER_BOXES", "Progress", "default_path", "recording_store"]

ENV_VAR = "DS500_PROGRESS"
"""Environment variable that moves the progress file."""

DEFAULT_PATH = "~/.ds500/progress.json"
"""Where the progress file lives unless ``DS500_PROGRESS`` says otherwise."""

LEITNER_BOXES = 3
"""Boxes a missed question climbs through before it counts as learned."""

_FORMAT = 1


def default_path() -> Path:
    """The progress file's path: ``$DS500_PROGRESS``, else ``~/.ds500/progress.json``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH).expanduser()


@dataclass
class Progress:
    """The state of one student: seen mock questions, Leitner boxes, drills done.

    Attributes:
        path: the JSON file, or None for a store that lives in memory only.
        seen: question id -> the date (ISO) it was first submitted in a mock.
        boxes: question id -> Leitner box, 1 to :data:`LEITNER_BOXES`.
        drills: how many drills were finished (decides which boxes are due).
    """

    path: Path | None = None
    seen: dict[str, str] = field(default_factory=dict)
    boxes: dict[str, int] = field(default_factory=dict)
    drills: int = 0

    @classmethod
    def open(cls, path: str | Path | None = "default") -> Progress:
        """Read the store at ``path`` (``"default"``: :func:`default_path`; None: memory only).

        A file that does not exist yet is an empty store; it is written by :meth:`save`.

        Raises:
            ValueError: the file is not a progress file (the message says to delete it).
        """
        if path is None:
            return cls()
        if not isinstance(path, str | Path) or not str(path).strip():
            raise ValueError(f"path must be 'default', a file path or None, got {path!r}")
        file = default_path() if path == "default" else Path(path).expanduser()
        if not file.exists():
            return cls(path=file)
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            seen = {str(k): str(v) for k, v in data["seen"].items()}
            boxes = {str(k): int(v) for k, v in data["boxes"].items()}
            drills = int(data["drills"])
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(
                f"{file} is not a ds500 progress file ({err}); delete it to start afresh"
            ) from err
        if any(not 1 <= b <= LEITNER_BOXES for b in boxes.values()) or drills < 0:
            raise ValueError(f"{file} has boxes outside 1-{LEITNER_BOXES}; delete it to start afresh")
        return cls(path=file, seen=seen, boxes=boxes, drills=drills)

    def mark_seen(self, ids: Iterable[str], *, today: dt.date | None = None) -> None:
        """Remember that these mock questions were shown and submitted (first date kept)."""
        stamp = (today or dt.date.today()).isoformat()
        for qid in ids:
            self.seen.setdefault(_id(qid), stamp)

    def record(self, outcomes: Mapping[str, bool | None]) -> None:
        """Update the Leitner boxes from one check: wrong -> box 1, right -> one box up.

        A right answer to a question that is in no box changes nothing (it was never
        missed); unanswered questions (None) change nothing either.
        """
        for qid, ok in outcomes.items():
            qid = _id(qid)
            if ok is False:
                self.boxes[qid] = 1
            elif ok is True and qid in self.boxes:
                if self.boxes[qid] >= LEITNER_BOXES:
                    del self.boxes[qid]
                else:
                    self.boxes[qid] += 1

    def due(self) -> list[str]:
        """The ids due in the next drill: box b is due every 2**(b-1)-th drill; lowest box first."""
        return sorted(
            (qid for qid, box in self.boxes.items() if self.drills % 2 ** (box - 1) == 0),
            key=lambda qid: (self.boxes[qid], qid),
        )

    def finish_drill(self) -> None:
        """Count one drill as done (so the higher boxes come due in turn)."""
        self.drills += 1

    def save(self) -> Path | None:
        """Write the file (atomically, creating its folder); a memory-only store writes nothing."""
        if self.path is None:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"format": _FORMAT, "seen": self.seen, "boxes": self.boxes, "drills": self.drills}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.path)
        return self.path


def recording_store() -> Progress | None:
    """The store lab quizzes record their misses into: the default file once it exists, else None.

    The file exists only after the student opted in (lab 17 with ``PROGRESS_FILE``, or a
    ``Progress.open(...).save()``), so a quiz run in CI or by the grader writes nothing.
    """
    path = default_path()
    return Progress.open(path) if path.exists() else None


def _id(qid: object) -> str:
    if not isinstance(qid, str) or not qid:
        raise ValueError(f"question ids are non-empty strings like 'mock-a001', got {qid!r}")
    return qid
