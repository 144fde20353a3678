"""Vertex AI Feature Store (the current one): feature groups, features, online stores, feature views.

What is faithful here: the resources, their names and long-running operations, the
rules below (each with its page), ``force`` on deletes, syncs and reads by key, and
IAM policies on feature views. What is simulated: a feature view *sync* copies the
latest values per entity from the feature group's BigQuery table into Bigtable; the
stand-in has no BigQuery, so a sync is recorded with ``rowSynced: 0`` and a
``finalStatus`` message that says so, and a read (``fetchFeatureValues``) answers as
Google Cloud answers for a key that was never synced: 404 NOT_FOUND.
"""

from __future__ import annotations

import re
from typing import Any

from ds500.localcloud import validation
from ds500.localcloud.errors import GoogleError, failed_precondition, invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

FS_DOCS = "https://cloud.google.com/vertex-ai/docs/featurestore/latest/overview"
GROUP_DOCS = "https://cloud.google.com/vertex-ai/docs/featurestore/latest/create-featuregroup"
STORE_DOCS = "https://cloud.google.com/vertex-ai/docs/featurestore/latest/create-onlinestore"
VIEW_DOCS = "https://cloud.google.com/vertex-ai/docs/featurestore/latest/create-featureview"
SERVE_DOCS = "https://cloud.google.com/vertex-ai/docs/featurestore/latest/serve-feature-values"
IAM_DOCS = "https://cloud.google.com/vertex-ai/docs/featurestore/latest/control-access"
ROLES_DOCS = "https://cloud.google.com/iam/docs/roles-permissions/aiplatform"
BIGTABLE_DOCS = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.featureOnlineStores#autoscaling"

_ID = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
_BQ_URI = re.compile(r"^bq://[a-z][a-z0-9-]{4,28}[a-z0-9]\.\w{1,1024}\.[\w$-]{1,1024}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")
#: predefined roles that make sense on a feature view (Vertex AI roles page, plus the basic roles).
FEATURE_VIEW_ROLES = {
    "roles/aiplatform.admin",
    "roles/aiplatform.user",
    "roles/aiplatform.viewer",
    "roles/aiplatform.featurestoreAdmin",
    "roles/aiplatform.featurestoreDataViewer",
    "roles/aiplatform.featurestoreDataWriter",
    "roles/aiplatform.featurestoreResourceViewer",
    "roles/aiplatform.featurestoreUser",
    "roles/aiplatform.featureOnlineStoreUser",
    "roles/owner",
    "roles/editor",
    "roles/viewer",
}
# Principals a Feature Store policy can name: users, groups, domains and service accounts.
_MEMBER = re.compile(
    r"^(user:[^@\s]+@[\w.-]+\.\w+|group:[^@\s]+@[\w.-]+\.\w+|domain:[\w.-]+\.\w+"
    r"|serviceAccount:[a-z][a-z0-9-]{4,28}[a-z0-9]@[\w.-]+\.gserviceaccount\.com)$"
)


def check_resource_id(resource_id: str, what: str, docs: str) -> None:
    """Feature Store ids: lowercase letters, digits and ``_``, not starting with a digit, at most 128."""
    if resource_id and not _ID.match(resource_id):
        raise invalid(
            f"{what} id {resource_id!r} is invalid: use lowercase letters, digits and '_', "
            "not starting with a digit (at most 128 characters)",
            docs,
        )


