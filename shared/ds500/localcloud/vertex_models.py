"""Vertex AI serving: the Model Registry, endpoints and batch prediction jobs.

For other service modules and labs, the shapes are Vertex AI's own
(https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models):

- ``projects/{p}/locations/{l}/models/{id}`` is a registry entry; every version is a
  ``Model`` with the same ``name`` and its own ``versionId`` ("1", "2" ...) and
  ``versionAliases`` (unique within the model; exactly one version holds ``default``).
  ``GET models/{id}`` answers the default version, ``models/{id}@{version or alias}``
  any version. Versions are stored as ``models/{id}/versions/{versionId}``; another
  module that registers a model calls :func:`register_version`.
- ``endpoints/{id}`` holds ``deployedModels`` and ``trafficSplit``; ``:predict``
  runs the lab 10 service (:mod:`ds500.serving`, the custom-container contract:
  instances in, predictions out) on the model's ``artifactUri`` files read from the
  local bucket, loaded once per deployed model and kept until it is undeployed.
  No image is pulled and no replica is started: the stand-in serves every model with
  ``ds500.serving`` in-process, and each deployed model's ``status.message`` says so.
- ``batchPredictionJobs`` read JSON Lines from the local bucket, score them through
  the same service in batches, and write
  ``{prefix}/prediction-{model}-{time}/predictions_0001.jsonl`` back to it.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import random
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from ds500.localcloud import jobs, validation
from ds500.localcloud.errors import GoogleError, failed_precondition, invalid, not_found
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import Store, now

__all__ = ["register", "register_version", "resolve_version"]

MODEL_DOCS = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models#Model"
VERSION_DOCS = "https://cloud.google.com/vertex-ai/docs/model-registry/versioning"
DELETE_DOCS = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/delete"
DEPLOY_DOCS = (
    "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints/deployModel"
)
UNDEPLOY_DOCS = (
    "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints/undeployModel"
)
ENDPOINT_DELETE_DOCS = "https://cloud.google.com/vertex-ai/docs/predictions/undeploy-model"
BATCH_DOCS = (
    "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.batchPredictionJobs"
)
# What Vertex AI fills in (output only) for a model served by a custom container.
_CUSTOM_CONTAINER_SUPPORT = {
    "supportedDeploymentResourcesTypes": ["DEDICATED_RESOURCES"],
    "supportedInputStorageFormats": ["jsonl", "csv", "tf-record", "tf-record-gzip", "file-list", "bigquery"],
    "supportedOutputStorageFormats": ["jsonl", "bigquery"],
}
_ALIAS = re.compile(r"^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$")
_SERVERS: dict[tuple[int, str], Any] = {}  # (id(store), deployed model id or model@version) -> client
_SERVERS_LOCK = threading.Lock()
_SERVING = contextvars.ContextVar("ds500_stand_in_serving", default=False)


class _ContainerLog(logging.Filter):
    """Keep the served model's request log out of the caller's output.

    On Vertex AI the container's stdout goes to Cloud Logging, not back to the
    client; the stand-in runs the container's code in the notebook's process, so
    its JSON log lines are dropped while the stand-in is the caller.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not _SERVING.get()


_FILTER = _ContainerLog()


# -- the Model Registry -----------------------------------------------------------------
def _split_ref(name: str) -> tuple[str, str]:
    """``models/1@2`` -> (``models/1``, ``2``); no ``@`` -> (name, ``"default"``)."""
    base, _, ref = name.partition("@")
    return base, ref or "default"


def _versions(store: Store, model: str) -> list[dict[str, Any]]:
    return sorted(store.children(model, "versions"), key=lambda v: int(v["versionId"]))


def resolve_version(store: Store, name: str) -> dict[str, Any]:
    """The ``Model`` version named ``models/{id}``, ``models/{id}@{versionId}`` or ``@{alias}``; else 404."""
    base, ref = _split_ref(name)
    for version in _versions(store, base):
        if ref == version["versionId"] or ref in version.get("versionAliases", []):
            return {**version, "name": base}
    raise not_found(name)


def _sync_entry(store: Store, model: str) -> None:
    """Keep ``models/{id}`` (what get and list answer) equal to the default version."""
    default = resolve_version(store, model)
    store.put(model, {k: v for k, v in default.items() if k != "name"})


