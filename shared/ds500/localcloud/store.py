"""In-memory resources and long-running operations, keyed by Google's resource names.

Why in memory: a lab's cloud resources live as long as its kernel, like the
resources a student deletes in the lab's clean-up cell; nothing is written outside
the local bucket. Names follow Google's pattern
(``projects/{project}/locations/{location}/customJobs/{id}``) with numeric ids, as
Vertex AI assigns them.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from datetime import datetime, timezone
from typing import Any

from ds500.localcloud.errors import not_found

__all__ = ["Store", "now"]


def now() -> str:
    """The current time as RFC 3339 with a ``Z``, as Google's APIs write timestamps."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """Thread-safe resources (JSON dicts) and operations, by resource name."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._resources: dict[str, dict[str, Any]] = {}
        self._created: dict[str, float] = {}
        self._ids = itertools.count(1)
        self.changed = threading.Condition(self._lock)

    def new_id(self) -> str:
        """A fresh numeric id (Vertex AI's ids are numbers)."""
        return str(1_000_000_000_000_000_000 + next(self._ids) * 1_000_003)

    def put(self, name: str, resource: dict[str, Any]) -> dict[str, Any]:
        """Store ``resource`` under ``name`` (sets ``name``) and return a copy."""
        with self._lock:
            resource["name"] = name
            self._resources[name] = resource
            self._created.setdefault(name, time.monotonic())
            self.changed.notify_all()
            return copy.deepcopy(resource)

    def exists(self, name: str) -> bool:
        with self._lock:
            return name in self._resources

    def get(self, name: str) -> dict[str, Any]:
        """A copy of the resource; 404 when there is none."""
        with self._lock:
            if name not in self._resources:
                raise not_found(name)
            return copy.deepcopy(self._resources[name])

    def update(self, name: str, **fields: Any) -> dict[str, Any]:
        """Set top-level fields of a stored resource; returns the new copy."""
        with self._lock:
            if name not in self._resources:
                raise not_found(name)
            self._resources[name].update(fields)
            self.changed.notify_all()
            return copy.deepcopy(self._resources[name])

    def delete(self, name: str) -> dict[str, Any]:
        """Remove a resource and everything under it; 404 when there is none."""
        with self._lock:
            if name not in self._resources:
                raise not_found(name)
            removed = self._resources.pop(name)
            for child in [n for n in self._resources if n.startswith(name + "/")]:
                del self._resources[child]
            return removed

    def children(self, parent: str, collection: str) -> list[dict[str, Any]]:
        """Direct children ``{parent}/{collection}/{id}``, oldest first."""
        prefix = f"{parent}/{collection}/"
        with self._lock:
            names = [n for n in self._resources if n.startswith(prefix) and "/" not in n[len(prefix) :]]
            names.sort(key=lambda n: self._created[n])
            return [copy.deepcopy(self._resources[n]) for n in names]

    def names(self) -> list[str]:
        """Every stored resource name, oldest first (operations excluded)."""
        with self._lock:
            return sorted(
                (n for n in self._resources if "/operations/" not in n), key=self._created.__getitem__
            )

    def wait_for(self, name: str, done: Any, timeout: float) -> dict[str, Any]:
        """Block until ``done(resource)`` is true or ``timeout`` passes; return the resource.

        Why: the SDKs poll a running job every few seconds; answering the poll as soon
        as the local job finishes keeps a lab fast without changing what the SDK sees.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                resource = self.get(name)
                left = deadline - time.monotonic()
                if done(resource) or left <= 0:
                    return resource
                self.changed.wait(left)

    def operation(
        self,
        parent: str,
        response: dict[str, Any] | None,
        response_type: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A finished long-running operation under ``parent`` (``done: true``).

        Local work finishes before the answer, so the SDK's ``operation.result()``
        returns at once instead of polling.

        Args:
            parent: the resource the operation acts on.
            response: the operation's result (e.g. the created resource), or None
                for an ``Empty`` result (a delete).
            response_type: the fully qualified response message, e.g.
                ``google.cloud.aiplatform.v1.UploadModelResponse``.
            metadata: the operation metadata with its ``@type``, if the SDK reads it.
        """
        name = f"{parent}/operations/{self.new_id()}"
        op: dict[str, Any] = {"name": name, "done": True}
        if metadata:
            op["metadata"] = metadata
        if response is None:
            op["response"] = {"@type": "type.googleapis.com/google.protobuf.Empty"}
        else:
            op["response"] = {"@type": f"type.googleapis.com/{response_type}", **response}
        return self.put(name, op)
