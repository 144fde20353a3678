"""Vertex ML Metadata and Vertex AI TensorBoard: what Vertex AI Experiments is made of.

Why both in one module: ``aiplatform.start_run``, ``log_params``, ``log_metrics``,
``log_time_series_metrics`` and ``get_experiment_df`` are client-side code over two
services. An experiment is a metadata *context* with the schema
``system.Experiment``; a run is a context with ``system.ExperimentRun``, a child of
the experiment, whose parameters and metrics live in its ``metadata``; its time
series live in a TensorBoard experiment and run that mirror them
(https://cloud.google.com/vertex-ai/docs/experiments/intro-vertex-ai-experiments).
The stand-in stores what the SDK writes and answers its queries, so everything here
runs locally and faithfully: nothing is simulated.
"""

from __future__ import annotations

import re
import weakref
from collections import defaultdict
from typing import Any

from ds500.localcloud.errors import GoogleError, invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import Store, now

__all__ = ["matches_metadata_filter", "register"]

METADATA_DOCS = "https://cloud.google.com/vertex-ai/docs/ml-metadata/introduction"
FILTER_DOCS = "https://cloud.google.com/vertex-ai/docs/ml-metadata/analyzing#filters"
TENSORBOARD_DOCS = "https://cloud.google.com/vertex-ai/docs/experiments/tensorboard-introduction"
TIME_SERIES_DOCS = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.tensorboards.experiments.runs.timeSeries"
_RESOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_V = "google.cloud.aiplatform.{version}."
_STORE = "projects/locations/metadataStores"
_BOARD = "projects/locations/tensorboards"


# -- list filters (https://google.aip.dev/160, as Vertex ML Metadata reads them) ----------
_TERM = re.compile(
    r'^(?:(?P<field>[\w.]+)\s*=\s*"(?P<value>[^"]*)"'
    r'|in_context\("(?P<context>[^"]+)"\)'
    r'|parent_contexts:(?P<parents>"[^"]+"(?:,"[^"]+")*)'
    r"|(?P<bool>[\w.]+)\s*=\s*(?P<truth>true|false))$"
)


def _split(text: str, word: str) -> list[str]:
    """Split on `` AND `` / `` OR `` outside parentheses and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    token = f" {word} "
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(token, i):
            parts.append(text[start:i])
            start = i + len(token)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _field(resource: dict[str, Any], dotted: str) -> Any:
    value: Any = resource
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        head, *rest = part.split("_")
        value = value.get(head + "".join(p.capitalize() for p in rest), value.get(part))
    return value


def matches_metadata_filter(call: Call, resource: dict[str, Any], text: str) -> bool:
    """The filters the SDK sends to Vertex ML Metadata and Tensorboard lists.

    Supported: ``field="value"`` (``schema_title``, ``display_name``, ``uri`` ...),
    ``in_context("context name")``, ``parent_contexts:"name","name"``, ``field=true``,
    joined by ``AND`` and ``OR`` with parentheses. Anything else is refused with the
    filter syntax page, rather than silently matching everything.
    """
    text = text.strip()
    ors = _split(text, "OR")
    if len(ors) > 1:
        return any(matches_metadata_filter(call, resource, part) for part in ors)
    ands = _split(text, "AND")
    if len(ands) > 1:
        return all(matches_metadata_filter(call, resource, part) for part in ands)
    if text.startswith("(") and text.endswith(")"):
        return matches_metadata_filter(call, resource, text[1:-1])
    found = _TERM.match(text)
    if not found:
        raise invalid(f"the local stand-in cannot read the metadata filter term {text!r}", FILTER_DOCS)
    if found.group("field"):
        return str(_field(resource, found.group("field"))) == found.group("value")
    if found.group("context"):
        return found.group("context") in _hidden(call, resource["name"])["contexts"]
    if found.group("parents"):
        wanted = set(re.findall(r'"([^"]+)"', found.group("parents")))
        return bool(wanted & set(resource.get("parentContexts", ())))
    return str(bool(_field(resource, found.group("bool")))).lower() == found.group("truth")


# What the API keeps but does not return as fields of the resource: which contexts an
# artifact or execution belongs to, an execution's events, a time series' points.
# Keyed by store (one per stand-in), then by resource name; reset when a name is created.
_HIDDEN: weakref.WeakKeyDictionary[Store, dict[str, dict[str, list[Any]]]] = weakref.WeakKeyDictionary()


def _hidden(call: Call, name: str) -> dict[str, list[Any]]:
    """The hidden lists of ``name`` (``contexts``, ``events``, ``points``)."""
    table = _HIDDEN.setdefault(call.cloud.store, {})
    return table.setdefault(name, defaultdict(list))


# -- Vertex ML Metadata -------------------------------------------------------------------
def _check_id(call: Call, id_param: str) -> None:
    resource_id = call.query.get(id_param)
    if resource_id and not _RESOURCE_ID.match(resource_id):
        raise invalid(
            f"{id_param} {resource_id!r} must be 1-128 characters of lowercase letters, digits and "
            "hyphens, starting with a letter or digit",
            METADATA_DOCS,
        )


def _validate_node(id_param: str) -> Any:
    def validate(call: Call, body: dict[str, Any]) -> None:
        _check_id(call, id_param)
        if not body.get("schemaTitle"):
            raise invalid("schemaTitle is required (e.g. 'system.ExperimentRun')", METADATA_DOCS)

    return validate


def _node_defaults(call: Call, node: dict[str, Any]) -> dict[str, Any]:
    _HIDDEN.setdefault(call.cloud.store, {}).pop(node["name"], None)
    node.setdefault("schemaVersion", "0.0.1")
    node.setdefault("metadata", {})
    node["etag"] = call.cloud.store.new_id()
    return node


def _store_name(name: str) -> str:
    return name.split("/contexts/")[0].split("/artifacts/")[0].split("/executions/")[0]


def _add_children(call: Call) -> dict[str, Any]:
    """``contexts/{id}:addContextChildren``: the children get this context as a parent."""
    store = call.cloud.store
    store.get(call.name)
    for child in call.body.get("childContexts", []):
        if child == call.name:
            raise invalid("a context cannot be its own child (the context graph is acyclic)", METADATA_DOCS)
        parents = store.get(child).get("parentContexts", [])
        if call.name not in parents:
            store.update(child, parentContexts=[*parents, call.name], updateTime=now())
    return {}


def _add_artifacts_and_executions(call: Call) -> dict[str, Any]:
    """``contexts/{id}:addContextArtifactsAndExecutions``: attribution, read by ``in_context(...)``."""
    store = call.cloud.store
    store.get(call.name)
    for name in [*call.body.get("artifacts", []), *call.body.get("executions", [])]:
        store.get(name)
        contexts = _hidden(call, name)["contexts"]
        if call.name not in contexts:
            contexts.append(call.name)
    return {}


def _add_execution_events(call: Call) -> dict[str, Any]:
    """``executions/{id}:addExecutionEvents``: input and output artifacts of an execution."""
    call.cloud.store.get(call.name)
    for event in call.body.get("events", []):
        call.cloud.store.get(event.get("artifact", ""))
        _hidden(call, call.name)["events"].append(event)
    return {}


def _lineage(call: Call) -> dict[str, Any]:
    """``contexts/{id}:queryContextLineageSubgraph``: the context's artifacts, executions and events."""
    store = call.cloud.store
    store.get(call.name)
    root = _store_name(call.name)
    inside = {
        kind: [r for r in store.children(root, kind) if call.name in _hidden(call, r["name"])["contexts"]]
        for kind in ("artifacts", "executions")
    }
    events = [
        {**e, "execution": x["name"]}
        for x in inside["executions"]
        for e in _hidden(call, x["name"])["events"]
    ]
    return {**inside, "events": events}


