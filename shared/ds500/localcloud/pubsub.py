"""Pub/Sub: topics, subscriptions, publish, synchronous pull and acknowledge.

Why REST and not the official emulator: google-cloud-pubsub's clients take
``transport="rest"`` (``ctx.client(pubsub_v1.PublisherClient, service="pubsub")``
sets it offline, with the stand-in as ``api_endpoint``), so Pub/Sub runs in the same
server as every other service, shows in the same request log, and needs neither
Java nor the gcloud emulator. The REST API is Google's
(https://cloud.google.com/pubsub/docs/reference/rest): ``PUT projects/{p}/topics/{t}``,
``POST topics/{t}:publish``, ``PUT projects/{p}/subscriptions/{s}``,
``POST subscriptions/{s}:pull`` / ``:acknowledge``, ``DELETE`` on both.
Streaming pull (``subscriber.subscribe``) is gRPC only and is not offered here:
the labs pull synchronously.

Delivery is at least once, as on Pub/Sub: a pulled message that is not acknowledged
within ``ackDeadlineSeconds`` is delivered again. Messages are kept in memory.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from typing import Any

from ds500.localcloud.errors import already_exists, invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

__all__ = ["register"]

NAME_DOCS = "https://cloud.google.com/pubsub/docs/create-topic#resource_names"
SUBSCRIPTION_DOCS = "https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions"
PUBLISH_DOCS = "https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.topics/publish"
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$")
_MAX_MESSAGE_BYTES = 10_000_000
_lock = threading.Lock()
# (id(store), subscription) -> message id -> [message, lease end (monotonic s)]
_queues: dict[tuple[int, str], dict[str, list[Any]]] = {}
_ids = iter(range(1, 10**12))


def _check_id(name: str) -> None:
    resource_id = name.rsplit("/", 1)[-1]
    if not _ID.match(resource_id) or resource_id.lower().startswith("goog"):
        raise invalid(
            f"{resource_id!r} is not a valid Pub/Sub id: 3-255 characters, starting with a letter, "
            "of letters, digits and - _ . ~ + %, not starting with 'goog'",
            NAME_DOCS,
        )


def _create_topic(call: Call) -> dict[str, Any]:
    _check_id(call.name)
    store = call.cloud.store
    if store.exists(call.name):
        raise already_exists(call.name)
    labels = call.body.get("labels") or {}
    from ds500.localcloud import validation

    validation.common({"labels": labels})
    return store.put(call.name, {"labels": labels} if labels else {})


def _create_subscription(call: Call) -> dict[str, Any]:
    _check_id(call.name)
    store = call.cloud.store
    topic = call.body.get("topic", "")
    store.get(topic)  # 404 for an unknown topic
    if store.exists(call.name):
        raise already_exists(call.name)
    deadline = int(call.body.get("ackDeadlineSeconds") or 10)
    if not 10 <= deadline <= 600:
        raise invalid(f"ackDeadlineSeconds must be between 10 and 600, got {deadline}", SUBSCRIPTION_DOCS)
    with _lock:
        _queues[(id(store), call.name)] = {}
    return store.put(
        call.name,
        {
            "topic": topic,
            "ackDeadlineSeconds": deadline,
            "messageRetentionDuration": "604800s",
            "state": "ACTIVE",
        },
    )


def _publish(call: Call) -> dict[str, Any]:
    store = call.cloud.store
    store.get(call.name)
    messages = call.body.get("messages") or []
    if not messages:
        raise invalid("a publish request needs at least one message", PUBLISH_DOCS)
    subscriptions = [
        s["name"]
        for s in store.children(call.name.split("/topics/")[0], "subscriptions")
        if s["topic"] == call.name
    ]
    ids = []
    with _lock:
        for message in messages:
            data = base64.b64decode(message.get("data", "") or "")
            if not data and not message.get("attributes"):
                raise invalid("a message needs data or at least one attribute", PUBLISH_DOCS)
            if len(data) > _MAX_MESSAGE_BYTES:
                raise invalid(f"a message is {len(data):,} bytes; the limit is 10 MB", PUBLISH_DOCS)
            message_id = str(next(_ids))
            stored = {**message, "messageId": message_id, "publishTime": now()}
            for name in subscriptions:
                _queues.setdefault((id(store), name), {})[message_id] = [stored, 0.0]
            ids.append(message_id)
    return {"messageIds": ids}


def _pull(call: Call) -> dict[str, Any]:
    """Up to ``maxMessages`` messages whose lease has expired; each gets a new lease."""
    store = call.cloud.store
    subscription = store.get(call.name)
    limit = int(call.body.get("maxMessages") or 0)
    if limit < 1:
        raise invalid("maxMessages must be a positive number", SUBSCRIPTION_DOCS + "/pull")
    clock = time.monotonic()
    received = []
    with _lock:
        for message_id, entry in _queues.get((id(store), call.name), {}).items():
            if len(received) == limit:
                break
            if entry[1] <= clock:
                entry[1] = clock + subscription["ackDeadlineSeconds"]
                received.append({"ackId": f"{message_id}-{int(clock * 1000)}", "message": entry[0]})
    return {"receivedMessages": received} if received else {}


def _acknowledge(call: Call) -> dict[str, Any]:
    store = call.cloud.store
    store.get(call.name)
    ack_ids = call.body.get("ackIds") or []
    if not ack_ids:
        raise invalid("ackIds must not be empty", SUBSCRIPTION_DOCS + "/acknowledge")
    with _lock:
        queue = _queues.get((id(store), call.name), {})
        for ack_id in ack_ids:
            queue.pop(str(ack_id).split("-", 1)[0], None)
    return {}


def _delete_subscription(call: Call) -> dict[str, Any]:
    call.cloud.store.delete(call.name)
    with _lock:
        _queues.pop((id(call.cloud.store), call.name), None)
    return {}


def _delete_topic(call: Call) -> dict[str, Any]:
    """Deleting a topic leaves its subscriptions (their topic reads ``_deleted-topic_``), as on Pub/Sub."""
    store = call.cloud.store
    store.delete(call.name)
    for subscription in store.children(call.name.split("/topics/")[0], "subscriptions"):
        if subscription["topic"] == call.name:
            store.update(subscription["name"], topic="_deleted-topic_")
    return {}


def register(router: Router) -> None:
    router.add(
        Collection(
            "projects/topics",
            verbs={"publish": _publish},
            methods={"PUT": _create_topic, "DELETE": _delete_topic},
        ),
        Collection(
            "projects/subscriptions",
            verbs={"pull": _pull, "acknowledge": _acknowledge},
            methods={"PUT": _create_subscription, "DELETE": _delete_subscription},
        ),
    )
