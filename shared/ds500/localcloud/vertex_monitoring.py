"""Vertex AI Model Monitoring: v2 model monitors and their jobs, v1 deployment monitoring jobs.

All three are specs: Google Cloud runs the analysis later, on a schedule, over logged
requests. The stand-in checks what Vertex AI checks (metric per feature type,
thresholds, features in the schema, cron, sampling rate, interval, the endpoint and
its deployed models), stores the resource and answers as Vertex AI does; no analysis
runs here, so no monitoring job or anomaly is ever produced (a v1 job stays in its
schedule's ``PENDING`` state). The drift statistics themselves run for real in
``ds500.drift`` in lab 14.
"""

from __future__ import annotations

import re
from typing import Any

from ds500.localcloud import validation
from ds500.localcloud.errors import GoogleError, invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

V2_DOCS = "https://cloud.google.com/vertex-ai/docs/model-monitoring/overview"
V2_REST = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/projects.locations.modelMonitors"
V1_DOCS = "https://cloud.google.com/vertex-ai/docs/model-monitoring/using-model-monitoring"
V1_REST = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.modelDeploymentMonitoringJobs"

#: v2 DataDriftSpec: the metrics Vertex AI offers per feature type.
NUMERIC_METRICS = {"jensen_shannon_divergence"}
CATEGORICAL_METRICS = {"l_infinity", "jensen_shannon_divergence"}
FIELD_TYPES = {"float", "integer", "boolean", "string", "categorical"}
_BQ_TABLE = re.compile(r"^bq://[a-z][a-z0-9-]{4,28}[a-z0-9]\.\w+\.[\w$-]+$")
_MIN_INTERVAL_S = 3600


def check_threshold(value: Any, where: str, docs: str) -> None:
    """Jensen-Shannon divergence and L-infinity distance lie in [0, 1]: a threshold must be in (0, 1]."""
    number = float(value)
    if not 0 < number <= 1:
        raise invalid(
            f"{where} threshold {number} is outside (0, 1]: the distances Model Monitoring computes "
            "(Jensen-Shannon divergence, L-infinity) lie between 0 and 1, so it would alert always "
            "or never",
            docs,
        )


def check_bigquery_uri(uri: str, where: str, docs: str) -> None:
    if not _BQ_TABLE.match(uri or ""):
        raise invalid(f"{where} {uri!r} must name a BigQuery table as 'bq://PROJECT.DATASET.TABLE'", docs)


# -- v2: modelMonitors ----------------------------------------------------------------------
def _check_drift_spec(spec: dict[str, Any], where: str, schema_fields: set[str]) -> None:
    numeric = spec.get("numericMetricType", "jensen_shannon_divergence")
    categorical = spec.get("categoricalMetricType", "l_infinity")
    if numeric not in NUMERIC_METRICS:
        raise invalid(
            f"{where}.numericMetricType {numeric!r} is not supported for numeric features "
            f"(use one of {sorted(NUMERIC_METRICS)})",
            V2_REST,
        )
    if categorical not in CATEGORICAL_METRICS:
        raise invalid(
            f"{where}.categoricalMetricType {categorical!r} is not supported for categorical features "
            f"(use one of {sorted(CATEGORICAL_METRICS)})",
            V2_REST,
        )
    for key in ("defaultNumericAlertCondition", "defaultCategoricalAlertCondition"):
        if "threshold" in (spec.get(key) or {}):
            check_threshold(spec[key]["threshold"], f"{where}.{key}", V2_REST)
    features = set(spec.get("features") or [])
    unknown = sorted(features - schema_fields) if schema_fields else []
    if unknown:
        raise invalid(
            f"{where}.features names {unknown}, which are not in modelMonitoringSchema.featureFields", V2_REST
        )
    for feature, condition in (spec.get("featureAlertConditions") or {}).items():
        if features and feature not in features:
            raise invalid(
                f"{where}.featureAlertConditions sets a threshold for {feature!r}, which is not monitored "
                f"(features: {sorted(features)})",
                V2_REST,
            )
        if "threshold" in condition:
            check_threshold(condition["threshold"], f"{where}.featureAlertConditions[{feature}]", V2_REST)


