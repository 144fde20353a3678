"""What every long-running Vertex AI job shares in the stand-in: end states, polls, cancel.

Custom jobs, tuning jobs, training pipelines, pipeline jobs and batch prediction jobs
all move through ``*_STATE_PENDING`` → ``*_RUNNING`` → an end state, are polled by the
SDK every few seconds, and can be cancelled; the service modules share these three.
"""

from __future__ import annotations

from typing import Any

from ds500.localcloud.routing import Call
from ds500.localcloud.store import now

__all__ = ["DONE_STATES", "cancel", "wait_until_done"]

#: The states a job or pipeline never leaves.
DONE_STATES = frozenset(
    {
        "JOB_STATE_SUCCEEDED",
        "JOB_STATE_FAILED",
        "JOB_STATE_CANCELLED",
        "PIPELINE_STATE_SUCCEEDED",
        "PIPELINE_STATE_FAILED",
        "PIPELINE_STATE_CANCELLED",
    }
)


def wait_until_done(call: Call, resource: dict[str, Any]) -> dict[str, Any]:
    """Answer a poll as soon as the local work is done (at most 30 s later).

    Why: the SDKs sleep several seconds between polls; answering the first poll when the
    job has ended keeps a lab fast without changing what the SDK sees.
    """
    return call.cloud.store.wait_for(resource["name"], lambda r: r.get("state") in DONE_STATES, timeout=30)


def cancel(call: Call) -> dict[str, Any]:
    """``{name}:cancel``: a job that has not ended becomes ``*_STATE_CANCELLED``."""
    resource = call.cloud.store.get(call.name)
    state = resource.get("state", "")
    if state not in DONE_STATES:
        prefix = "PIPELINE" if state.startswith("PIPELINE") else "JOB"
        call.cloud.store.update(call.name, state=f"{prefix}_STATE_CANCELLED", updateTime=now())
    return {}