# -- feature groups and features ---------------------------------------------------------
def _validate_group(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    check_resource_id(call.query.get("featureGroupId", ""), "featureGroup", GROUP_DOCS)
    source = body.get("bigQuery") or {}
    uri = (source.get("bigQuerySource") or {}).get("inputUri", "")
    if not _BQ_URI.match(uri):
        raise invalid(
            f"bigQuery.bigQuerySource.inputUri {uri!r} must name a BigQuery table or view as "
            "'bq://PROJECT.DATASET.TABLE'",
            GROUP_DOCS,
        )
    columns = source.get("entityIdColumns") or []
    if not columns:
        raise invalid(
            "bigQuery.entityIdColumns is empty: name the column(s) that identify an entity "
            "(without it, the source must have a column called entity_id)",
            GROUP_DOCS,
        )
    for column in columns:
        if not _COLUMN.match(column):
            raise invalid(f"entity id column {column!r} is not a BigQuery column name", GROUP_DOCS)


def _validate_feature(call: Call, body: dict[str, Any]) -> None:
    call.cloud.store.get(call.parent)  # 404 when the feature group does not exist
    feature_id = call.query.get("featureId", "")
    check_resource_id(feature_id, "feature", GROUP_DOCS)
    column = body.get("versionColumnName") or feature_id
    if not _COLUMN.match(column):
        raise invalid(f"versionColumnName {column!r} is not a BigQuery column name", GROUP_DOCS)


def _delete_with_children(children: str, what: str, docs: str) -> Any:
    """A DELETE that refuses a resource with ``children`` unless ``force=true``, as Feature Store does."""

    def delete(call: Call) -> dict[str, Any]:
        store = call.cloud.store
        store.get(call.name)
        inside = store.children(call.name, children)
        if inside and call.query.get("force", "").lower() != "true":
            raise failed_precondition(
                f"{what} {call.name} still has {len(inside)} {children}; delete them "
                f"first or pass force=True (rule: {docs})"
            )
        store.delete(call.name)
        return store.operation(call.name, None)

    return delete


# -- online stores and feature views -------------------------------------------------------
def _validate_store(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    check_resource_id(call.query.get("featureOnlineStoreId", ""), "featureOnlineStore", STORE_DOCS)
    if "optimized" in body:
        raise invalid(
            "the local stand-in models Bigtable online serving only; Optimized online serving "
            "is deprecated (see Vertex AI deprecations)",
            "https://cloud.google.com/vertex-ai/docs/deprecations",
        )
    scaling = (body.get("bigtable") or {}).get("autoScaling")
    if not scaling:
        raise invalid("bigtable.autoScaling is required for Bigtable online serving", BIGTABLE_DOCS)
    low, high = int(scaling.get("minNodeCount") or 0), int(scaling.get("maxNodeCount") or 0)
    if low < 1:
        raise invalid(f"bigtable.autoScaling.minNodeCount must be at least 1, got {low}", BIGTABLE_DOCS)
    if high < low:
        raise invalid(
            f"bigtable.autoScaling.maxNodeCount ({high}) must not be smaller than minNodeCount ({low})",
            BIGTABLE_DOCS,
        )
    target = int(scaling.get("cpuUtilizationTarget") or 50)
    if not 10 <= target <= 80:
        raise invalid(
            f"bigtable.autoScaling.cpuUtilizationTarget must be between 10 and 80 (percent), got {target}",
            BIGTABLE_DOCS,
        )


def _validate_view(call: Call, body: dict[str, Any]) -> None:
    store = call.cloud.store
    store.get(call.parent)  # 404 when the online store does not exist
    check_resource_id(call.query.get("featureViewId", ""), "featureView", VIEW_DOCS)
    registry = body.get("featureRegistrySource")
    if not registry and not body.get("bigQuerySource"):
        raise invalid(
            "a feature view needs a featureRegistrySource (feature groups and features) or a bigQuerySource",
            VIEW_DOCS,
        )
    location = call.parent.split("/featureOnlineStores/")[0]
    for group in (registry or {}).get("featureGroups") or []:
        group_name = f"{location}/featureGroups/{group.get('featureGroupId', '')}"
        if not store.exists(group_name):
            raise GoogleError(
                404,
                f"feature group {group_name} not found: register it before a view uses it "
                f"(rule: {VIEW_DOCS})",
            )
        if not group.get("featureIds"):
            raise invalid(f"featureGroups[{group.get('featureGroupId')}].featureIds is empty", VIEW_DOCS)
        for feature_id in group["featureIds"]:
            if not store.exists(f"{group_name}/features/{feature_id}"):
                raise GoogleError(
                    404,
                    f"feature {feature_id} is not registered in {group_name} "
                    f"(create it with create_feature first; rule: {VIEW_DOCS})",
                )
    cron = (body.get("syncConfig") or {}).get("cron")
    if cron:
        validation.check_cron(cron)


def _record_sync(store: Any, view: str) -> str:
    """Store one finished sync of ``view``; it copies nothing (the online store does not read the
    stand-in's BigQuery tables)."""
    name = f"{view}/featureViewSyncs/{store.new_id()}"
    started = now()
    store.put(
        name,
        {
            "createTime": started,
            "runTime": {"startTime": started, "endTime": now()},
            "finalStatus": {
                "code": 0,
                "message": "simulated by the local stand-in: the online store does not read "
                "the stand-in's BigQuery tables, so no rows were copied into it",
            },
            "syncSummary": {"rowSynced": "0", "totalSlot": "0"},
        },
    )
    return name


def _sync(call: Call) -> dict[str, Any]:
    """``{featureView}:sync``: start (here: record) one sync and answer its name."""
    call.cloud.store.get(call.name)
    return {"featureViewSync": _record_sync(call.cloud.store, call.name)}


def _fetch(call: Call) -> dict[str, Any]:
    """``{featureView}:fetchFeatureValues``: one entity's latest values, or 404 when it was never synced."""
    call.cloud.store.get(call.name)
    key = call.body.get("dataKey") or {}
    entity = key.get("key") or "/".join((key.get("compositeKey") or {}).get("parts") or [])
    if not entity:
        raise invalid("dataKey.key is required: the entity id to read", SERVE_DOCS)
    synced = sum(
        int((s.get("syncSummary") or {}).get("rowSynced") or 0)
        for s in call.cloud.store.children(call.name, "featureViewSyncs")
    )
    raise GoogleError(
        404,
        f"Requested entity was not found: {entity!r} is not in feature view {call.name} "
        f"({synced} rows synced so far; a feature view serves only after a sync has copied "
        f"the entity; rule: {SERVE_DOCS})",
    )


def check_policy(policy: dict[str, Any]) -> None:
    """Bindings of a Feature Store IAM policy: known predefined roles, well-formed principals."""
    for binding in policy.get("bindings") or []:
        role = binding.get("role", "")
        if role not in FEATURE_VIEW_ROLES:
            raise invalid(
                f"role {role!r} is not a predefined role that applies to a feature view "
                f"(known here: {sorted(FEATURE_VIEW_ROLES)})",
                ROLES_DOCS,
            )
        members = binding.get("members") or []
        if not members:
            raise invalid(f"the binding for {role} has no members", IAM_DOCS)
        for member in members:
            if not _MEMBER.match(member):
                raise invalid(
                    f"member {member!r} cannot be granted on a Feature Store resource: use "
                    "'user:EMAIL', 'group:EMAIL', 'domain:DOMAIN' or "
                    "'serviceAccount:NAME@PROJECT.iam.gserviceaccount.com'",
                    IAM_DOCS,
                )


def _set_iam_policy(call: Call) -> dict[str, Any]:
    call.cloud.store.get(call.name)
    policy = dict(call.body.get("policy") or {})
    check_policy(policy)
    policy.update(etag="QkxPQ0s=", version=int(policy.get("version") or 1))
    stored = call.cloud.store.put(f"{call.name}/iamPolicy", policy)
    stored.pop("name", None)
    return stored


def _get_iam_policy(call: Call) -> dict[str, Any]:
    call.cloud.store.get(call.name)
    name = f"{call.name}/iamPolicy"
    policy = call.cloud.store.get(name) if call.cloud.store.exists(name) else {"etag": "ACAB"}
    policy.pop("name", None)
    return policy


def _view_created(call: Call, view: dict[str, Any]) -> dict[str, Any]:
    """``runSyncImmediately``: the first sync starts with the view."""
    if call.query.get("runSyncImmediately", "").lower() == "true":
        _record_sync(call.cloud.store, view["name"])
    return view


def register(router: Router) -> None:
    v = "google.cloud.aiplatform.{version}."
    router.add(
        Collection(
            "projects/locations/featureGroups",
            v + "FeatureGroup",
            id_param="featureGroupId",
            lro_create=True,
            lro_update=True,
            required=("bigQuery",),
            validate=_validate_group,
            methods={"DELETE": _delete_with_children("features", "feature group", GROUP_DOCS)},
        ),
        Collection(
            "projects/locations/featureGroups/features",
            v + "Feature",
            id_param="featureId",
            lro_create=True,
            lro_delete=True,
            lro_update=True,
            validate=_validate_feature,
        ),
        Collection(
            "projects/locations/featureOnlineStores",
            v + "FeatureOnlineStore",
            id_param="featureOnlineStoreId",
            lro_create=True,
            lro_update=True,
            validate=_validate_store,
            initial_state="STABLE",
            methods={"DELETE": _delete_with_children("featureViews", "feature online store", STORE_DOCS)},
        ),
        Collection(
            "projects/locations/featureOnlineStores/featureViews",
            v + "FeatureView",
            id_param="featureViewId",
            lro_create=True,
            lro_delete=True,
            lro_update=True,
            validate=_validate_view,
            on_create=_view_created,
            verbs={
                "sync": _sync,
                "fetchFeatureValues": _fetch,
                "setIamPolicy": _set_iam_policy,
                "getIamPolicy": _get_iam_policy,
            },
        ),
        Collection(
            "projects/locations/featureOnlineStores/featureViews/featureViewSyncs", v + "FeatureViewSync"
        ),
    )
