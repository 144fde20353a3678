"""Cloud Logging: ``entries:list``, answered from audit entries the stand-in derives.

Which entries exist: Cloud Audit Logs write an **Admin Activity** entry for every call that
changes a resource, always. The stand-in derives those entries from its own request
log, for the creates, updates, cancels and deletes it answered in this process
(``protoPayload`` as a ``google.cloud.audit.AuditLog``; the principal is the anonymous
local caller; the time is the resource's ``createTime``/``updateTime``, else the time of
the query). It writes no **Data Access** entries: BigQuery writes them on Google Cloud,
but no BigQuery table is read through the stand-in, so a Data Access query answers an
empty list, honestly. Nothing else (application logs, platform logs) is held.

The filter is checked and evaluated for a subset of the Logging query language:
comparisons (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``:``) joined by ``AND``, each
optionally preceded by ``NOT``. ``OR`` and parentheses are valid on Google Cloud but are
refused here (HTTP 501) rather than evaluated wrongly.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from ds500.localcloud.errors import GoogleError, invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

__all__ = ["audit_entries", "matches", "parse_filter", "register"]

LIST_DOCS = "https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list"
QUERY_DOCS = "https://cloud.google.com/logging/docs/view/logging-query-language"
_FIELDS = {
    "logName",
    "resource",
    "protoPayload",
    "jsonPayload",
    "textPayload",
    "timestamp",
    "receiveTimestamp",
    "severity",
    "labels",
    "insertId",
    "httpRequest",
    "operation",
    "trace",
    "spanId",
    "sourceLocation",
}
_TERM = re.compile(r'^(NOT\s+)?([A-Za-z_][\w.]*)\s*(<=|>=|!=|=|<|>|:)\s*("(?:[^"\\]|\\.)*"|\S+)$')
_SERVICES = {"templates": "modelarmor.googleapis.com"}  # anything else under locations/ is Vertex AI


def parse_filter(text: str) -> list[tuple[bool, str, str, str]]:
    """``(negated, field, operator, value)`` terms of an AND-only filter; 400/501 when not parseable."""
    if text.count('"') % 2:
        raise invalid(f"the filter has an unbalanced quote: {text!r}", QUERY_DOCS)
    if re.search(r"\bOR\b|[()]", re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)):
        raise GoogleError(
            501,
            "the local stand-in evaluates only terms joined by AND (with NOT); OR and "
            f"parentheses are valid on Google Cloud ({QUERY_DOCS}) but not evaluated here",
        )
    terms = []
    for raw in re.split(r'\s+AND\s+(?=(?:[^"]*"[^"]*")*[^"]*$)', text.strip()):
        found = _TERM.match(raw.strip())
        if not found:
            raise invalid(f"cannot parse the filter term {raw!r}: expected FIELD OPERATOR VALUE", QUERY_DOCS)
        negated, field, operator, value = found.groups()
        if field.split(".")[0] not in _FIELDS:
            raise invalid(f"{field!r} is not a LogEntry field (known: {sorted(_FIELDS)})", QUERY_DOCS)
        value = value[1:-1] if value.startswith('"') else value
        if field == "timestamp" and operator != ":":
            _time(value, raw)
        terms.append((bool(negated), field, operator, value))
    return terms


def _time(value: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise invalid(f"{where}: timestamps are RFC 3339, e.g. 2026-12-02T10:00:00Z", QUERY_DOCS) from error


def _value(entry: dict[str, Any], field: str) -> Any:
    value: Any = entry
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def matches(entry: dict[str, Any], terms: list[tuple[bool, str, str, str]]) -> bool:
    """Whether ``entry`` satisfies every term (a missing field fails every comparison but ``!=``)."""
    for negated, field, operator, wanted in terms:
        value = _value(entry, field)
        if value is None:
            ok = operator == "!="
        elif operator == ":":
            ok = wanted.lower() in str(value).lower()
        elif field == "timestamp":
            left, right = _time(str(value), field), _time(wanted, field)
            ok = {
                "=": left == right,
                "!=": left != right,
                "<": left < right,
                "<=": left <= right,
                ">": left > right,
                ">=": left >= right,
            }[operator]
        else:
            ok = {
                "=": str(value) == wanted,
                "!=": str(value) != wanted,
                "<": str(value) < wanted,
                "<=": str(value) <= wanted,
                ">": str(value) > wanted,
                ">=": str(value) >= wanted,
            }[operator]
        if ok == negated:
            return False
    return True


def audit_entries(call: Call, project: str) -> list[dict[str, Any]]:
    """Admin Activity entries for the changes the stand-in answered for ``project``."""
    entries = []
    for logged in call.cloud.log.since(0):
        path = logged.path.split("/", 2)[-1]  # drop the version
        changes = logged.method in ("POST", "PATCH", "DELETE") and (
            ":" not in path or path.endswith(":cancel")
        )
        if (
            logged.service != "api"
            or logged.status != 200
            or not changes
            or not path.startswith(f"projects/{project}/")
        ):
            continue
        response = logged.response if isinstance(logged.response, dict) else {}
        target = path.split(":")[0]
        when = now()
        if logged.method == "POST" and not path.endswith(
            ":cancel"
        ):  # a create, maybe answered by an operation
            created = response.get("response", response) if "done" in response else response
            resource, collection = created.get("name", target), target.rsplit("/", 1)[-1]
            when = created.get("updateTime") or when
        else:
            resource, collection = target, target.split("/")[-2]
        verb = {
            "POST": "Cancel" if path.endswith(":cancel") else "Create",
            "PATCH": "Update",
            "DELETE": "Delete",
        }
        method = f"{verb[logged.method]}{collection[:1].upper()}{collection[1:-1]}"
        service = _SERVICES.get(collection, "aiplatform.googleapis.com")
        entries.append(
            {
                "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity",
                "resource": {
                    "type": "audited_resource",
                    "labels": {"project_id": project, "service": service, "method": method},
                },
                "timestamp": when,
                "receiveTimestamp": when,
                "severity": "NOTICE",
                "insertId": f"local-{logged.seq}",
                "protoPayload": {
                    "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                    "serviceName": service,
                    "methodName": method,
                    "resourceName": resource,
                    "authenticationInfo": {"principalEmail": "anonymous caller (local stand-in)"},
                },
            }
        )
    return entries


def _list(call: Call) -> dict[str, Any]:
    names = call.body.get("resourceNames") or []
    if not names or not all(re.fullmatch(r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]", n) for n in names):
        raise invalid(
            "resourceNames must list projects/PROJECT_ID (the stand-in holds project logs only)", LIST_DOCS
        )
    order = call.body.get("orderBy", "timestamp asc")
    if order not in ("timestamp asc", "timestamp desc"):
        raise invalid(f"orderBy must be 'timestamp asc' or 'timestamp desc', got {order!r}", LIST_DOCS)
    size = int(call.body.get("pageSize") or 50)
    if not 1 <= size <= 1000:
        raise invalid(f"pageSize must be in [1, 1000], got {size}", LIST_DOCS)
    terms = parse_filter(call.body["filter"]) if call.body.get("filter") else []
    found = [e for name in names for e in audit_entries(call, name.split("/")[1]) if matches(e, terms)]
    found.sort(
        key=lambda e: _time(e["timestamp"], "timestamp").astimezone(timezone.utc),
        reverse=order == "timestamp desc",
    )
    return {"entries": found[:size]} if found else {}


def register(router: Router) -> None:
    router.add(Collection("entries", verbs={":list": _list}))
