"""Feature handling for the BigQuery ML stand-in: the TRANSFORM clause and automatic preprocessing.

Two layers, as in BigQuery ML
(https://cloud.google.com/bigquery/docs/preprocess-overview):

- :class:`Transform` runs a ``TRANSFORM (...)`` clause: its plain SQL expressions in
  DuckDB, and its ML preprocessing functions (``ML.STANDARD_SCALER``,
  ``ML.MIN_MAX_SCALER``, ``ML.QUANTILE_BUCKETIZE``, ``ML.FEATURE_CROSS``,
  ``ML.ONE_HOT_ENCODER``) in pandas with statistics **learned on the training rows**
  and stored, then re-applied unchanged at prediction (the point of TRANSFORM).
- :class:`Encoder` is the automatic preprocessing every model gets: numeric columns
  standardised with NULLs replaced by the training mean, STRING and BOOL columns
  one-hot encoded with NULL as its own category and categories unseen in training
  weighted 0 (https://cloud.google.com/bigquery/docs/auto-preprocessing), TIMESTAMP,
  DATE and DATETIME read as seconds since the epoch (a simplification).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ds500.localcloud.bigquery_ml_sql import closing_paren, find_calls, literal, split_top_level
from ds500.localcloud.bigquery_sql import invalid_query

__all__ = ["Encoder", "Transform", "run_duckdb"]

PREPROCESSING_DOCS = (
    "https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-preprocessing-functions"
)
_PREPROCESSORS = {
    "STANDARD_SCALER",
    "MIN_MAX_SCALER",
    "QUANTILE_BUCKETIZE",
    "FEATURE_CROSS",
    "ONE_HOT_ENCODER",
}
_NULL = "__NULL__"


def run_duckdb(sql: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Run one GoogleSQL SELECT over ``frame`` (named ``_input``) in a private DuckDB connection."""
    import duckdb
    import sqlglot

    try:
        translated = sqlglot.transpile(sql, read="bigquery", write="duckdb")[0]
    except sqlglot.errors.ParseError as error:
        raise invalid_query(f"Syntax error in TRANSFORM: {error}") from error
    connection = duckdb.connect()
    try:
        connection.register("_input", frame)
        return connection.execute(translated).df()
    except duckdb.Error as error:
        raise invalid_query(f"Invalid TRANSFORM expression: {str(error).splitlines()[0]}") from error
    finally:
        connection.close()


def _quantile_edges(values: pd.Series, buckets: int) -> list[float]:
    """Interior bucket boundaries like APPROX_QUANTILES: 1..5 in 3 buckets -> [2, 4] (docs' example)."""
    clean = values.dropna().to_numpy(dtype=float)
    if clean.size == 0:
        return []
    probs = [k / buckets for k in range(1, buckets)]
    return sorted(set(np.quantile(clean, probs, method="inverted_cdf").tolist()))