def _metadata_collections() -> list[Collection]:
    node = dict(on_create=_node_defaults, matches=matches_metadata_filter)
    return [
        Collection(
            _STORE, _V + "MetadataStore", id_param="metadataStoreId", lro_create=True, lro_delete=True
        ),
        Collection(
            f"{_STORE}/contexts",
            _V + "Context",
            id_param="contextId",
            lro_delete=True,
            verbs={
                "addContextChildren": _add_children,
                "addContextArtifactsAndExecutions": _add_artifacts_and_executions,
                "queryContextLineageSubgraph": _lineage,
            },
            **{**node, "validate": _validate_node("contextId")},
        ),
        Collection(
            f"{_STORE}/artifacts",
            _V + "Artifact",
            id_param="artifactId",
            lro_delete=True,
            **{**node, "validate": _validate_node("artifactId")},
        ),
        Collection(
            f"{_STORE}/executions",
            _V + "Execution",
            id_param="executionId",
            lro_delete=True,
            verbs={"addExecutionEvents": _add_execution_events},
            **{**node, "validate": _validate_node("executionId")},
        ),
    ]


# -- Vertex AI TensorBoard --------------------------------------------------------------
def _tensorboard_defaults(call: Call, board: dict[str, Any]) -> dict[str, Any]:
    board_id = board["name"].rsplit("/", 1)[-1]
    board["blobStoragePathPrefix"] = f"cloud-ai-platform-local-stand-in/tensorboard-{board_id}"
    board.setdefault("runCount", 0)
    board["etag"] = call.cloud.store.new_id()
    return board


def _validate_tensorboard(call: Call, body: dict[str, Any]) -> None:
    from ds500.localcloud import validation

    validation.check_region(call.location, "Vertex AI TensorBoard")
    if not body.get("displayName"):
        raise invalid("displayName is required to create a Tensorboard", TENSORBOARD_DOCS)


def _validate_child(id_param: str) -> Any:
    def validate(call: Call, body: dict[str, Any]) -> None:
        _check_id(call, id_param)
        call.cloud.store.get(call.parent)  # the parent must exist

    return validate


