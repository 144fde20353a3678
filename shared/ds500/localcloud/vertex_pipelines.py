"""Vertex AI Pipelines: pipeline jobs and schedules (``pipelineJobs``, ``schedules``).

What is real and what is simulated: a submitted job's compiled ``pipelineSpec`` is
checked as Vertex AI checks it (a root DAG, every required pipeline parameter given
and no unknown one, a ``gs://`` pipeline root in a bucket that exists), and stored.
Its steps are **not executed** here: they need the component images and the
``/gcs/`` data of a real project, and a full run takes minutes (lab 12 runs the same
pipeline for real with ``kfp.local`` instead). So the job ends in
``PIPELINE_STATE_CANCELLED`` with an ``error`` that says so, the field Vertex AI
fills for a cancelled job. A schedule's cron is validated and the schedule stored;
the stand-in never starts its runs.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from ds500.localcloud import jobs, validation
from ds500.localcloud.errors import invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

__all__ = ["check_pipeline_job", "register"]

PIPELINE_DOCS = "https://cloud.google.com/vertex-ai/docs/pipelines/run-pipeline"
ROOT_DOCS = "https://cloud.google.com/vertex-ai/docs/pipelines/configure-project#storage"
SCHEDULE_DOCS = "https://cloud.google.com/vertex-ai/docs/pipelines/schedule-pipeline-run"
NOT_RUN = (
    "local stand-in: the pipeline spec and its parameters were validated and the job stored, but no step "
    "was executed (run the pipeline with kfp.local for a real local run, or with RUN_ON_GCP = True)"
)
_JOB_ID = re.compile(r"^[a-z][a-z0-9-]{0,127}$")
_SERVICE_ACCOUNT = re.compile(
    r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.iam\.gserviceaccount\.com$|"
    r"^\d+-compute@developer\.gserviceaccount\.com$"
)
# cron field: (name, lowest, highest)


def _bucket_exists(call: Call, uri: str) -> bool:
    bucket = uri[5:].split("/", 1)[0]
    emulator = call.cloud._storage  # noqa: SLF001 - the stand-in's own storage emulator
    return emulator is not None and bucket in emulator.storage.buckets


def check_pipeline_job(call: Call, job: dict[str, Any]) -> None:
    """The rules Vertex AI applies when a ``PipelineJob`` is created.

    Raises:
        GoogleError: 400 with the rule's documentation link.
    """
    spec = job.get("pipelineSpec") or {}
    if not spec and not job.get("templateUri"):
        raise invalid("pipelineSpec (the compiled pipeline) or templateUri is required", PIPELINE_DOCS)
    if spec and not (spec.get("root") or {}).get("dag"):
        raise invalid(
            "pipelineSpec has no root DAG: submit the YAML that kfp.compiler.Compiler wrote", PIPELINE_DOCS
        )
    runtime = job.get("runtimeConfig") or {}
    root = runtime.get("gcsOutputDirectory", "")
    if not root.startswith("gs://") or len(root) <= 5:
        raise invalid(
            f"the pipeline root must be a Cloud Storage path such as 'gs://BUCKET/pipeline_root', "
            f"got {root or 'none'!r}",
            ROOT_DOCS,
        )
    if not _bucket_exists(call, root):
        raise invalid(
            f"the pipeline root {root} is in a bucket that does not exist: create the bucket first "
            "(in the pipeline's region)",
            ROOT_DOCS,
        )
    declared = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    given = runtime.get("parameterValues") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise invalid(
            f"runtimeConfig.parameterValues names parameters the pipeline does not have: {unknown} "
            f"(it has {sorted(declared)})",
            PIPELINE_DOCS,
        )
    missing = sorted(
        name
        for name, p in declared.items()
        if name not in given and "defaultValue" not in p and not p.get("isOptional")
    )
    if missing:
        raise invalid(
            f"required pipeline parameters have no value: {missing}; pass them in parameter_values",
            PIPELINE_DOCS,
        )
    account = job.get("serviceAccount", "")
    if account and not _SERVICE_ACCOUNT.match(account):
        raise invalid(
            f"serviceAccount {account!r} is not a service account email "
            "(NAME@PROJECT_ID.iam.gserviceaccount.com)",
            PIPELINE_DOCS,
        )


def _validate_job(call: Call, job: dict[str, Any]) -> None:
    validation.check_region(call.location, "Vertex AI Pipelines")
    job_id = call.query.get("pipelineJobId", "")
    if job_id and not _JOB_ID.match(job_id):
        raise invalid(
            f"pipelineJobId {job_id!r} must be 1-128 lowercase letters, digits and hyphens, starting "
            "with a letter",
            PIPELINE_DOCS,
        )
    check_pipeline_job(call, job)


def _start(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    """Stored as PENDING, then CANCELLED with the reason: the stand-in does not run the steps."""
    store, name = call.cloud.store, job["name"]
    job.setdefault("runtimeConfig", {})

    def finish() -> None:
        store.update(
            name,
            state="PIPELINE_STATE_CANCELLED",
            startTime=now(),
            endTime=now(),
            updateTime=now(),
            error={"code": 1, "message": NOT_RUN},
        )

    threading.Timer(0.01, finish).start()
    return job


# -- schedules ----------------------------------------------------------------------------
def _validate_schedule(call: Call, schedule: dict[str, Any]) -> None:
    validation.check_region(call.location, "Vertex AI Pipelines")
    validation.check_cron(schedule.get("cron", ""))
    if int(schedule.get("maxConcurrentRunCount") or 0) < 1:
        raise invalid("maxConcurrentRunCount must be at least 1", SCHEDULE_DOCS)
    if "maxRunCount" in schedule and int(schedule["maxRunCount"]) < 1:
        raise invalid("maxRunCount must be at least 1 when it is set", SCHEDULE_DOCS)
    request = schedule.get("createPipelineJobRequest") or {}
    if not request.get("pipelineJob"):
        raise invalid("createPipelineJobRequest.pipelineJob is required", SCHEDULE_DOCS)
    check_pipeline_job(call, request["pipelineJob"])


def _activate(call: Call, schedule: dict[str, Any]) -> dict[str, Any]:
    schedule.update(state="ACTIVE", startTime=schedule.get("startTime") or now(), startedRunCount="0")
    return schedule


def _pause(state: str) -> Any:
    def handler(call: Call) -> dict[str, Any]:
        stamp = "lastPauseTime" if state == "PAUSED" else "lastResumeTime"
        call.cloud.store.update(call.name, state=state, updateTime=now(), **{stamp: now()})
        return {}

    return handler


def _project(call: Call) -> dict[str, Any]:
    """Resource Manager ``GET /v3/projects/{id}``: ``PipelineJob.submit`` reads the project number
    to check that the pipeline-root bucket belongs to the project (the emulator's buckets all do)."""
    from gcp_storage_emulator import settings

    project_id = call.name.split("/", 1)[1]
    return {
        "name": f"projects/{settings.DEFAULT_PROJECT_NUMBER}",
        "projectId": project_id,
        "state": "ACTIVE",
        "displayName": project_id,
    }


def register(router: Router) -> None:
    v = "google.cloud.aiplatform.{version}."
    router.add(
        Collection("projects", methods={"GET": _project}),
        Collection(
            "projects/locations/pipelineJobs",
            v + "PipelineJob",
            id_param="pipelineJobId",
            lro_delete=True,
            required=("displayName",),
            validate=_validate_job,
            on_create=_start,
            on_get=jobs.wait_until_done,
            initial_state="PIPELINE_STATE_PENDING",
            verbs={"cancel": jobs.cancel},
        ),
        Collection(
            "projects/locations/schedules",
            v + "Schedule",
            lro_delete=True,
            required=("displayName", "cron"),
            validate=_validate_schedule,
            on_create=_activate,
            verbs={"pause": _pause("PAUSED"), "resume": _pause("ACTIVE")},
        ),
    )