@dataclass
class _Step:
    """One ML preprocessing call inside a TRANSFORM item, with its learned statistics."""

    function: str
    argument: str
    extra: list[Any]
    stats: dict[str, Any] = field(default_factory=dict)

    def apply(self, values: pd.Series, fit: bool) -> pd.Series:
        if self.function == "STANDARD_SCALER":
            numbers = pd.to_numeric(values, errors="coerce").astype(float)
            if fit:
                self.stats = {"mean": float(numbers.mean()), "stddev": float(numbers.std(ddof=1))}
            sd = self.stats["stddev"] or 1.0
            return (numbers - self.stats["mean"]) / sd
        if self.function == "MIN_MAX_SCALER":
            numbers = pd.to_numeric(values, errors="coerce").astype(float)
            if fit:
                self.stats = {"min": float(numbers.min()), "max": float(numbers.max())}
            span = (self.stats["max"] - self.stats["min"]) or 1.0
            return ((numbers - self.stats["min"]) / span).clip(0.0, 1.0)
        if self.function == "QUANTILE_BUCKETIZE":
            numbers = pd.to_numeric(values, errors="coerce").astype(float)
            if not self.extra or not isinstance(self.extra[0], int) or self.extra[0] < 1:
                raise invalid_query("ML.QUANTILE_BUCKETIZE needs num_buckets, a positive INT64")
            if fit:
                self.stats = {"boundaries": _quantile_edges(numbers, self.extra[0])}
            edges = np.asarray(self.stats["boundaries"], dtype=float)
            index = np.searchsorted(edges, numbers.to_numpy(), side="right") + 1
            out = pd.Series([f"bin_{i}" for i in index], index=values.index, dtype=object)
            return out.where(numbers.notna(), None)
        if self.function == "ONE_HOT_ENCODER":
            # the model's own encoder one-hot encodes the category with the training vocabulary
            text = values.astype(object).where(values.notna(), None)
            if fit:
                self.stats = {"categories": sorted({str(v) for v in text.dropna()})}
            known = set(self.stats["categories"])
            return text.map(lambda v: str(v) if v is not None and str(v) in known else None)
        if self.function == "FEATURE_CROSS":

            def cross(record: Any) -> dict[str, str | None]:
                if not isinstance(record, dict):
                    raise invalid_query("ML.FEATURE_CROSS takes a STRUCT of categorical features")
                names, degree = list(record), int(self.extra[0]) if self.extra else 2
                from itertools import combinations

                crossed: dict[str, str | None] = {}
                for size in range(2, degree + 1):
                    for combo in combinations(names, size):
                        parts = [record[n] for n in combo]
                        key = "_".join(combo)
                        crossed[key] = None if any(p is None for p in parts) else "_".join(map(str, parts))
                return crossed

            return values.map(cross)
        raise invalid_query(f"Function not found: ML.{self.function}")


class Transform:
    """A TRANSFORM clause: fitted once on the training rows, applied with the same statistics after.

    Args:
        items: the clause's select items (``expr AS alias`` or a column name).
    """

    def __init__(self, items: list[str]) -> None:
        if not items:
            raise invalid_query("TRANSFORM needs at least one column")
        self.items: list[str] = []
        self.steps: list[_Step] = []
        self.fitted = False
        for item in items:
            rewritten, offset = item, 0
            for call in find_calls(item, _PREPROCESSORS):
                args = split_top_level(item[item.index("(", call.start) + 1 : call.end - 1])
                if not args:
                    raise invalid_query(f"ML.{call.function} needs an argument ({PREPROCESSING_DOCS})")
                extra = []
                for arg in args[1:]:
                    try:
                        extra.append(literal(arg))
                    except ValueError as error:
                        raise invalid_query(f"ML.{call.function}: {arg} must be a literal") from error
                end = call.end
                over = re.match(r"(?is)\s*OVER\s*\(", item[end:])
                if over:
                    end = closing_paren(item, end + over.end() - 1) + 1
                elif call.function not in ("FEATURE_CROSS",):
                    raise invalid_query(
                        f"ML.{call.function} is an analytic function in TRANSFORM: write "
                        f"ML.{call.function}(...) OVER () ({PREPROCESSING_DOCS})"
                    )
                placeholder = f"__ml_step_{len(self.steps)}"
                self.steps.append(_Step(call.function, args[0], extra))
                rewritten = rewritten[: call.start + offset] + placeholder + rewritten[end + offset :]
                offset += len(placeholder) - (end - call.start)
            self.items.append(rewritten)
        self.input_columns: list[str] = []

    def apply(self, frame: pd.DataFrame, *, fit: bool = False) -> pd.DataFrame:
        """The TRANSFORM's output for ``frame``; ``fit=True`` learns the statistics (training only)."""
        if not fit and not self.fitted:
            raise RuntimeError("Transform.apply before fit")
        work = frame.copy()
        if self.steps:
            arguments = run_duckdb(
                "SELECT "
                + ", ".join(f"{s.argument} AS __arg_{i}" for i, s in enumerate(self.steps))
                + " FROM _input",
                frame,
            )
            for i, step in enumerate(self.steps):
                work[f"__ml_step_{i}"] = step.apply(arguments[f"__arg_{i}"], fit).to_numpy()
        out = run_duckdb("SELECT " + ", ".join(self.items) + " FROM _input", work)
        if fit:
            self.fitted = True
            self.input_columns = list(frame.columns)
        return expand_structs(out)