def _check_model(call: Call, model: dict[str, Any]) -> None:
    """What Vertex AI checks on upload: name, labels, serving container, artifacts."""
    if not model.get("displayName"):
        raise invalid("model.displayName is required", MODEL_DOCS)
    validation.common(model)
    container = model.get("containerSpec") or {}
    validation.check_image_uri(container.get("imageUri", ""), "model.containerSpec.imageUri")
    artifacts = model.get("artifactUri", "")
    if artifacts:
        if not artifacts.startswith("gs://"):
            raise invalid(
                f"model.artifactUri {artifacts!r} must be a Cloud Storage folder such as "
                "'gs://bucket/model/1'",
                MODEL_DOCS,
            )
        if not call.cloud.storage.list(artifacts.rstrip("/") + "/"):
            raise not_found(
                f"model artifacts under {artifacts} (artifactUri is a folder: upload the files first)"
            )
    for alias in model.get("versionAliases", []):
        if alias != "default" and not _ALIAS.match(alias):
            raise invalid(
                f"version alias {alias!r} must match [a-z][a-zA-Z0-9-]{{0,126}}[a-z0-9] "
                "(so that it cannot be mistaken for a version id)",
                MODEL_DOCS,
            )


def register_version(
    call: Call, model: dict[str, Any], parent_model: str = "", model_id: str = ""
) -> dict[str, Any]:
    """Store a new model version (validated) and return it; version 1 unless ``parent_model`` is given.

    Aliases are unique within a model: ``default`` moves to the new version when it
    asks for it (and the first version always holds it); any other alias already held
    by another version is refused with 400.
    """
    _check_model(call, model)
    store = call.cloud.store
    aliases = list(dict.fromkeys(model.get("versionAliases", [])))
    if parent_model:
        name = _split_ref(parent_model)[0]
        existing = _versions(store, name)
        if not existing:
            raise not_found(parent_model)
        taken = {a: v["versionId"] for v in existing for a in v.get("versionAliases", []) if a != "default"}
        clash = [a for a in aliases if a in taken]
        if clash:
            raise invalid(
                f"version alias {clash[0]!r} is already held by version {taken[clash[0]]} of {name}: "
                "an alias names one version (move it with mergeVersionAliases)",
                VERSION_DOCS,
            )
        version_id = str(int(existing[-1]["versionId"]) + 1)
        created = existing[0]["createTime"]
    else:
        name = f"{call.parent}/models/{model_id or store.new_id()}"
        if store.exists(name):
            raise GoogleError(409, f"{name} already exists")
        version_id, created = "1", now()
        aliases = ["default", *[a for a in aliases if a != "default"]]
    if "default" in aliases and parent_model:
        for old in existing:
            if "default" in old.get("versionAliases", []):
                store.update(
                    f"{name}/versions/{old['versionId']}",
                    versionAliases=[a for a in old["versionAliases"] if a != "default"],
                )
    stamp = now()
    version = {
        **model,
        "versionId": version_id,
        "versionAliases": aliases,
        "createTime": created,
        "updateTime": stamp,
        "versionCreateTime": stamp,
        "versionUpdateTime": stamp,
        **_CUSTOM_CONTAINER_SUPPORT,
    }
    store.put(f"{name}/versions/{version_id}", version)
    _sync_entry(store, name)
    return {**version, "name": name}


def _upload(call: Call) -> dict[str, Any]:
    """``POST models:upload``: an operation whose response is UploadModelResponse."""
    body = call.parsed("google.cloud.aiplatform.{version}.UploadModelRequest")
    validation.check_region(call.location)
    version = register_version(
        call, body.get("model") or {}, body.get("parentModel", ""), body.get("modelId", "")
    )
    response = {"model": version["name"], "modelVersionId": version["versionId"]}
    return call.cloud.store.operation(
        version["name"], response, f"google.cloud.aiplatform.{call.version}.UploadModelResponse"
    )


def _get_model(call: Call) -> dict[str, Any]:
    return resolve_version(call.cloud.store, call.name)


def _list_versions(call: Call) -> dict[str, Any]:
    store = call.cloud.store
    base = _split_ref(call.name)[0]
    store.get(base)  # 404 for an unknown model
    return {"models": [{**v, "name": base} for v in _versions(store, base)]}


