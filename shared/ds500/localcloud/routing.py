"""One generic REST dispatcher for Google's resource-oriented APIs.

Google's APIs follow one design (https://cloud.google.com/apis/design/resources):
collections and resources alternate in the path
(``projects/{p}/locations/{l}/customJobs/{id}``), the standard methods are
POST (create), GET (get or list), PATCH (update) and DELETE on those paths, and
custom methods are ``POST {name}:{verb}``. So each service module only declares its
:class:`Collection` objects, with the rules and the work that make it faithful, and
this module does the rest: ids, create and update times, lists with simple
filters, and long-running operations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ds500.localcloud.errors import GoogleError, already_exists, invalid, unimplemented
from ds500.localcloud.protos import normalize
from ds500.localcloud.store import now

if TYPE_CHECKING:  # pragma: no cover
    from ds500.localcloud.server import LocalCloud

__all__ = ["Call", "Collection", "Router", "camel"]

Handler = Callable[["Call"], dict[str, Any]]
# (method, path, raw body, query, cloud) -> (the request as the log shows it, the JSON answer)
PrefixHandler = Callable[[str, str, bytes, dict[str, str], "LocalCloud"], tuple[Any, dict[str, Any]]]


def camel(snake: str) -> str:
    """``display_name`` -> ``displayName`` (REST JSON uses lowerCamelCase)."""
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass
class Call:
    """One parsed request, as a service handler sees it.

    Attributes:
        method: the HTTP method.
        version: the API version segment (``v1``, ``v1beta1``, ``v2`` ...).
        path: the resource path after the version, without the ``:verb``.
        collection_path: the collection names along the path, e.g.
            ``projects/locations/customJobs`` (the registry key).
        name: the resource name when the path names a resource, else ``""``.
        parent: the parent of the collection when the path names a collection.
        verb: the custom method (``cancel``, ``upload``, ``predict`` ...), or ``""``.
        body: the JSON body (``{}`` when there is none).
        query: the query parameters.
        cloud: the running stand-in (its store, bucket and log).
    """

    method: str
    version: str
    path: str
    collection_path: str
    name: str
    parent: str
    verb: str
    body: dict[str, Any]
    query: dict[str, str]
    cloud: LocalCloud

    def parsed(self, type_name: str) -> dict[str, Any]:
        """The body read as the message ``type_name`` (enum names, camelCase); see :mod:`.protos`."""
        return normalize(type_name.format(version=self.version), self.body)

    @property
    def project(self) -> str:
        """The project id in the path, or ``""``."""
        found = re.match(r"projects/([^/]+)", self.name or self.parent)
        return found.group(1) if found else ""

    @property
    def location(self) -> str:
        """The location in the path, or ``""``."""
        found = re.search(r"locations/([^/]+)", self.name or self.parent)
        return found.group(1) if found else ""


@dataclass
class Collection:
    """A REST collection and what the stand-in does for each standard method.

    Attributes:
        path: the collection names along the path, e.g. ``projects/locations/customJobs``.
        resource_type: the proto message name of one resource, with ``{version}``
            for the API version, e.g. ``google.cloud.aiplatform.{version}.Endpoint``;
            used as the response type of long-running operations.
        id_param: the query parameter that carries a client-chosen id
            (``featureGroupId``); ids are numeric otherwise.
        lro_create, lro_delete, lro_update: whether those methods answer with a
            long-running operation (Vertex AI's endpoints, models ... do).
        required: body fields that must be present on create (camelCase).
        validate: extra rules on create, raising :class:`GoogleError`.
        on_create: fill in what the service adds (state, derived fields) and start
            local work; gets the resource before it is stored, returns it.
        on_get: called on every get (e.g. to wait briefly for a local job).
        verbs: custom methods; ``"cancel"`` for ``{name}:cancel`` and ``":upload"``
            for ``{collection}:upload`` (POST); ``"GET listVersions"`` for another HTTP method.
        methods: standard methods on one resource that the service answers itself, by
            HTTP method (``{"GET": ..., "DELETE": ...}``): a name with ``@version``, or a
            delete with preconditions.
        initial_state: the ``state`` a created resource starts in, if any.
        matches: a list filter the generic one cannot read (Vertex ML Metadata's
            ``in_context("...")``, ``parent_contexts:"..."``); ``(call, resource, filter) -> bool``.
        list_field: the field of a list answer when it is not the collection's name
            (``tensorboardRuns`` for ``.../runs``).
        create: a create the service answers itself (a client-chosen id in its own query
            parameter, an operation of its own shape), instead of the generic one.
        colon_in_names: a ``:`` in a resource's last segment belongs to its name, not a custom
            method (Artifact Registry's ``IMAGE@sha256:DIGEST``).
    """

    path: str
    resource_type: str = ""
    id_param: str = ""
    lro_create: bool = False
    lro_delete: bool = False
    lro_update: bool = False
    required: tuple[str, ...] = ()
    validate: Callable[[Call, dict[str, Any]], None] | None = None
    on_create: Callable[[Call, dict[str, Any]], dict[str, Any]] | None = None
    on_get: Callable[[Call, dict[str, Any]], dict[str, Any]] | None = None
    verbs: dict[str, Handler] = field(default_factory=dict)
    methods: dict[str, Handler] = field(default_factory=dict)
    initial_state: str = ""
    matches: Callable[[Call, dict[str, Any], str], bool] | None = None
    list_field: str = ""
    create: Handler | None = None
    colon_in_names: bool = False

    @property
    def key(self) -> str:
        """The JSON key of a list answer, e.g. ``customJobs``."""
        return self.path.rsplit("/", 1)[-1]

    def type_for(self, version: str) -> str:
        return self.resource_type.format(version=version)


_FILTER_TERM = re.compile(r'^\s*([\w.]+)\s*=\s*"?([^"]*)"?\s*$')


def _matches(resource: dict[str, Any], filter_text: str) -> bool:
    """A subset of Google's list filter: ``a="x" AND labels.k="v"`` equality terms."""
    for term in re.split(r"\s+AND\s+", filter_text.strip()):
        found = _FILTER_TERM.match(term)
        if not found:
            raise invalid(f"the local stand-in supports only equality filters joined by AND, got {term!r}")
        value: Any = resource
        for part in found.group(1).split("."):
            value = value.get(camel(part), value.get(part)) if isinstance(value, dict) else None
        if str(value) != found.group(2):
            return False
    return True


class Router:
    """The registry of collections, and the standard methods on them."""

    def __init__(self) -> None:
        self.collections: dict[str, Collection] = {}
        self.prefixes: dict[str, PrefixHandler] = {}

    def add(self, *collections: Collection) -> None:
        for collection in collections:
            self.collections[collection.path] = collection

    def add_prefix(self, prefix: str, handler: PrefixHandler) -> None:
        """Send every request under ``prefix`` (e.g. ``/bigquery/v2/``) to ``handler``, raw body and all.

        Why: an API outside Vertex AI's resource conventions (BigQuery's ``/bigquery/v2/`` paths,
        its multipart uploads) is answered by its own module rather than by the collections.
        """
        if not prefix.startswith("/") or not prefix.endswith("/"):
            raise ValueError(f"a path prefix starts and ends with '/', got {prefix!r}")
        self.prefixes[prefix] = handler

    def prefix_handler(self, path: str) -> PrefixHandler | None:
        """The handler registered for the prefix of ``path``, if any."""
        return next((h for p, h in self.prefixes.items() if path.startswith(p)), None)

    @staticmethod
    def parse(
        method: str, raw_path: str, body: dict[str, Any], query: dict[str, str], cloud: LocalCloud
    ) -> Call:
        """Split ``/{version}/{path}[:{verb}]`` into a :class:`Call`."""
        version, _, rest = raw_path.strip("/").partition("/")
        verb = ""
        if ":" in rest.rsplit("/", 1)[-1]:
            rest, _, verb = rest.rpartition(":")
        parts = [p for p in rest.split("/") if p]
        collections = parts[0::2]
        names_resource = len(parts) % 2 == 0
        name = "/".join(parts) if names_resource and parts else ""
        parent = "" if names_resource else "/".join(parts[:-1])
        return Call(
            method, version, "/".join(parts), "/".join(collections), name, parent, verb, body, query, cloud
        )

    def dispatch(self, call: Call) -> dict[str, Any]:
        """Run the standard or custom method; raises :class:`GoogleError`."""
        collection = self.collections.get(call.collection_path)
        if collection is None:
            raise unimplemented(call.method, f"/{call.version}/{call.path}")
        store = call.cloud.store
        if call.verb and call.name and collection.colon_in_names:
            call.name, call.path, call.verb = f"{call.name}:{call.verb}", f"{call.path}:{call.verb}", ""
        if call.verb:
            key = call.verb if call.name else ":" + call.verb
            handler = collection.verbs.get(f"{call.method} {key}")  # e.g. "GET listVersions"
            if handler is None and (call.method == "POST" or key in ("get", ":list")):
                handler = collection.verbs.get(key)
            if handler is None:
                raise unimplemented(call.method, f"/{call.version}/{call.path}:{call.verb}")
            return handler(call)
        if call.name and "/operations/" not in call.name and call.method in collection.methods:
            return collection.methods[call.method](call)
        if call.method == "POST" and not call.name:
            return collection.create(call) if collection.create else self.create(collection, call)
        if call.method == "GET" and call.name:
            if "/operations/" in call.name:
                return store.get(call.name)
            resource = store.get(call.name)
            return collection.on_get(call, resource) if collection.on_get else resource
        if call.method == "GET":
            found = store.children(call.parent, collection.key)
            if call.query.get("filter"):
                if collection.matches:
                    found = [r for r in found if collection.matches(call, r, call.query["filter"])]
                else:
                    found = [r for r in found if _matches(r, call.query["filter"])]
            return {collection.list_field or collection.key: found} if found else {}
        if call.method == "DELETE" and call.name:
            store.delete(call.name)
            return store.operation(call.name, None) if collection.lro_delete else {}
        if call.method == "PATCH" and call.name:
            # the SDKs send the whole resource back (its output-only times included)
            body = call.body
            if collection.resource_type:
                body = normalize(collection.type_for(call.version), body)
            updated = store.update(call.name, **{**body, "updateTime": now()})
            if collection.lro_update:
                return store.operation(call.name, updated, collection.type_for(call.version))
            return updated
        raise unimplemented(call.method, f"/{call.version}/{call.path}")

    @staticmethod
    def create(collection: Collection, call: Call) -> dict[str, Any]:
        """POST on a collection: check, name, store, and answer (or wrap in an operation)."""
        store = call.cloud.store
        body = (
            normalize(collection.type_for(call.version), call.body)
            if collection.resource_type
            else dict(call.body)
        )
        missing = [f for f in collection.required if not body.get(f)]
        if missing:
            raise invalid(
                f"{', '.join(missing)} is required to create a {collection.key[:-1]}",
                "https://cloud.google.com/vertex-ai/docs/reference/rest",
            )
        from ds500.localcloud import validation

        validation.common(body)
        if collection.validate:
            collection.validate(call, body)
        resource_id = call.query.get(collection.id_param) if collection.id_param else None
        name = f"{call.parent}/{collection.key}/{resource_id or store.new_id()}"
        if store.exists(name):
            raise already_exists(name)
        body.update(createTime=now(), updateTime=now())
        if collection.initial_state:
            body["state"] = collection.initial_state
        body["name"] = name
        if collection.on_create:
            body = collection.on_create(call, body)
        created = store.put(name, body)
        if collection.lro_create:
            return store.operation(name, created, collection.type_for(call.version))
        return created

    def readable(self, call: Call) -> dict[str, Any]:
        """The body as the log shows it: a created resource with enum names instead of numbers."""
        collection = self.collections.get(call.collection_path)
        if (
            call.method == "POST"
            and not call.verb
            and not call.name
            and collection
            and collection.resource_type
        ):
            try:
                return normalize(collection.type_for(call.version), call.body)
            except GoogleError:
                return call.body
        return call.body

    def raise_for(self, error: Exception) -> GoogleError:
        """Any other exception is a stand-in bug: say so (HTTP 500, INTERNAL)."""
        return GoogleError(
            500, f"local stand-in bug ({type(error).__name__}: {error}); please report it", "INTERNAL"
        )
