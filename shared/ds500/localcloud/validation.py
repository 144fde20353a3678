"""Rules Google Cloud enforces and a lab could break, each with the page that states it.

A rule that fails raises :class:`~ds500.localcloud.errors.GoogleError` with HTTP 400
(``InvalidArgument`` in the SDK), so a wrong machine type fails offline the way it
fails on Google Cloud, before anything would have been billed.

The tables cover the machine types and accelerators the labs and their exercises
use; a type the table does not know is refused with the link to check, rather than
accepted silently.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ds500.localcloud.errors import invalid

__all__ = [
    "ACCELERATORS",
    "REGIONS",
    "check_cron",
    "check_image_uri",
    "check_machine_spec",
    "check_region",
    "check_replicas",
    "check_traffic_split",
    "common",
]

LABELS_DOCS = "https://cloud.google.com/resource-manager/docs/labels-overview#requirements"
DISPLAY_NAME_DOCS = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.customJobs"
TRAINING_COMPUTE_DOCS = "https://cloud.google.com/vertex-ai/docs/training/configure-compute"
SERVING_COMPUTE_DOCS = "https://cloud.google.com/vertex-ai/docs/predictions/configure-compute"
TPU_DOCS = "https://cloud.google.com/vertex-ai/docs/training/training-with-tpu-vm"
IMAGE_DOCS = "https://cloud.google.com/artifact-registry/docs/docker/names"
LOCATIONS_DOCS = "https://cloud.google.com/vertex-ai/docs/general/locations"
TRAFFIC_DOCS = (
    "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints#Endpoint"
)
CRON_DOCS = "https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules"
SCALING_DOCS = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/DedicatedResources"

_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")

#: Vertex AI regions the labs may use (a subset of the locations page).
REGIONS = {
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west4",
    "northamerica-northeast1",
    "southamerica-east1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west9",
    "europe-north1",
    "asia-east1",
    "asia-northeast1",
    "asia-northeast3",
    "asia-south1",
    "asia-southeast1",
    "australia-southeast1",
    "me-west1",
    "global",
}

#: accelerator type -> the machine types it can be attached to (a regex) and the counts allowed.
ACCELERATORS: dict[str, tuple[str, tuple[int, ...]]] = {
    "NVIDIA_TESLA_T4": (r"n1-(standard|highmem|highcpu)-\d+", (1, 2, 4)),
    "NVIDIA_TESLA_V100": (r"n1-(standard|highmem|highcpu)-\d+", (1, 2, 4, 8)),
    "NVIDIA_TESLA_P100": (r"n1-(standard|highmem|highcpu)-\d+", (1, 2, 4)),
    "NVIDIA_TESLA_P4": (r"n1-(standard|highmem|highcpu)-\d+", (1, 2, 4)),
    "NVIDIA_TESLA_A100": (r"a2-highgpu-(1|2|4|8)g|a2-megagpu-16g", (1, 2, 4, 8, 16)),
    "NVIDIA_A100_80GB": (r"a2-ultragpu-(1|2|4|8)g", (1, 2, 4, 8)),
    "NVIDIA_L4": (r"g2-standard-\d+", (1, 2, 4, 8)),
    "NVIDIA_H100_80GB": (r"a3-highgpu-(1|2|4|8)g", (1, 2, 4, 8)),
    "TPU_V5_LITEPOD": (r"ct5lp-hightpu-(1|4|8)t", (1, 4, 8)),
    "TPU_V5P": (r"ct5p-hightpu-4t", (4,)),
    "TPU_V6E": (r"ct6e-standard-(1|4|8)t", (1, 4, 8)),
}

_MACHINE = re.compile(
    r"^(n1-(standard|highmem|highcpu)-(2|4|8|16|32|64|96)|n2-(standard|highmem|highcpu)-(2|4|8|16|32|48|64|80)"
    r"|e2-(standard|highmem|highcpu)-(2|4|8|16|32)|c2-standard-(4|8|16|30|60)|g2-standard-(4|8|12|16|24|32|48|96)"
    r"|a2-highgpu-(1|2|4|8)g|a2-megagpu-16g|a2-ultragpu-(1|2|4|8)g|a3-highgpu-(1|2|4|8)g"
    r"|ct5lp-hightpu-(1|4|8)t|ct5p-hightpu-4t|ct6e-standard-(1|4|8)t)$"
)
# TPU machine type -> the topologies it accepts (chips = product of the dimensions).
_TPU_TOPOLOGIES = {
    "ct5lp-hightpu-1t": {"1x1"},
    "ct5lp-hightpu-4t": {"2x2"},
    "ct5lp-hightpu-8t": {"2x4"},
    "ct5p-hightpu-4t": {"2x2x1", "2x2x2", "2x2x4", "2x4x4", "4x4x4"},
    "ct6e-standard-1t": {"1x1"},
    "ct6e-standard-4t": {"2x2"},
    "ct6e-standard-8t": {"2x4"},
}
# Larger 2D slices (v5e, v6e) span several hosts; their replica rules are not modelled here.
_MULTI_HOST_SHAPES = {"4x4", "4x8", "8x8", "8x16", "16x16"}
# Machine types whose GPUs are built in: the accelerator must be given and match.
_BUILT_IN_GPUS = {
    "a2-": "NVIDIA_TESLA_A100",
    "a2-ultragpu": "NVIDIA_A100_80GB",
    "a3-": "NVIDIA_H100_80GB",
    "g2-": "NVIDIA_L4",
}


def common(body: dict[str, Any]) -> None:
    """Display name length and label rules, shared by every Vertex AI resource."""
    display_name = body.get("displayName")
    if isinstance(display_name, str) and len(display_name) > 128:
        raise invalid(
            f"displayName is {len(display_name)} characters; at most 128 are allowed", DISPLAY_NAME_DOCS
        )
    labels = body.get("labels") or {}
    if len(labels) > 64:
        raise invalid(f"{len(labels)} labels given; a resource can have at most 64", LABELS_DOCS)
    for key, value in labels.items():
        if not _LABEL_KEY.match(str(key)):
            raise invalid(
                f"label key {key!r} is invalid: 1-63 characters of lowercase letters, digits, "
                "'_' and '-', starting with a lowercase letter",
                LABELS_DOCS,
            )
        if not _LABEL_VALUE.match(str(value)):
            raise invalid(
                f"label value {value!r} (key {key!r}) is invalid: at most 63 characters of "
                "lowercase letters, digits, '_' and '-'",
                LABELS_DOCS,
            )


def check_region(location: str, what: str = "Vertex AI") -> None:
    """Refuse a location where the service is not offered (or a zone given as a region)."""
    if location not in REGIONS:
        raise invalid(
            f"{what} is not available in location {location!r} (a region such as "
            "'us-central1'; a zone such as 'us-central1-a' is not a location)",
            LOCATIONS_DOCS,
        )


def check_machine_spec(spec: dict[str, Any], *, serving: bool = False) -> None:
    """Machine type, accelerator type and count, and TPU topology, as Vertex AI checks them."""
    docs = SERVING_COMPUTE_DOCS if serving else TRAINING_COMPUTE_DOCS
    machine = spec.get("machineType", "")
    if not machine:
        raise invalid("machineSpec.machineType is required", docs)
    if not _MACHINE.match(machine):
        raise invalid(
            f"machine type {machine!r} is not offered by Vertex AI (or not known to the local "
            "stand-in); check the list of machine types",
            docs,
        )
    accelerator = spec.get("acceleratorType", "")
    if accelerator in ("", "ACCELERATOR_TYPE_UNSPECIFIED"):
        accelerator = ""
    count = int(spec.get("acceleratorCount") or 0)
    for prefix, built_in in sorted(_BUILT_IN_GPUS.items(), key=lambda kv: -len(kv[0])):
        if machine.startswith(prefix):
            if accelerator != built_in:
                raise invalid(
                    f"machine type {machine} comes with {built_in} GPUs: set acceleratorType "
                    f"{built_in!r} (got {accelerator or 'none'!r})",
                    docs,
                )
            break
    if machine.startswith(("ct5lp-", "ct5p-", "ct6e-")):
        topology = spec.get("tpuTopology", "")
        allowed = _TPU_TOPOLOGIES[machine]
        if topology in _MULTI_HOST_SHAPES and topology not in allowed:
            raise invalid(
                f"tpuTopology {topology} is a multi-host slice, which the local stand-in does not model "
                f"(one host of {machine} takes {sorted(allowed)}); check multi-host settings in the docs",
                TPU_DOCS,
            )
        if topology not in allowed:
            raise invalid(
                f"TPU machine type {machine} needs tpuTopology in {sorted(allowed)}, got "
                f"{topology or 'none'!r}",
                TPU_DOCS,
            )
        return
    if not accelerator:
        if count:
            raise invalid(f"acceleratorCount {count} given without an acceleratorType", docs)
        return
    if accelerator not in ACCELERATORS:
        raise invalid(
            f"accelerator type {accelerator!r} is not known; use one of {sorted(ACCELERATORS)}", docs
        )
    machines, counts = ACCELERATORS[accelerator]
    if not re.fullmatch(machines, machine):
        raise invalid(f"{accelerator} cannot be attached to machine type {machine}", docs)
    if count not in counts:
        raise invalid(
            f"acceleratorCount {count} is not offered for {accelerator} (allowed: {list(counts)})", docs
        )
    gpus = re.search(r"-(\d+)g$", machine)
    if gpus and count != int(gpus.group(1)):
        raise invalid(
            f"{machine} has exactly {gpus.group(1)} GPUs: set acceleratorCount {gpus.group(1)}", docs
        )


def check_image_uri(uri: str, field: str = "imageUri") -> None:
    """A container image must be a registry path (``REGION-docker.pkg.dev/PROJECT/REPO/IMAGE[:TAG]``)."""
    if not isinstance(uri, str) or not re.match(
        r"^([a-z0-9-]+\.)*(pkg\.dev|gcr\.io|docker\.io)/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})?$", uri
    ):
        raise invalid(
            f"{field} {uri!r} is not a container image path such as "
            "'us-central1-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG'",
            IMAGE_DOCS,
        )


def check_replicas(resources: dict[str, Any]) -> None:
    """``minReplicaCount`` ≥ 1 and ≤ ``maxReplicaCount`` for dedicated resources."""
    low = int(resources.get("minReplicaCount") or 1)
    high = int(resources.get("maxReplicaCount") or low)
    if low < 1:
        raise invalid(f"minReplicaCount must be at least 1, got {low}", SCALING_DOCS)
    if high < low:
        raise invalid(
            f"maxReplicaCount ({high}) must not be smaller than minReplicaCount ({low})", SCALING_DOCS
        )


def check_traffic_split(split: dict[str, Any], deployed_ids: set[str]) -> None:
    """Percentages are whole numbers summing to 100 and name deployed models only."""
    unknown = sorted(set(split) - deployed_ids)
    if unknown:
        raise invalid(
            f"trafficSplit names deployed model ids that are not on this endpoint: {unknown} "
            f"(deployed: {sorted(deployed_ids)})",
            TRAFFIC_DOCS,
        )
    total = sum(int(v) for v in split.values())
    if split and total != 100:
        raise invalid(f"trafficSplit percentages must sum to 100, got {total}", TRAFFIC_DOCS)


_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_NAMES = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
    "sun": 0,
    "mon": 1,
    "tue": 2,
    "wed": 3,
    "thu": 4,
    "fri": 5,
    "sat": 6,
}


def _cron_value(text: str, low: int, high: int, field: str, cron: str) -> None:
    value = _NAMES.get(text.lower(), None) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise invalid(f"cron {cron!r}: {text!r} is not a valid {field} ({low}-{high})", CRON_DOCS)


def check_cron(cron: str) -> None:
    """A unix-cron schedule with an optional ``TZ=`` or ``CRON_TZ=`` prefix naming an IANA time zone.

    Raises:
        GoogleError: 400 naming the wrong field.
    """
    if not isinstance(cron, str) or not cron.strip():
        raise invalid("cron is required, e.g. '0 6 1 * *' or 'TZ=Europe/Paris 0 6 1 * *'", CRON_DOCS)
    fields = cron.split()
    if fields[0].startswith(("TZ=", "CRON_TZ=")):
        zone = fields.pop(0).split("=", 1)[1]
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise invalid(
                f"cron {cron!r}: {zone!r} is not an IANA time zone such as 'Europe/Paris'", CRON_DOCS
            ) from error
    if len(fields) != 5:
        raise invalid(
            f"cron {cron!r} needs 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}",
            CRON_DOCS,
        )
    for text, (field, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        for part in text.split(","):
            span, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                raise invalid(
                    f"cron {cron!r}: step {step!r} in the {field} field must be a positive number", CRON_DOCS
                )
            if span == "*":
                continue
            for end in span.split("-", 1):
                _cron_value(end, low, high, field, cron)
