"""BigQuery's types on DuckDB: schemas, row encoding and the bytes a query reads.

Why a module of its own: a type must come back from the local engine as the type
BigQuery gives (a DataFrame with naive datetimes loads as DATETIME, a tz-aware one as
TIMESTAMP, in UTC), or a lab's query that mixes them would run here and fail on
Google Cloud. DuckDB's ``TIMESTAMP`` is BigQuery's ``DATETIME`` and its
``TIMESTAMP WITH TIME ZONE`` is BigQuery's ``TIMESTAMP``
(https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from typing import Any

__all__ = ["bq_field", "ddl_type", "duckdb_type", "encode_cell", "field_bytes_sql", "parameter_value"]

# BigQuery type (and legacy alias) -> DuckDB type, for scalar types
_TO_DUCKDB = {
    "INT64": "BIGINT",
    "INTEGER": "BIGINT",
    "FLOAT64": "DOUBLE",
    "FLOAT": "DOUBLE",
    "NUMERIC": "DECIMAL(38,9)",
    "BIGNUMERIC": "DECIMAL(38,9)",
    "BOOL": "BOOLEAN",
    "BOOLEAN": "BOOLEAN",
    "STRING": "VARCHAR",
    "JSON": "VARCHAR",
    "BYTES": "BLOB",
    "DATE": "DATE",
    "DATETIME": "TIMESTAMP",
    "TIMESTAMP": "TIMESTAMPTZ",
    "TIME": "TIME",
}
# DuckDB type id -> BigQuery type (what the REST API writes in a schema)
_FROM_DUCKDB = {
    "boolean": "BOOLEAN",
    "tinyint": "INTEGER",
    "smallint": "INTEGER",
    "integer": "INTEGER",
    "bigint": "INTEGER",
    "hugeint": "INTEGER",
    "utinyint": "INTEGER",
    "usmallint": "INTEGER",
    "uinteger": "INTEGER",
    "ubigint": "INTEGER",
    "float": "FLOAT",
    "double": "FLOAT",
    "varchar": "STRING",
    "blob": "BYTES",
    "date": "DATE",
    "timestamp": "DATETIME",
    "timestamp_s": "DATETIME",
    "timestamp_ms": "DATETIME",
    "timestamp_ns": "DATETIME",
    "timestamp with time zone": "TIMESTAMP",
    "time": "TIME",
    "interval": "INTERVAL",
    "uuid": "STRING",
    "json": "JSON",
}
# bytes per value, from https://cloud.google.com/bigquery/pricing#data (fixed-size types)
_FIXED_BYTES = {
    "INTEGER": 8,
    "FLOAT": 8,
    "NUMERIC": 16,
    "BOOLEAN": 1,
    "DATE": 8,
    "DATETIME": 8,
    "TIMESTAMP": 8,
    "TIME": 8,
    "INTERVAL": 16,
}


def duckdb_type(field: dict[str, Any]) -> str:
    """The DuckDB column type for a BigQuery schema field (``{"name", "type", "mode", "fields"}``).

    Raises:
        ValueError: for a type BigQuery does not have (the message lists the known ones).
    """
    kind = str(field.get("type", "")).upper()
    if kind in ("RECORD", "STRUCT"):
        members = ", ".join(f'"{f["name"]}" {duckdb_type(f)}' for f in field.get("fields", []))
        base = f"STRUCT({members})"
    elif kind in _TO_DUCKDB:
        base = _TO_DUCKDB[kind]
    else:
        raise ValueError(
            f"unknown BigQuery type {kind!r} in field {field.get('name')!r}; "
            f"use one of {sorted(_TO_DUCKDB) + ['RECORD']}"
        )
    return base + "[]" if str(field.get("mode", "")).upper() == "REPEATED" else base


def bq_field(name: str, duck: Any) -> dict[str, Any]:
    """The BigQuery schema field for a DuckDB column type (a ``duckdb.DuckDBPyType``).

    A list becomes ``mode: REPEATED``, a struct ``RECORD`` with its fields;
    ``DECIMAL(38,9)`` is ``NUMERIC`` and any other decimal (DuckDB's type for a literal
    such as ``0.5``, a FLOAT64 in BigQuery) is ``FLOAT``.
    """
    kind = duck.id
    if kind == "list":
        inner = bq_field(name, duck.children[0][1])
        return {**inner, "mode": "REPEATED"}
    if kind == "struct":
        return {
            "name": name,
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [bq_field(child, child_type) for child, child_type in duck.children],
        }
    if kind == "decimal":
        width, scale = (value for _, value in duck.children)
        return {"name": name, "type": "NUMERIC" if (width, scale) == (38, 9) else "FLOAT", "mode": "NULLABLE"}
    return {"name": name, "type": _FROM_DUCKDB.get(kind, "STRING"), "mode": "NULLABLE"}


def encode_cell(value: Any, field: dict[str, Any], int64_timestamp: bool = True) -> Any:
    """One value as the REST API writes it in a row (``{"f": [{"v": ...}]}``): strings, mostly.

    TIMESTAMP is microseconds since the epoch when the client asks for
    ``formatOptions.useInt64Timestamp`` (google-cloud-bigquery 3.x always does), else seconds.
    """
    if value is None:
        return None
    if field.get("mode") == "REPEATED":
        single = {**field, "mode": "NULLABLE"}
        return [{"v": encode_cell(item, single, int64_timestamp)} for item in value]
    kind = field["type"]
    if kind == "RECORD":
        return {"f": [{"v": encode_cell(value.get(f["name"]), f, int64_timestamp)} for f in field["fields"]]}
    if kind == "BOOLEAN":
        return "true" if value else "false"
    if kind == "BYTES":
        return base64.standard_b64encode(value).decode()
    if kind == "TIMESTAMP":
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        micros = (stamp - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)
        return str(micros) if int64_timestamp else str(micros / 1e6)
    if kind == "DATETIME":
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if kind == "FLOAT":
        return repr(float(value))
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"0-0 {value.days} 0:0:{value.seconds + value.microseconds / 1e6}"
    return str(value)


def field_bytes_sql(column: str, field: dict[str, Any]) -> str:
    """A DuckDB expression summing the bytes BigQuery counts for one column of a table.

    STRING and BYTES count 2 bytes plus their length; fixed-size types their size
    (https://cloud.google.com/bigquery/pricing#data); ARRAY and STRUCT are counted
    from their values, approximately (2 bytes per STRING element, 8 per other value).
    """
    kind = field["type"]
    if field.get("mode") == "REPEATED" or kind == "RECORD":
        return f"SUM(8 * LENGTH(CAST({column} AS VARCHAR)) / 4)"
    if kind == "STRING":
        return f"SUM(2 + OCTET_LENGTH(CAST({column} AS BLOB)))"
    if kind == "BYTES":
        return f"SUM(2 + OCTET_LENGTH({column}))"
    return f"COUNT({column}) * {_FIXED_BYTES.get(kind, 8)}"


def parameter_value(parameter_type: dict[str, Any], value_json: dict[str, Any]) -> Any:
    """A query parameter (``{"type": "INT64"}``, ``{"value": "10"}``) as the Python value DuckDB binds.

    Raises:
        ValueError: for a value that does not parse as its declared type.
    """
    kind = str(parameter_type.get("type", "STRING")).upper()
    if kind == "ARRAY":
        return [
            parameter_value(parameter_type.get("arrayType", {}), item)
            for item in value_json.get("arrayValues", [])
        ]
    if kind == "STRUCT":
        members = parameter_type.get("structTypes", [])
        values = value_json.get("structValues", {})
        return {m["name"]: parameter_value(m["type"], values.get(m["name"], {})) for m in members}
    raw = value_json.get("value")
    if raw is None:
        return None
    try:
        if kind in ("INT64", "INTEGER"):
            return int(raw)
        if kind in ("FLOAT64", "FLOAT"):
            return float(raw)
        if kind in ("NUMERIC", "BIGNUMERIC"):
            return decimal.Decimal(raw)
        if kind in ("BOOL", "BOOLEAN"):
            return raw.lower() == "true"
        if kind == "DATE":
            return dt.date.fromisoformat(raw)
        if kind == "DATETIME":
            return dt.datetime.fromisoformat(raw.replace(" ", "T"))
        if kind == "TIMESTAMP":
            stamp = dt.datetime.fromisoformat(raw.replace(" ", "T").replace("Z", "+00:00"))
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)
        if kind == "BYTES":
            return base64.standard_b64decode(raw)
    except ValueError as error:
        raise ValueError(f"query parameter value {raw!r} is not a valid {kind}: {error}") from error
    return raw


def ddl_type(field: dict[str, Any]) -> str:
    """A schema field as GoogleSQL writes its type (``ARRAY<STRUCT<label BOOL, prob FLOAT64>>``)."""
    kind = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}.get(field["type"], field["type"])
    if kind in ("RECORD", "STRUCT"):
        kind = "STRUCT<" + ", ".join(f"{f['name']} {ddl_type(f)}" for f in field.get("fields", [])) + ">"
    return f"ARRAY<{kind}>" if field.get("mode") == "REPEATED" else kind