def expand_structs(frame: pd.DataFrame) -> pd.DataFrame:
    """STRUCT columns (dict values, as ML.FEATURE_CROSS returns) become one column per field."""
    for column in list(frame.columns):
        sample = frame[column].dropna()
        if len(sample) and isinstance(sample.iloc[0], dict):
            fields = pd.DataFrame(list(frame[column].map(lambda v: v or {})), index=frame.index)
            frame = frame.drop(columns=[column]).join(fields.add_prefix(f"{column}_"))
    return frame


def _kind(series: pd.Series) -> str:
    if (
        pd.api.types.is_bool_dtype(series)
        or pd.api.types.is_object_dtype(series)
        or isinstance(series.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(series)
    ):
        sample = series.dropna()
        if len(sample) and all(
            isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in sample[:50]
        ):
            return "numeric"
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "time"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "categorical"


def _as_number(series: pd.Series, kind: str) -> np.ndarray:
    if kind == "time":
        stamps = pd.to_datetime(series, utc=True)
        return ((stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()).to_numpy(dtype=float)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _categories(series: pd.Series) -> np.ndarray:
    """Category labels as strings, NULL as its own category."""
    return series.astype(object).where(series.notna(), _NULL).astype(str).to_numpy()


class Encoder:
    """BigQuery ML's automatic preprocessing, fitted on training rows.

    Args:
        standardize: whether numeric features are standardised (k-means'
            STANDARDIZE_FEATURES; always TRUE for the other models, which only
            changes the scale of the weights, not the predictions).
    """

    def __init__(self, standardize: bool = True) -> None:
        self.standardize = standardize
        self.features: list[str] = []
        self.kinds: dict[str, str] = {}
        self.means: dict[str, float] = {}
        self.stds: dict[str, float] = {}
        self.vocab: dict[str, list[str]] = {}
        self.columns: list[tuple[str, str | None]] = []  # (feature, category or None) per matrix column

    def fit(self, frame: pd.DataFrame) -> Encoder:
        self.features = list(frame.columns)
        for name in self.features:
            kind = _kind(frame[name])
            self.kinds[name] = kind
            if kind in ("numeric", "time"):
                values = _as_number(frame[name], kind)
                mean = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
                std = float(np.nanstd(values)) if np.isfinite(values).any() else 0.0
                self.means[name], self.stds[name] = mean, (std if std > 0 else 1.0)
                self.columns.append((name, None))
            else:
                self.vocab[name] = sorted(set(_categories(frame[name])))
                self.columns.extend((name, c) for c in self.vocab[name])
        return self

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's input matrix for ``frame`` (columns as in :attr:`columns`)."""
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise invalid_query(
                f"Invalid table-valued function: the input data has no column {missing[0]}, which the model "
                "was trained with (pass every feature column of the training query)"
            )
        blocks = []
        for name in self.features:
            kind = self.kinds[name]
            if kind in ("numeric", "time"):
                values = _as_number(frame[name], kind)
                values = np.where(np.isfinite(values), values, self.means[name])
                if self.standardize:
                    values = (values - self.means[name]) / self.stds[name]
                blocks.append(values[:, None])
            else:
                cats = _categories(frame[name])
                vocab = self.vocab[name]
                blocks.append((cats[:, None] == np.asarray(vocab, dtype=object)[None, :]).astype(float))
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))

    def group(self, values: np.ndarray) -> np.ndarray:
        """Sum per-matrix-column values (e.g. attributions) back to one value per feature."""
        out = np.zeros(values.shape[:-1] + (len(self.features),))
        index = {f: i for i, f in enumerate(self.features)}
        for j, (feature, _) in enumerate(self.columns):
            out[..., index[feature]] += values[..., j]
        return out
