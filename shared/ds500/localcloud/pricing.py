"""List prices of the machines and accelerators a request asks for, from ``prices.yaml``.

Why: a cloud cell offline costs nothing, but the same cell on Google Cloud bills by
the hour; showing the price beside the request teaches the cost of a choice (a T4
vs an A100, 2 vs 10 replicas) where it is made. The table is data with its source
and the date it was read; prices change, so the page is the authority.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["describe", "table"]


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    """The parsed ``prices.yaml`` (source, date read, currency, region, prices)."""
    return yaml.safe_load(resources.files("ds500.localcloud").joinpath("prices.yaml").read_text())


def _machine_specs(value: Any) -> list[tuple[dict[str, Any], int, str]]:
    """Every ``machineSpec`` in a request body, with its replica count and purpose."""
    found: list[tuple[dict[str, Any], int, str]] = []
    if isinstance(value, dict):
        spec = value.get("machineSpec")
        if isinstance(spec, dict):
            replicas = int(
                value.get("replicaCount")
                or value.get("minReplicaCount")
                or value.get("startingReplicaCount")
                or 1
            )
            purpose = (
                "prediction" if "minReplicaCount" in value or "startingReplicaCount" in value else "training"
            )
            found.append((spec, replicas, purpose))
        for child in value.values():
            if child is not spec:
                found.extend(_machine_specs(child))
    elif isinstance(value, list):
        for child in value:
            found.extend(_machine_specs(child))
    return found


def describe(requests: list[Any]) -> list[str]:
    """One line per machine spec requested: what it would cost per hour on Google Cloud."""
    prices = table()
    lines = []
    for spec, replicas, purpose in _machine_specs(requests):
        machine = spec.get("machineType", "")
        per_hour = prices[purpose]["machines"].get(machine)
        accelerator = spec.get("acceleratorType", "")
        count = int(spec.get("acceleratorCount") or 0)
        gpu = prices[purpose]["accelerators"].get(accelerator) if accelerator else None
        if per_hour is None:
            lines.append(
                f"{replicas} × {machine}: no list price in our table; see {prices['source'][purpose]}"
            )
            continue
        total = per_hour + (gpu or 0) * count
        extra = f" + {count} × {accelerator} at ${gpu:.2f}" if gpu is not None and count else ""
        lines.append(
            f"{replicas} × {machine}{extra}: ${total:.2f} per hour each, ${total * replicas:.2f} per hour "
            f"({purpose}, {prices['region']}, read {prices['checked']}; {prices['source'][purpose]})"
        )
    return lines