def _validate_time_series(call: Call, body: dict[str, Any]) -> None:
    _check_id(call, "tensorboardTimeSeriesId")
    call.cloud.store.get(call.parent)
    if not body.get("displayName"):
        raise invalid("displayName is required to create a TensorboardTimeSeries", TIME_SERIES_DOCS)
    if body.get("valueType") in (None, "VALUE_TYPE_UNSPECIFIED"):
        raise invalid("valueType is required (SCALAR, TENSOR or BLOB_SEQUENCE)", TIME_SERIES_DOCS)
    taken = {s["displayName"] for s in call.cloud.store.children(call.parent, "timeSeries")}
    if body["displayName"] in taken:
        raise GoogleError(409, f"a time series named {body['displayName']!r} already exists in {call.parent}")


def _reset_points(call: Call, series: dict[str, Any]) -> dict[str, Any]:
    _HIDDEN.setdefault(call.cloud.store, {}).pop(series["name"], None)
    return series


def _batch_create(kind: str) -> Any:
    """``{parent}:batchCreate`` for runs and time series: each request is one create."""

    def handler(call: Call) -> dict[str, Any]:
        router: Router = call.cloud.router
        made = []
        for request in call.body.get("requests", []):
            parent = request.get("parent") or call.name or call.parent
            body = request.get(f"tensorboard{kind}", {})
            id_param = f"tensorboard{kind}Id"
            collection = router.collections[
                f"{_BOARD}/experiments/runs" + ("/timeSeries" if kind == "TimeSeries" else "")
            ]
            sub = Call(
                "POST",
                call.version,
                parent,
                collection.path,
                "",
                parent,
                "",
                body,
                {id_param: request[id_param]} if request.get(id_param) else {},
                call.cloud,
            )
            made.append(Router.create(collection, sub))
        return {f"tensorboard{kind}": made}

    return handler


def _points(call: Call, run: str, series_data: list[dict[str, Any]]) -> None:
    """Append the points of ``timeSeriesData`` to the run's time series (``_points``)."""
    store = call.cloud.store
    for data in series_data:
        name = f"{run}/timeSeries/{data.get('tensorboardTimeSeriesId', '')}"
        store.get(name)
        points = _hidden(call, name)["points"]
        points.extend(data.get("values", []))
        steps = [int(p.get("step", 0)) for p in points]
        store.update(
            name, updateTime=now(), metadata={"maxStep": str(max(steps, default=0)), "maxWallTime": now()}
        )


def _write_run(call: Call) -> dict[str, Any]:
    """``runs/{id}:write`` (WriteTensorboardRunData)."""
    _points(call, call.name, call.body.get("timeSeriesData", []))
    return {}


def _write_experiment(call: Call) -> dict[str, Any]:
    """``experiments/{id}:write`` (WriteTensorboardExperimentData): one request per run."""
    for request in call.body.get("writeRunDataRequests", []):
        _points(call, request["tensorboardRun"], request.get("timeSeriesData", []))
    return {}


def _series_data(call: Call, name: str) -> dict[str, Any]:
    series = call.cloud.store.get(name)
    return {
        "tensorboardTimeSeriesId": name.rsplit("/", 1)[-1],
        "valueType": series.get("valueType", "SCALAR"),
        "values": list(_hidden(call, name)["points"]),
    }


def _read(call: Call) -> dict[str, Any]:
    """``timeSeries/{id}:read``: every point (the stand-in does not down-sample)."""
    return {"timeSeriesData": _series_data(call, call.name)}


def _batch_read(call: Call) -> dict[str, Any]:
    """``tensorboards/{id}:batchRead?timeSeries=...``."""
    names = call.query.get("timeSeries", "")
    return {"timeSeriesData": [_series_data(call, n) for n in names.split(",") if n]}


def _tensorboard_collections() -> list[Collection]:
    common = dict(matches=matches_metadata_filter)
    return [
        Collection(
            _BOARD,
            _V + "Tensorboard",
            lro_create=True,
            lro_delete=True,
            validate=_validate_tensorboard,
            on_create=_tensorboard_defaults,
            verbs={"GET batchRead": _batch_read},
            **common,
        ),
        Collection(
            f"{_BOARD}/experiments",
            _V + "TensorboardExperiment",
            id_param="tensorboardExperimentId",
            lro_delete=True,
            validate=_validate_child("tensorboardExperimentId"),
            list_field="tensorboardExperiments",
            verbs={"write": _write_experiment, "batchCreate": _batch_create("TimeSeries")},
            **common,
        ),
        Collection(
            f"{_BOARD}/experiments/runs",
            _V + "TensorboardRun",
            id_param="tensorboardRunId",
            lro_delete=True,
            validate=_validate_child("tensorboardRunId"),
            list_field="tensorboardRuns",
            verbs={"write": _write_run, ":batchCreate": _batch_create("Run")},
            **common,
        ),
        Collection(
            f"{_BOARD}/experiments/runs/timeSeries",
            _V + "TensorboardTimeSeries",
            id_param="tensorboardTimeSeriesId",
            lro_delete=True,
            validate=_validate_time_series,
            list_field="tensorboardTimeSeries",
            on_create=_reset_points,
            verbs={"GET read": _read},
            **common,
        ),
    ]


def register(router: Router) -> None:
    router.add(*_metadata_collections(), *_tensorboard_collections())
