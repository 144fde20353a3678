"""BigQuery ML functions over tables, not models: point-in-time features and data validation.

- ``ML.FEATURES_AT_TIME`` / ``ML.ENTITY_FEATURES_AT_TIME``, exactly as documented
  (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-feature-time,
  https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-entity-feature-time):
  the feature rows of each entity with ``feature_timestamp <=`` the cut-off, the latest
  ``num_rows`` (default 1) first; ``ignore_feature_nulls`` fills a NULL feature from the
  same entity's earlier row; the output's ``feature_timestamp`` is the **cut-off**, not
  the time of the row used; an (entity, time) row with no feature row at or before it
  returns nothing. Both time columns must be TIMESTAMP, as BigQuery requires.
- ``ML.VALIDATE_DATA_SKEW`` / ``ML.VALIDATE_DATA_DRIFT``
  (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-validate-data-skew,
  https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-validate-data-drift):
  one row per column with ``input``, ``metric``, ``threshold``, ``value``, ``is_anomaly``;
  numerical columns by Jensen-Shannon divergence over 10 equal-width buckets,
  categorical ones by L-infinity distance (``L_INFTY``) unless
  ``categorical_metric_type`` says ``JENSEN_SHANNON_DIVERGENCE``; thresholds default
  to 0.3, must lie in [0, 1), and ``value > threshold`` is an anomaly. The statistics
  are :mod:`ds500.drift`'s (the same ones lab 14 has students implement).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ds500.localcloud.bigquery_sql import invalid_query

__all__ = ["entity_features_at_time", "features_at_time", "validate"]

_METRICS = ("L_INFTY", "JENSEN_SHANNON_DIVERGENCE")


def _column(frame: pd.DataFrame, name: str, function: str) -> str:
    """The frame's column called ``name``, case-insensitively (as the docs allow)."""
    for column in frame.columns:
        if column.lower() == name:
            return column
    raise invalid_query(
        f"Invalid table-valued function {function}: the input table must have a column {name}"
    )


def _timestamp(frame: pd.DataFrame, column: str, function: str) -> pd.Series:
    values = frame[column]
    if not pd.api.types.is_datetime64_any_dtype(values):
        raise invalid_query(f"Invalid table-valued function {function}: column {column} must be TIMESTAMP")
    if getattr(values.dtype, "tz", None) is None:
        raise invalid_query(
            f"Invalid table-valued function {function}: column {column} is DATETIME, "
            "but it must be TIMESTAMP "
            "(load timezone-aware times, e.g. pandas Timestamps with tz='UTC')"
        )
    return values


def _options(num_rows: Any, ignore_nulls: Any) -> tuple[int, bool]:
    rows = 1 if num_rows is None else num_rows
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise invalid_query(f"Invalid value for num_rows: {rows}; it must be a positive INT64")
    nulls = False if ignore_nulls is None else ignore_nulls
    if not isinstance(nulls, bool):
        raise invalid_query(f"Invalid value for ignore_feature_nulls: {nulls}; it must be a BOOL")
    return rows, nulls


def _lookup(
    features: pd.DataFrame, cutoffs: pd.DataFrame, num_rows: int, ignore_nulls: bool, function: str
) -> pd.DataFrame:
    """The shared point-in-time join: ``cutoffs`` has ``__entity``, ``__cutoff`` and ``__row``."""
    entity = _column(features, "entity_id", function)
    stamp = _column(features, "feature_timestamp", function)
    _timestamp(features, stamp, function)
    columns = list(features.columns)
    feature_columns = [c for c in columns if c not in (entity, stamp)]
    merged = cutoffs.merge(features, left_on="__entity", right_on=entity, how="inner")
    merged = merged[merged[stamp] <= merged["__cutoff"]]
    merged = merged.sort_values(["__row", stamp], kind="stable")
    if ignore_nulls and feature_columns:
        merged[feature_columns] = merged.groupby("__row", sort=False)[feature_columns].ffill()
    latest = merged.groupby("__row", sort=False).tail(num_rows)
    latest = latest.sort_values(["__row", stamp], ascending=[True, False], kind="stable")
    out = latest[columns].copy()
    out[stamp] = pd.to_datetime(latest["__cutoff"].to_numpy(), utc=True)
    return out.reset_index(drop=True)


def features_at_time(
    features: pd.DataFrame, cutoff: Any, num_rows: Any = None, ignore_nulls: Any = None
) -> pd.DataFrame:
    """ML.FEATURES_AT_TIME: every entity's latest ``num_rows`` rows at or before one cut-off.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-feature-time
    """
    function = "ML.FEATURES_AT_TIME"
    rows, nulls = _options(num_rows, ignore_nulls)
    when = pd.Timestamp(cutoff)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    entity = _column(features, "entity_id", function)
    ids = pd.unique(features[entity])
    cutoffs = pd.DataFrame(
        {"__entity": ids, "__cutoff": pd.DatetimeIndex([when] * len(ids)), "__row": np.arange(len(ids))}
    )
    return _lookup(features, cutoffs, rows, nulls, function)