def _deployments(store: Store, model: str, version_id: str = "") -> list[str]:
    """Endpoints that serve ``model`` (any version, or ``version_id``)."""
    found = []
    for name in store.names():
        if "/endpoints/" in name and name.count("/") == 5:
            for deployed in store.get(name).get("deployedModels", []):
                if deployed["model"] == model and version_id in ("", deployed.get("modelVersionId")):
                    found.append(name)
                    break
    return found


def _delete_model(call: Call) -> dict[str, Any]:
    """``DELETE models/{id}``: every version goes; refused while a version is deployed."""
    store = call.cloud.store
    if "@" in call.name:
        raise invalid(
            f"{call.name}: delete a version with models/{{id}}@{{version}}:deleteVersion", DELETE_DOCS
        )
    store.get(call.name)
    endpoints = _deployments(store, call.name)
    if endpoints:
        raise failed_precondition(
            f"{call.name} is deployed to {endpoints}: undeploy it before deleting the model "
            f"(rule: {DELETE_DOCS})"
        )
    store.delete(call.name)
    return store.operation(call.name, None)


def _delete_version(call: Call) -> dict[str, Any]:
    """``DELETE models/{id}@{version}:deleteVersion``: not the default version, not while deployed."""
    store = call.cloud.store
    version = resolve_version(store, call.name)
    base = version["name"]
    if "default" in version.get("versionAliases", []):
        raise failed_precondition(
            f"version {version['versionId']} is the default version of {base}: move the "
            f"'default' alias first, or delete the whole model (rule: {VERSION_DOCS})"
        )
    if _deployments(store, base, version["versionId"]):
        raise failed_precondition(
            f"version {version['versionId']} of {base} is deployed: undeploy it first (rule: {DELETE_DOCS})"
        )
    store.delete(f"{base}/versions/{version['versionId']}")
    return store.operation(base, None)


def _merge_aliases(call: Call) -> dict[str, Any]:
    """``models/{id}@{v}:mergeVersionAliases``: add aliases (moved), ``-alias`` removes."""
    store = call.cloud.store
    version = resolve_version(store, call.name)
    base, changes = version["name"], call.body.get("versionAliases", [])
    added = [a for a in changes if not a.startswith("-")]
    removed = {a[1:] for a in changes if a.startswith("-")}
    if "default" in removed:
        raise invalid("the 'default' alias cannot be removed, only moved to another version", VERSION_DOCS)
    _check_model(
        call, {"displayName": "x", "containerSpec": {"imageUri": "gcr.io/x/x"}, "versionAliases": added}
    )
    for other in _versions(store, base):
        if other["versionId"] != version["versionId"]:
            kept = [a for a in other.get("versionAliases", []) if a not in added]
            store.update(f"{base}/versions/{other['versionId']}", versionAliases=kept)
    aliases = [a for a in version.get("versionAliases", []) if a not in removed] + added
    store.update(
        f"{base}/versions/{version['versionId']}",
        versionAliases=list(dict.fromkeys(aliases)),
        versionUpdateTime=now(),
    )
    _sync_entry(store, base)
    return resolve_version(store, f"{base}@{version['versionId']}")


# -- serving: the lab 10 service on the model's artifacts --------------------------------
def _service(call: Call, key: str, model: dict[str, Any], predict_route: str) -> Any:
    """A client of ``ds500.serving``'s app on ``model``'s artifacts, built once per ``key``.

    The artifacts are copied from the local bucket to a folder (as Vertex AI copies
    ``artifactUri`` to ``AIP_STORAGE_URI``), and the app is called in-process through
    Starlette's test client: the real routes, validation and answers, no port.
    """
    from starlette.testclient import TestClient

    from ds500 import serving

    cache_key = (id(call.cloud.store), key)
    with _SERVERS_LOCK:
        if cache_key in _SERVERS:
            return _SERVERS[cache_key]
    artifacts = model.get("artifactUri", "").rstrip("/")
    if not artifacts:
        raise failed_precondition(
            f"{model['name']} has no artifactUri: the local stand-in serves models with "
            "ds500.serving, which loads the model folder from artifactUri"
        )
    folder = Path(tempfile.mkdtemp(prefix="model-", dir=call.cloud.workdir))
    for uri in call.cloud.storage.list(artifacts + "/"):
        relative = uri[len(artifacts) + 1 :]
        if relative and "/" not in relative:
            (folder / relative).write_bytes(call.cloud.storage.read(uri))
    container = model.get("containerSpec") or {}
    try:
        config = serving.ServiceConfig(
            str(folder),
            predict_route=predict_route,
            host="127.0.0.1",
            health_route=container.get("healthRoute") or "/health",
        )
        client = TestClient(serving.create_app(config), raise_server_exceptions=False)
    except (OSError, ValueError) as error:
        raise failed_precondition(f"the model server did not start on {artifacts}: {error}") from error
    client.predict_route = predict_route
    with _SERVERS_LOCK:
        return _SERVERS.setdefault(cache_key, client)


