"""Vertex AI training: custom jobs (``projects.locations.customJobs``).

Checks what Vertex AI checks on create (machine types, accelerators, TPU
topologies, image paths), then walks the job through Vertex AI's states.
"""

from __future__ import annotations

import threading
from typing import Any

from ds500.localcloud import validation
from ds500.localcloud.errors import invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

CUSTOM_JOB_DOCS = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/CustomJobSpec"
DONE_STATES = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"}


def check_job_spec(spec: dict[str, Any]) -> None:
    """Worker pools of a ``CustomJobSpec``: at least one, each with machine, replicas and code."""
    pools = spec.get("workerPoolSpecs") or []
    if not pools or not pools[0]:
        raise invalid("jobSpec.workerPoolSpecs needs at least one worker pool (the chief)", CUSTOM_JOB_DOCS)
    for index, pool in enumerate(pools):
        if not pool:
            continue  # an empty pool keeps the positions: [0] chief, [1] workers, [2] servers, [3] evaluators
        validation.check_machine_spec(pool.get("machineSpec") or {})
        container = pool.get("containerSpec")
        package = pool.get("pythonPackageSpec")
        if not container and not package:
            raise invalid(f"workerPoolSpecs[{index}] needs a containerSpec or a pythonPackageSpec", CUSTOM_JOB_DOCS)
        if container:
            validation.check_image_uri(container.get("imageUri", ""), f"workerPoolSpecs[{index}].containerSpec.imageUri")
        if package:
            validation.check_image_uri(package.get("executorImageUri", ""),
                                       f"workerPoolSpecs[{index}].pythonPackageSpec.executorImageUri")
        if index == 0 and int(pool.get("replicaCount") or 1) != 1:
            raise invalid("workerPoolSpecs[0] is the chief: its replicaCount must be 1", CUSTOM_JOB_DOCS)


def _validate(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    check_job_spec(body.get("jobSpec") or {})


def _start(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    """Record the job as PENDING and move it through RUNNING to SUCCEEDED in the background."""
    store, name = call.cloud.store, job["name"]

    def run() -> None:
        store.update(name, state="JOB_STATE_RUNNING", startTime=now(), updateTime=now())
        store.update(name, state="JOB_STATE_SUCCEEDED", endTime=now(), updateTime=now())

    threading.Timer(0.01, run).start()
    return job


def _wait_briefly(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    """Answer a poll as soon as the local job is done (the SDK polls every few seconds)."""
    return call.cloud.store.wait_for(job["name"], lambda r: r.get("state") in DONE_STATES, timeout=30)


def _cancel(call: Call) -> dict[str, Any]:
    call.cloud.store.update(call.name, state="JOB_STATE_CANCELLED", updateTime=now())
    return {}


def register(router: Router) -> None:
    router.add(Collection(
        "projects/locations/customJobs", "google.cloud.aiplatform.{version}.CustomJob",
        lro_delete=True, required=("displayName", "jobSpec"), validate=_validate, on_create=_start,
        on_get=_wait_briefly, initial_state="JOB_STATE_PENDING", verbs={"cancel": _cancel},
    ))
