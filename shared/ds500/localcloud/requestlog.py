"""The log of HTTP requests the SDKs sent to the stand-in, for the student to read.

Why: the REST shapes are what Google Cloud really receives (camelCase fields,
resource names, long-running operations), so showing them under each cloud cell
teaches more than a hand-built dry run did. Bodies are trimmed for display only.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["Entry", "RequestLog", "trim"]

_MAX_ITEMS = 6
_MAX_TEXT = 160


def trim(value: Any, depth: int = 0) -> Any:
    """A short copy of a JSON value: long strings, lists and deep objects are cut."""
    if isinstance(value, str):
        return (
            value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + f"… (+{len(value) - _MAX_TEXT} chars)"
        )
    if isinstance(value, list):
        head = [trim(v, depth + 1) for v in value[:_MAX_ITEMS]]
        return head + [f"… (+{len(value) - _MAX_ITEMS} items)"] if len(value) > _MAX_ITEMS else head
    if isinstance(value, dict):
        if depth >= 6:
            return "{…}"
        return {k: trim(v, depth + 1) for k, v in value.items()}
    return value


def _news(request: Any, response: Any) -> Any:
    """What an answer says beyond its request: a created resource echoes its body, so only the
    fields the service added or changed (name, state, times ...) are worth showing; an answer to a
    GET shows its top-level scalar fields and the size of its lists."""
    if not isinstance(response, dict) or "error" in response:
        return response
    if isinstance(request, dict) and request:
        return {k: v for k, v in response.items() if request.get(k) != v}
    short: dict[str, Any] = {}
    for key, value in response.items():
        if isinstance(value, list):
            short[key] = f"[{len(value)} items]"
        elif not isinstance(value, dict):
            short[key] = value
    return short


@dataclass(frozen=True)
class Entry:
    """One request and its answer."""

    seq: int
    service: str
    method: str
    path: str
    status: int
    request: Any
    response: Any

    def line(self) -> str:
        """``POST /v1/projects/.../customJobs -> 200``."""
        return f"{self.method} {self.path} -> {self.status}"

    def as_text(self) -> str:
        """The line plus the trimmed request body and what the answer adds to it."""
        parts = [self.line()]
        if self.request not in (None, {}, ""):
            parts.append("  request:  " + json.dumps(trim(self.request), ensure_ascii=False, default=str))
        answer = _news(self.request, self.response)
        if answer not in (None, {}, ""):
            parts.append("  response: " + json.dumps(trim(answer), ensure_ascii=False, default=str))
        return "\n".join(parts)


class RequestLog:
    """Thread-safe, append-only list of :class:`Entry`, read by position."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []

    def add(self, service: str, method: str, path: str, status: int, request: Any, response: Any) -> None:
        with self._lock:
            self._entries.append(Entry(len(self._entries), service, method, path, status, request, response))

    def position(self) -> int:
        """How many entries there are: pass it to :meth:`since` later."""
        with self._lock:
            return len(self._entries)

    def since(self, position: int) -> list[Entry]:
        """The entries added after :meth:`position` returned ``position``."""
        with self._lock:
            return list(self._entries[position:])
