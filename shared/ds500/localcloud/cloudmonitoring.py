"""Cloud Monitoring alert policies (``monitoring.googleapis.com/v3/projects/{p}/alertPolicies``).

Why REST and not ``monitoring_v3.AlertPolicyServiceClient``: that client speaks gRPC
only, so the labs send the same ``AlertPolicy`` as JSON to the v3 REST API with an
authorized session, which works against Google Cloud and this stand-in alike.
A policy is a spec: it is checked, stored and returned; no metric is evaluated and no
incident is opened here.
"""

from __future__ import annotations

from typing import Any

from ds500.localcloud.errors import invalid
from ds500.localcloud.routing import Call, Collection, Router

POLICY_DOCS = "https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies"
CONDITION_DOCS = (
    "https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies#metricthreshold"
)
FILTER_DOCS = "https://cloud.google.com/monitoring/api/v3/filters"
_MAX_CONDITIONS = 6


def _seconds(duration: Any) -> float:
    """``"300s"`` -> 300.0 (JSON durations)."""
    return float(str(duration or "0s").rstrip("s") or 0)


def check_threshold_condition(index: int, threshold: dict[str, Any]) -> None:
    """Filter names a resource type and a metric type; alignment, comparison and duration are valid."""
    where = f"conditions[{index}].conditionThreshold"
    text = threshold.get("filter", "")
    for required in ("resource.type", "metric.type"):
        if required not in text:
            raise invalid(
                f"{where}.filter must name {required} (e.g. 'resource.type = \"aiplatform.googleapis.com/"
                f'Endpoint" AND metric.type = "..."\'), got {text!r}',
                FILTER_DOCS,
            )
    for aggregation in threshold.get("aggregations") or []:
        aligner = aggregation.get("perSeriesAligner", "ALIGN_NONE")
        if aligner != "ALIGN_NONE" and _seconds(aggregation.get("alignmentPeriod")) < 60:
            raise invalid(
                f"{where}.aggregations: {aligner} needs an alignmentPeriod of at least 60s, got "
                f"{aggregation.get('alignmentPeriod', 'none')}",
                CONDITION_DOCS,
            )
    if threshold.get("comparison", "COMPARISON_UNSPECIFIED") == "COMPARISON_UNSPECIFIED":
        raise invalid(f"{where}.comparison is required (COMPARISON_GT, COMPARISON_LT ...)", CONDITION_DOCS)
    duration = _seconds(threshold.get("duration"))
    if duration % 60:
        raise invalid(
            f"{where}.duration must be a whole number of minutes (0s, 60s, 300s ...), got "
            f"{threshold.get('duration')}",
            CONDITION_DOCS,
        )


def _validate(call: Call, body: dict[str, Any]) -> None:
    conditions = body.get("conditions") or []
    if not body.get("displayName"):
        raise invalid("displayName is required to create an alert policy", POLICY_DOCS)
    if not 1 <= len(conditions) <= _MAX_CONDITIONS:
        raise invalid(
            f"an alert policy needs 1 to {_MAX_CONDITIONS} conditions, got {len(conditions)}", POLICY_DOCS
        )
    if len(conditions) > 1 and body.get("combiner", "COMBINE_UNSPECIFIED") == "COMBINE_UNSPECIFIED":
        raise invalid("a policy with several conditions needs a combiner (AND, OR ...)", POLICY_DOCS)
    for index, condition in enumerate(conditions):
        if "conditionThreshold" in condition:
            check_threshold_condition(index, condition["conditionThreshold"])


def _name_conditions(call: Call, policy: dict[str, Any]) -> dict[str, Any]:
    """Cloud Monitoring names each condition under its policy; the policy is enabled unless told otherwise."""
    for condition in policy.get("conditions") or []:
        condition["name"] = f"{policy['name']}/conditions/{call.cloud.store.new_id()}"
    policy.setdefault("enabled", True)
    return policy


def register(router: Router) -> None:
    router.add(
        Collection(
            "projects/alertPolicies",
            "google.monitoring.{version}.AlertPolicy",
            validate=_validate,
            on_create=_name_conditions,
        )
    )