def entity_features_at_time(
    features: pd.DataFrame, entity_times: pd.DataFrame, num_rows: Any = None, ignore_nulls: Any = None
) -> pd.DataFrame:
    """ML.ENTITY_FEATURES_AT_TIME: for each (entity_id, time) row, the latest rows at or before its time.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-entity-feature-time
    """
    function = "ML.ENTITY_FEATURES_AT_TIME"
    rows, nulls = _options(num_rows, ignore_nulls)
    entity = _column(entity_times, "entity_id", function)
    when = _column(entity_times, "time", function)
    times = _timestamp(entity_times, when, function)
    cutoffs = pd.DataFrame(
        {
            "__entity": entity_times[entity].to_numpy(),
            "__cutoff": pd.to_datetime(times, utc=True).to_numpy(),
            "__row": np.arange(len(entity_times)),
        }
    )
    cutoffs["__cutoff"] = pd.to_datetime(cutoffs["__cutoff"], utc=True)
    return _lookup(features, cutoffs, rows, nulls, function)


def _threshold(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise invalid_query(f"Invalid value for {name}: {value}; it must be a FLOAT64 in the range [0, 1)")
    return float(value)


def validate(base: pd.DataFrame, study: pd.DataFrame, options: dict[str, Any], function: str) -> pd.DataFrame:
    """ML.VALIDATE_DATA_SKEW (base = the model's training data) or ML.VALIDATE_DATA_DRIFT (base table).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-validate-data-skew,
    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-validate-data-drift
    """
    from ds500 import drift

    known = {
        "categorical_default_threshold",
        "categorical_metric_type",
        "numerical_default_threshold",
        "numerical_metric_type",
        "thresholds",
        "num_histogram_buckets",
        "num_quantiles_histogram_buckets",
        "num_values_histogram_buckets",
        "num_rank_histogram_buckets",
        "enable_visualization_link",
    }
    unknown = sorted(set(options) - known)
    if unknown:
        raise invalid_query(f"Invalid argument {unknown[0]} in the STRUCT of {function}")
    if function == "ML.VALIDATE_DATA_SKEW" and "num_histogram_buckets" in options:
        raise invalid_query(f"Invalid argument num_histogram_buckets in the STRUCT of {function}")
    if options.get("enable_visualization_link"):  # the link needs a model registered with Vertex AI
        raise invalid_query(
            "enable_visualization_link = TRUE needs a model registered with Vertex AI "
            "(MODEL_REGISTRY = 'VERTEX_AI'); the local stand-in registers none"
        )
    categorical_metric = str(options.get("categorical_metric_type", "L_INFTY")).upper()
    if categorical_metric not in _METRICS:
        raise invalid_query(
            f"Invalid value for categorical_metric_type: {categorical_metric}. Valid values are L_INFTY and "
            "JENSEN_SHANNON_DIVERGENCE"
        )
    numerical_metric = str(options.get("numerical_metric_type", "JENSEN_SHANNON_DIVERGENCE")).upper()
    if numerical_metric != "JENSEN_SHANNON_DIVERGENCE":
        raise invalid_query(
            f"Invalid value for numerical_metric_type: {numerical_metric}. The only valid value is "
            "JENSEN_SHANNON_DIVERGENCE"
        )
    categorical_default = _threshold(
        options.get("categorical_default_threshold", 0.3), "categorical_default_threshold"
    )
    numerical_default = _threshold(
        options.get("numerical_default_threshold", 0.3), "numerical_default_threshold"
    )
    bins = options.get("num_histogram_buckets", 10)
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 1000:
        raise invalid_query(f"Invalid value for num_histogram_buckets: {bins}; it must be in [1, 1000]")
    for role, frame in (("base" if function.endswith("DRIFT") else "training", base), ("study", study)):
        if frame.empty:
            raise invalid_query(f"{function}: the {role} data has no rows to compute statistics on")
    per_column: dict[str, float] = {}
    for pair in options.get("thresholds") or []:
        if not isinstance(pair, list) or len(pair) != 2:
            raise invalid_query("thresholds must be an ARRAY<STRUCT<STRING, FLOAT64>>, e.g. [('fare', 0.15)]")
        per_column[str(pair[0][1])] = _threshold(pair[1][1], f"the threshold of {pair[0][1]}")
    rows = []
    for column in study.columns:
        if column not in base.columns:
            continue  # only columns present in both are compared, as documented
        numeric = pd.api.types.is_numeric_dtype(base[column]) and not pd.api.types.is_bool_dtype(base[column])
        if numeric and (base[column].isna().all() or study[column].isna().all()):
            continue  # no statistics for a column without values
        if numeric:
            metric = "JENSEN_SHANNON_DIVERGENCE"
            try:
                value = drift.js_divergence(
                    base[column].astype(float), study[column].astype(float), bins=bins
                )
            except (TypeError, ValueError):
                continue  # a type mismatch: the documented behaviour leaves the feature out of the report
            limit = per_column.get(column, numerical_default)
        else:
            metric = categorical_metric
            left, right = base[column].astype(str), study[column].astype(str)
            if metric == "L_INFTY":
                value = drift.l_infinity(left, right)
            else:
                categories = sorted(set(left) | set(right))
                counts = [
                    s.value_counts().reindex(categories, fill_value=0).to_numpy() for s in (left, right)
                ]
                value = float(drift.js_divergence_from_counts(counts[0], counts[1]))
            limit = per_column.get(column, categorical_default)
        rows.append(
            {
                "input": column,
                "metric": metric,
                "threshold": limit,
                "value": float(value),
                "is_anomaly": bool(value > limit),
            }
        )
    return pd.DataFrame(rows, columns=["input", "metric", "threshold", "value", "is_anomaly"])