def _forget(call: Call, key: str) -> None:
    with _SERVERS_LOCK:
        _SERVERS.pop((id(call.cloud.store), key), None)


def _as_sent(value: Any) -> Any:
    """JSON as Vertex AI hands it to the container: whole numbers without ``.0``.

    Why: the SDK sends instances as ``google.protobuf.Value`` (numbers are doubles), and
    its Python REST transport writes ``1`` as ``1.0``; Google's servers write whole
    doubles as ``1``, so a container that wants integers gets integers.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_as_sent(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_sent(v) for k, v in value.items()}
    return value


def _ask(client: Any, instances: list[Any], parameters: Any) -> list[Any]:
    """POST the instances to the service; a refusal becomes Google's 400 with the service's message."""
    body: dict[str, Any] = {"instances": _as_sent(instances)}
    if parameters:
        body["parameters"] = _as_sent(parameters)
    logger = logging.getLogger("ds500.serving")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    token = _SERVING.set(True)
    try:
        reply = client.post(client.predict_route, json=body)
    finally:
        _SERVING.reset(token)
    if reply.status_code != 200:
        try:
            message = reply.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = reply.text[:300]
        raise invalid(f"the model server answered {reply.status_code}: {message}")
    return reply.json()["predictions"]


# -- endpoints ----------------------------------------------------------------------------
def _validate_endpoint(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    if not body.get("displayName"):
        raise invalid(
            "endpoint.displayName is required",
            "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints",
        )


def _deploy(call: Call) -> dict[str, Any]:
    """``endpoints/{id}:deployModel``: check resources and the split, start serving, answer an operation."""
    store = call.cloud.store
    endpoint = store.get(call.name)
    body = call.parsed("google.cloud.aiplatform.{version}.DeployModelRequest")
    deployed = dict(body.get("deployedModel") or {})
    model = resolve_version(store, deployed.get("model", ""))
    resources = deployed.get("dedicatedResources")
    if not resources:
        raise invalid(
            "a model with a custom container is served on dedicated resources: set "
            "deployedModel.dedicatedResources (machine type, replica counts)",
            DEPLOY_DOCS,
        )
    validation.check_machine_spec(resources.get("machineSpec") or {}, serving=True)
    validation.check_replicas(resources)
    requested = {k: int(v) for k, v in (body.get("trafficSplit") or {}).items()}
    if requested:  # "0" is the model being deployed
        validation.check_traffic_split(
            requested, {d["id"] for d in endpoint.get("deployedModels", [])} | {"0"}
        )
    deployed_id = str(int(store.new_id()) // 1000)
    split = {deployed_id if k == "0" else k: v for k, v in requested.items()}
    if not split:
        split = dict(endpoint.get("trafficSplit") or {})
    route = (model.get("containerSpec") or {}).get(
        "predictRoute"
    ) or f"/v1/endpoints/{call.name.rsplit('/', 1)[-1]}/deployedModels/{deployed_id}:predict"
    _service(call, deployed_id, model, route)  # the container starts, or the deployment fails
    image = (model.get("containerSpec") or {}).get("imageUri", "")
    deployed.update(
        id=deployed_id,
        model=model["name"],
        modelVersionId=model["versionId"],
        displayName=deployed.get("displayName") or model["displayName"],
        createTime=now(),
        status={
            "message": f"local stand-in: served by ds500.serving in-process in place of {image}; "
            "no replica was started or billed",
            "lastUpdateTime": now(),
            "availableReplicaCount": int(resources.get("minReplicaCount") or 1),
        },
    )
    store.update(
        call.name,
        deployedModels=[*endpoint.get("deployedModels", []), deployed],
        trafficSplit=split,
        updateTime=now(),
    )
    return store.operation(
        call.name, {"deployedModel": deployed}, f"google.cloud.aiplatform.{call.version}.DeployModelResponse"
    )


def _undeploy(call: Call) -> dict[str, Any]:
    """``endpoints/{id}:undeployModel``: a model still carrying traffic cannot go."""
    store = call.cloud.store
    endpoint = store.get(call.name)
    target = str(call.body.get("deployedModelId", ""))
    models = endpoint.get("deployedModels", [])
    if target not in {d["id"] for d in models}:
        raise not_found(f"deployed model {target!r} on {call.name}")
    remaining = [d for d in models if d["id"] != target]
    split = {
        k: int(v) for k, v in (call.body.get("trafficSplit") or endpoint.get("trafficSplit") or {}).items()
    }
    if not remaining:
        split = {}
    elif split.get(target, 0) > 0:
        raise invalid(
            f"deployed model {target} still receives {split[target]} % of the traffic: pass a "
            "trafficSplit that gives it none",
            UNDEPLOY_DOCS,
        )
    split.pop(target, None)
    if remaining:
        validation.check_traffic_split(split, {d["id"] for d in remaining})
    store.update(call.name, deployedModels=remaining, trafficSplit=split, updateTime=now())
    _forget(call, target)
    return store.operation(call.name, {}, f"google.cloud.aiplatform.{call.version}.UndeployModelResponse")


def _delete_endpoint(call: Call) -> dict[str, Any]:
    store = call.cloud.store
    endpoint = store.get(call.name)
    if endpoint.get("deployedModels"):
        ids = [d["id"] for d in endpoint["deployedModels"]]
        raise failed_precondition(
            f"{call.name} still has deployed models {ids}: undeploy them first, or call "
            f"endpoint.delete(force=True) (rule: {ENDPOINT_DELETE_DOCS})"
        )
    store.delete(call.name)
    return store.operation(call.name, None)


def _pick(endpoint: dict[str, Any]) -> str:
    """A deployed model id drawn by the traffic split, reproducibly (seeded by the endpoint and a counter)."""
    split = {k: int(v) for k, v in (endpoint.get("trafficSplit") or {}).items() if int(v) > 0}
    if not split:
        raise failed_precondition(f"{endpoint['name']} has no deployed model that receives traffic")
    with _SERVERS_LOCK:
        rng = _SERVERS.setdefault(
            (0, "rng:" + endpoint["name"]),
            random.Random(int(hashlib.sha256(endpoint["name"].encode()).hexdigest(), 16) % 2**32),
        )
        return rng.choices(sorted(split), weights=[split[k] for k in sorted(split)])[0]


def _predict(call: Call) -> dict[str, Any]:
    """``endpoints/{id}:predict``: route by the traffic split, answer with the lab 10 service."""
    store = call.cloud.store
    endpoint = store.get(call.name)
    instances = call.body.get("instances")
    if not isinstance(instances, list) or not instances:
        raise invalid(
            "instances must be a non-empty list",
            "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints/predict",
        )
    chosen = _pick(endpoint)
    deployed = next(d for d in endpoint["deployedModels"] if d["id"] == chosen)
    model = resolve_version(store, f"{deployed['model']}@{deployed['modelVersionId']}")
    route = (model.get("containerSpec") or {}).get(
        "predictRoute"
    ) or f"/v1/endpoints/{call.name.rsplit('/', 1)[-1]}/deployedModels/{chosen}:predict"
    client = _service(call, chosen, model, route)
    return {
        "predictions": _ask(client, instances, call.body.get("parameters")),
        "deployedModelId": chosen,
        "model": deployed["model"],
        "modelVersionId": deployed["modelVersionId"],
        "modelDisplayName": model["displayName"],
    }


# -- batch prediction ----------------------------------------------------------------------
def _validate_batch(call: Call, job: dict[str, Any]) -> None:
    validation.check_region(call.location)
    resolve_version(call.cloud.store, job.get("model", ""))
    source = job.get("inputConfig") or {}
    if source.get("instancesFormat") != "jsonl":
        raise invalid(
            f"inputConfig.instancesFormat {source.get('instancesFormat')!r}: the local stand-in reads "
            "'jsonl' (Vertex AI also reads csv, bigquery, tf-record, file-list)",
            BATCH_DOCS,
        )
    uris = (source.get("gcsSource") or {}).get("uris") or []
    if not uris:
        raise invalid("inputConfig.gcsSource.uris is required", BATCH_DOCS)
    for uri in uris:
        call.cloud.storage.read(uri)  # 404 when the input file is missing
    output = job.get("outputConfig") or {}
    prefix = (output.get("gcsDestination") or {}).get("outputUriPrefix", "")
    if output.get("predictionsFormat") != "jsonl" or not prefix.startswith("gs://"):
        raise invalid(
            "outputConfig needs predictionsFormat 'jsonl' and gcsDestination.outputUriPrefix gs://...",
            BATCH_DOCS,
        )
    call.cloud.storage.list(prefix)  # 404 when the bucket is missing
    resources = job.get("dedicatedResources")
    if resources:
        validation.check_machine_spec(resources.get("machineSpec") or {}, serving=True)
        if int(resources.get("startingReplicaCount") or 1) > int(resources.get("maxReplicaCount") or 10**6):
            raise invalid(
                "dedicatedResources.startingReplicaCount must not exceed maxReplicaCount", BATCH_DOCS
            )


def _start_batch(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    """PENDING now; RUNNING and SUCCEEDED (or FAILED) once the local scoring is done."""
    store, name, storage = call.cloud.store, job["name"], call.cloud.storage
    model = resolve_version(store, job["model"])
    job.update(modelVersionId=model["versionId"])
    size = int((job.get("manualBatchTuningParameters") or {}).get("batchSize") or 64)

    def run() -> None:
        store.update(name, state="JOB_STATE_RUNNING", startTime=now(), updateTime=now())
        try:
            client = _service(
                call,
                f"{model['name']}@{model['versionId']}",
                model,
                (model.get("containerSpec") or {}).get("predictRoute") or "/predict",
            )
            lines = [
                json.loads(line)
                for uri in job["inputConfig"]["gcsSource"]["uris"]
                for line in storage.read(uri).decode("utf-8").splitlines()
                if line.strip()
            ]
            scored, failed = [], []
            for start in range(0, len(lines), size):
                chunk = lines[start : start + size]
                try:
                    predictions = _ask(client, chunk, job.get("modelParameters"))
                    pairs = zip(chunk, predictions, strict=True)
                    scored += [{"instance": i, "prediction": p} for i, p in pairs]
                except GoogleError as error:
                    failed += [{"instance": i, "error": {"code": 3, "message": error.message}} for i in chunk]
            stamp = job["createTime"][:23] + "Z"
            folder = (
                f"{job['outputConfig']['gcsDestination']['outputUriPrefix'].rstrip('/')}/"
                f"prediction-{model['displayName']}-{stamp}"
            )
            for kind, rows in (("predictions", scored), ("errors", failed)):
                if rows or kind == "predictions":
                    text = "".join(json.dumps(r) + "\n" for r in rows)
                    storage.write(f"{folder}/{kind}_0001.jsonl", text.encode(), "application/jsonl")
            store.update(
                name,
                state="JOB_STATE_SUCCEEDED",
                endTime=now(),
                updateTime=now(),
                outputInfo={"gcsOutputDirectory": folder},
                completionStats={"successfulCount": str(len(scored)), "failedCount": str(len(failed))},
            )
        except GoogleError as error:
            store.update(
                name,
                state="JOB_STATE_FAILED",
                endTime=now(),
                updateTime=now(),
                error={"code": 9, "message": error.message},
            )

    threading.Timer(0.01, run).start()
    return job


def register(router: Router) -> None:
    router.add(
        Collection(
            "projects/locations/models",
            "google.cloud.aiplatform.{version}.Model",
            verbs={
                ":upload": _upload,
                "GET listVersions": _list_versions,
                "DELETE deleteVersion": _delete_version,
                "mergeVersionAliases": _merge_aliases,
            },
            methods={"GET": _get_model, "DELETE": _delete_model},
        ),
        Collection(
            "projects/locations/endpoints",
            "google.cloud.aiplatform.{version}.Endpoint",
            lro_create=True,
            lro_delete=True,
            lro_update=False,
            validate=_validate_endpoint,
            verbs={"deployModel": _deploy, "undeployModel": _undeploy, "predict": _predict},
            methods={"DELETE": _delete_endpoint},
        ),
        Collection(
            "projects/locations/batchPredictionJobs",
            "google.cloud.aiplatform.{version}.BatchPredictionJob",
            lro_delete=True,
            required=("displayName", "model", "inputConfig", "outputConfig"),
            validate=_validate_batch,
            on_create=_start_batch,
            on_get=jobs.wait_until_done,
            initial_state="JOB_STATE_PENDING",
            verbs={"cancel": jobs.cancel},
        ),
    )