def _validate_monitor(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    schema = body.get("modelMonitoringSchema") or {}
    fields = schema.get("featureFields") or []
    for field in fields + (schema.get("predictionFields") or []):
        if field.get("dataType") not in FIELD_TYPES:
            raise invalid(
                f"modelMonitoringSchema field {field.get('name')!r} has dataType {field.get('dataType')!r}; "
                f"use one of {sorted(FIELD_TYPES)}",
                V2_REST,
            )
    objective = body.get("tabularObjective") or {}
    for key in ("featureDriftSpec", "predictionOutputDriftSpec"):
        if key in objective:
            _check_drift_spec(objective[key], f"tabularObjective.{key}", {f.get("name") for f in fields})
    source = ((body.get("trainingDataset") or {}).get("columnizedDataset") or {}).get("bigquerySource") or {}
    if "tableUri" in source:
        check_bigquery_uri(source["tableUri"], "trainingDataset...bigquerySource.tableUri", V2_REST)


# -- v1beta1: modelMonitors/{id}/modelMonitoringJobs --------------------------------------
def check_monitoring_job(call: Call, monitor: str, job: dict[str, Any]) -> None:
    """A ``ModelMonitoringJob`` (run now, or by a schedule's ``createModelMonitoringJobRequest``).

    The monitor must exist (404), the target endpoints must be endpoint names, and an
    objective given here instead of the monitor's must follow the monitor's rules.
    """
    stored = call.cloud.store.get(monitor)
    spec = (job.get("modelMonitoringSpec") or {}).get("objectiveSpec") or {}
    for endpoint in ((spec.get("targetDataset") or {}).get("vertexEndpointLogs") or {}).get(
        "endpoints"
    ) or []:
        if not re.match(r"^projects/[^/]+/locations/[^/]+/endpoints/\d+$", endpoint):
            raise invalid(
                f"target endpoint {endpoint!r} is not an endpoint resource name "
                "('projects/P/locations/L/endpoints/ID')",
                V2_REST,
            )
    fields = {f.get("name") for f in (stored.get("modelMonitoringSchema") or {}).get("featureFields") or []}
    drift = (spec.get("tabularObjective") or {}).get("featureDriftSpec")
    if drift:
        _check_drift_spec(drift, "objectiveSpec.tabularObjective.featureDriftSpec", fields)


def _validate_job(call: Call, body: dict[str, Any]) -> None:
    check_monitoring_job(call, call.parent, body)


def _job_created(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    """Nothing is analysed locally: the job is stored as pending, and says why."""
    job["state"] = "JOB_STATE_PENDING"
    job["jobExecutionDetail"] = {
        "error": {
            "code": 12,
            "message": "local stand-in: the job is validated and stored; "
            "no endpoint logs exist locally, so no analysis runs",
        }
    }
    return job


# -- v1: modelDeploymentMonitoringJobs ------------------------------------------------------
def _validate_v1_job(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    endpoint_name = body.get("endpoint", "")
    endpoint = call.cloud.store.get(endpoint_name)  # 404 when the endpoint does not exist
    deployed = {m.get("id") for m in endpoint.get("deployedModels") or []}
    configs = body.get("modelDeploymentMonitoringObjectiveConfigs") or []
    if not configs:
        raise invalid(f"no objective config: {endpoint_name} has no deployed model to monitor", V1_DOCS)
    for config in configs:
        model_id = config.get("deployedModelId", "")
        if model_id not in deployed:
            raise GoogleError(
                404,
                f"deployed model {model_id!r} is not on {endpoint_name} (deployed: {sorted(deployed)}; "
                f"rule: {V1_REST})",
            )
        objective = config.get("objectiveConfig") or {}
        skew = objective.get("trainingPredictionSkewDetectionConfig")
        if skew:
            dataset = objective.get("trainingDataset") or {}
            if not dataset.get("targetField"):
                raise invalid(
                    "skew detection needs trainingDataset.targetField (the label column, left out of "
                    "the comparison)",
                    V1_DOCS,
                )
            uri = (dataset.get("bigquerySource") or {}).get("inputUri")
            if uri:
                check_bigquery_uri(uri, "trainingDataset.bigquerySource.inputUri", V1_DOCS)
        drift = objective.get("predictionDriftDetectionConfig") or {}
        for kind, spec in (("skew", skew or {}), ("drift", drift)):
            for key in (
                "skewThresholds",
                "driftThresholds",
                "attributionScoreSkewThresholds",
                "attributionScoreDriftThresholds",
            ):
                for feature, threshold in (spec.get(key) or {}).items():
                    check_threshold(threshold.get("value", 0), f"{kind} {key}[{feature}]", V1_DOCS)
    interval = str((body.get("modelDeploymentMonitoringScheduleConfig") or {}).get("monitorInterval", "0s"))
    if float(interval.rstrip("s") or 0) < _MIN_INTERVAL_S:
        raise invalid(f"monitorInterval {interval} is shorter than the minimum of one hour", V1_DOCS)
    rate = ((body.get("loggingSamplingStrategy") or {}).get("randomSampleConfig") or {}).get("sampleRate")
    if rate is not None and not 0 < float(rate) <= 1:
        raise invalid(f"randomSampleConfig.sampleRate {rate} must be in (0, 1]", V1_DOCS)


def _v1_created(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    """No analysis runs locally: the job waits for its first scheduled run, which never comes here."""
    job["scheduleState"] = "PENDING"
    return job


def _set_state(state: str) -> Any:
    def handler(call: Call) -> dict[str, Any]:
        call.cloud.store.update(call.name, state=state, updateTime=now())
        return {}

    return handler


def register(router: Router) -> None:
    router.add(
        Collection(
            "projects/locations/modelMonitors",
            "google.cloud.aiplatform.{version}.ModelMonitor",
            id_param="modelMonitorId",
            lro_create=True,
            lro_delete=True,
            lro_update=True,
            validate=_validate_monitor,
        ),
        Collection(
            "projects/locations/modelMonitors/modelMonitoringJobs",
            "google.cloud.aiplatform.{version}.ModelMonitoringJob",
            id_param="modelMonitoringJobId",
            lro_delete=True,
            validate=_validate_job,
            on_create=_job_created,
        ),
        Collection(
            "projects/locations/modelDeploymentMonitoringJobs",
            "google.cloud.aiplatform.{version}.ModelDeploymentMonitoringJob",
            lro_delete=True,
            required=("displayName", "endpoint"),
            validate=_validate_v1_job,
            on_create=_v1_created,
            initial_state="JOB_STATE_PENDING",
            verbs={"pause": _set_state("JOB_STATE_PAUSED"), "resume": _set_state("JOB_STATE_PENDING")},
        ),
    )
