"""Read request bodies through the APIs' own protobuf messages.

Why: the SDKs' REST transports send enums as numbers (``enum-encoding=int``) and
may omit defaults; parsing a body into its real message and writing it back as
JSON gives the canonical shape (camelCase, enum names) that the rules read, and an
unknown field is refused as Google refuses it ("Invalid JSON payload received").
"""

from __future__ import annotations

import importlib
from typing import Any

from ds500.localcloud.errors import invalid

__all__ = ["normalize"]

# proto package -> the Python module that registers its messages
_MODULES = {
    "google.cloud.aiplatform.v1": "google.cloud.aiplatform_v1",
    "google.cloud.aiplatform.v1beta1": "google.cloud.aiplatform_v1beta1",
    "google.privacy.dlp.v2": "google.cloud.dlp_v2",
    "google.cloud.modelarmor.v1": "google.cloud.modelarmor_v1",
    "google.monitoring.v3": "google.cloud.monitoring_v3",
    "google.pubsub.v1": "google.pubsub_v1",
    "google.logging.v2": "google.cloud.logging_v2",
}


def _message_class(type_name: str) -> Any:
    from google.protobuf import descriptor_pool, message_factory

    package = type_name.rsplit(".", 1)[0]
    while package and package not in _MODULES:
        package = package.rsplit(".", 1)[0] if "." in package else ""
    if package:
        importlib.import_module(_MODULES[package])
    descriptor = descriptor_pool.Default().FindMessageTypeByName(type_name)
    return message_factory.GetMessageClass(descriptor)


def normalize(type_name: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` parsed as ``type_name`` and written back as canonical JSON.

    Args:
        type_name: the full message name, e.g. ``google.cloud.aiplatform.v1.CustomJob``.
        body: the JSON the SDK sent.

    Raises:
        GoogleError: 400 with Google's wording when the body does not fit the message.
    """
    from google.protobuf import json_format

    message = _message_class(type_name)()
    try:
        json_format.ParseDict(body, message)
    except json_format.ParseError as error:
        raise invalid(f"Invalid JSON payload received. {error}") from error
    return json_format.MessageToDict(message)
