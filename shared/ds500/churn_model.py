"""The reference churn model: one schema, one preprocessing, one model directory.

Why a module: the prediction service (lab 10), its load tests (lab 11), the KFP
pipeline (lab 12) and the monitoring lab (14) must all turn a customer record into
model input *the same way*. Training–serving skew usually starts as two copies of
the preprocessing that drift apart; here there is exactly one,
:func:`prepare_features`, and one post-processing, :func:`postprocess`.

The model directory (what Vertex AI calls the artifact URI and hands to a custom
container as ``AIP_STORAGE_URI``) holds two files:

- ``model.skops``: the fitted scikit-learn pipeline, saved with **skops** rather
  than joblib/pickle. Loading a pickle runs arbitrary code, so a tampered model file
  is a remote-code-execution hole in the serving container; skops stores the object
  graph as data and refuses types outside an allow-list. (Vertex AI's *prebuilt*
  scikit-learn containers expect ``model.joblib`` or ``model.pkl``; a custom
  container, like ours, may choose.)
- ``model.json``: version, feature schema, threshold and training metrics, readable
  without unpickling anything, and the fitted pipeline's formula (``compiled``, from
  :class:`ds500.fastpath.CompiledPipeline`, with the SHA-256 of the ``model.skops`` it
  was read from), so that the service's fast path starts without scikit-learn.

Example::

    from ds500 import churn_model
    model_dir = churn_model.build_reference_model_dir("/tmp/churn-model")
    model = churn_model.load_model_dir(model_dir)
    model.predict(frame)  # [{"churn_probability": 0.61, "churn": True}, ...]
"""

from __future__ import annotations

import hashlib
import importlib.abc
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ds500.fastpath import CompiledPipeline

if TYPE_CHECKING:  # pragma: no cover - pandas and sklearn are imported lazily
    from types import ModuleType

    import pandas as pd

__all__ = [
    "BINARY_FEATURES",
    "CATEGORICAL_FEATURES",
    "DERIVED_FEATURES",
    "FEATURES",
    "LABEL",
    "METADATA_FILE",
    "MODEL_FILE",
    "NUMERIC_FEATURES",
    "CompiledModel",
    "LoadedModel",
    "batch_predict",
    "build_pipeline",
    "build_reference_model_dir",
    "labels",
    "load_compiled_model",
    "load_model_dir",
    "postprocess",
    "prepare_features",
    "prepare_records",
    "save_model_dir",
    "train_model",
]

LABEL = "churn"
"""The label column of the fixture: ``"Yes"`` / ``"No"``."""

NUMERIC_FEATURES: tuple[str, ...] = ("tenure", "monthly_charges", "total_charges")
BINARY_FEATURES: tuple[str, ...] = (
    "female",
    "senior_citizen",
    "partner",
    "dependents",
    "phone_service",
    "paperless_billing",
)
_ADD_ON = ("No", "Yes", "No internet service")
CATEGORICAL_FEATURES: dict[str, tuple[str, ...]] = {
    "multiple_lines": ("No", "Yes", "No phone service"),
    "internet_service": ("DSL", "Fiber optic", "No"),
    "online_security": _ADD_ON,
    "online_backup": _ADD_ON,
    "device_protection": _ADD_ON,
    "tech_support": _ADD_ON,
    "streaming_tv": _ADD_ON,
    "streaming_movies": _ADD_ON,
    "contract": ("Month-to-month", "One year", "Two year"),
    "payment_method": (
        "Bank transfer (automatic)",
        "Credit card (automatic)",
        "Electronic check",
        "Mailed check",
    ),
}
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + BINARY_FEATURES + tuple(CATEGORICAL_FEATURES)
"""The raw input columns a request (or a file row) must carry, in this order."""

DERIVED_FEATURES: tuple[str, ...] = ("avg_monthly_spend", "n_add_ons")
"""Columns :func:`prepare_features` computes from the raw ones."""

MODEL_FILE = "model.skops"
METADATA_FILE = "model.json"
_ADD_ON_COLUMNS = (
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
)


# -- preprocessing (shared by training, the service, batch prediction, the pipeline) --
def prepare_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn raw customer records into the model's input table.

    The one preprocessing function of the course's churn model. It:

    - checks that every column of :data:`FEATURES` is present (extra columns such as
      ``churn`` or ``rownames`` are dropped, so a training table and a request batch
      go through the same code);
    - fills a blank ``total_charges`` with 0: blanks belong to customers with tenure
      0, who have not been billed yet (filling with the mean would invent bills);
    - refuses unknown categories, negative or non-finite numbers, and binary flags
      other than 0/1, naming the column and the first offending row;
    - adds :data:`DERIVED_FEATURES`: ``avg_monthly_spend`` (total charges per month
      of tenure, or the monthly charge for a new customer) and ``n_add_ons`` (how
      many of the six internet add-ons the customer has).

    Args:
        frame: a pandas DataFrame with at least the :data:`FEATURES` columns.

    Returns:
        A new DataFrame with the raw features then the derived ones, same index.

    Raises:
        TypeError: if ``frame`` is not a DataFrame.
        ValueError: for missing columns or invalid values (the message says which).
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"prepare_features needs a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in FEATURES if c not in frame.columns]
    if missing:
        raise ValueError(f"missing feature columns: {missing}")
    if frame.empty:
        raise ValueError("prepare_features got an empty table: there is nothing to predict")
    import numpy as np

    raw = {col: frame[col].to_numpy(dtype=object) for col in FEATURES}
    columns = _prepare_columns(raw, frame.index)
    return pd.DataFrame(  # text stays object (not pandas' string dtype), numbers float64 or int64
        {col: np.array(values, dtype=object if col in CATEGORICAL_FEATURES else None)
         for col, values in columns.items()},
        index=frame.index,
    )


def prepare_records(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """:func:`prepare_features` for a list of records, without building a DataFrame.

    Why: a prediction request carries one or a few records, and building a pandas
    DataFrame (or even one NumPy array per column) for them costs more than scoring
    them. This runs the same checks and derivations (the same code:
    :func:`prepare_features` calls it too) on plain Python values, and returns a dict
    ``{column: list}`` in the order of :data:`FEATURES` then :data:`DERIVED_FEATURES`:
    numbers as floats, flags and counts as ints, categories as strings.

    Raises:
        TypeError: if ``records`` is not a list of mappings.
        ValueError: for an empty list, missing keys or invalid values (the row is the
            record's position).
    """
    if isinstance(records, str | bytes) or not isinstance(records, Sequence):
        raise TypeError(f"prepare_records needs a list of records (dicts), got {type(records).__name__}")
    if not records:
        raise ValueError("prepare_records got no records: there is nothing to predict")
    for position, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise TypeError(f"record {position} is a {type(record).__name__}, not a mapping")
        missing = [c for c in FEATURES if c not in record]
        if missing:
            raise ValueError(f"record {position} misses feature columns: {missing}")
    raw = {col: [record[col] for record in records] for col in FEATURES}
    return _prepare_columns(raw, range(len(records)))


def _numbers(values: Sequence[Any]) -> list[float]:
    """``pd.to_numeric(values, errors="coerce")`` as floats, without pandas for plain numbers.

    Why: a JSON request carries ints, floats and nulls, which ``float`` converts exactly as
    pandas does (``None`` becomes NaN); importing pandas and calling it costs a service
    worker about 0.7 s at its first request (2-core machine) and microseconds at every one. Anything
    else (text such as the fixture's blank bills, booleans) still goes through pandas.
    """
    if all(v is None or isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [math.nan if v is None else float(v) for v in values]
    import numpy as np
    import pandas as pd

    return np.asarray(pd.to_numeric(np.asarray(values, dtype=object), errors="coerce"), dtype=float).tolist()


def _prepare_columns(raw: Mapping[str, Sequence[Any]], index: Sequence[Any]) -> dict[str, list[Any]]:
    """The checks and derivations shared by :func:`prepare_features` and :func:`prepare_records`.

    Plain Python per value, no NumPy call per column: a request holds a handful of rows,
    and per-call NumPy or pandas overhead would dominate the service's latency.

    Args:
        raw: one sequence (a list or an object array) per column of :data:`FEATURES`, all of
            one length.
        index: the row labels used in error messages.
    """
    columns: dict[str, list[Any]] = {}
    for col in NUMERIC_FEATURES:
        values = _numbers(raw[col])
        if col == "total_charges":
            values = [0.0 if math.isnan(v) else v for v in values]  # not billed yet (tenure 0)
        bad = [not (math.isfinite(v) and v >= 0) for v in values]
        _refuse(raw, index, col, bad, "needs finite numbers >= 0")
        columns[col] = values
    for col in BINARY_FEATURES:
        _refuse(raw, index, col, [isinstance(v, str) or v not in (0, 1) for v in raw[col]], "must be 0 or 1")
        columns[col] = [int(v) for v in raw[col]]
    for col, allowed in CATEGORICAL_FEATURES.items():
        _refuse(raw, index, col, [v not in allowed for v in raw[col]],
                f"has an unknown category (allowed: {list(allowed)})")
        columns[col] = list(raw[col])
    bills = zip(columns["total_charges"], columns["tenure"], columns["monthly_charges"], strict=True)
    columns["avg_monthly_spend"] = [total / n if n > 0 else monthly for total, n, monthly in bills]
    add_ons = zip(*(raw[c] for c in _ADD_ON_COLUMNS), strict=True)
    columns["n_add_ons"] = [sum(v == "Yes" for v in row) for row in add_ons]
    return columns


def _refuse(
    raw: Mapping[str, Sequence[Any]], index: Sequence[Any], col: str, bad: list[bool], problem: str
) -> None:
    """Raise a ValueError naming the column, the first bad row and its value."""
    if any(bad):
        position = bad.index(True)
        raise ValueError(f"column {col!r} {problem}; row {index[position]!r} has {raw[col][position]!r}")


def labels(frame: pd.DataFrame) -> Any:
    """The 0/1 label vector (1 = churned) from the fixture's ``churn`` Yes/No column.

    Raises:
        ValueError: if the column is missing or holds values other than Yes/No.
    """
    if LABEL not in frame.columns:
        raise ValueError(f"the table has no {LABEL!r} label column")
    values = frame[LABEL]
    if not values.isin(["Yes", "No"]).all():
        raise ValueError(f"column {LABEL!r} must hold 'Yes' or 'No' only")
    return values.eq("Yes").astype(int).to_numpy()


def postprocess(probabilities: Sequence[float] | Any, threshold: float = 0.5) -> list[dict[str, Any]]:
    """Turn churn probabilities into the prediction objects the service returns.

    One function for the online service and for batch prediction, so both answer in
    the same shape: ``{"churn_probability": 0.6123, "churn": True}``.

    Args:
        probabilities: probabilities of the positive class, each in [0, 1].
        threshold: a probability at or above it is reported as ``churn: True``.

    Raises:
        ValueError: if ``threshold`` is not strictly between 0 and 1.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ValueError(f"threshold must be a number strictly between 0 and 1, got {threshold!r}")
    return [
        {"churn_probability": round(float(p), 6), "churn": bool(float(p) >= threshold)} for p in probabilities
    ]


# -- training -----------------------------------------------------------------------
def build_pipeline(*, seed: int = 42, C: float = 1.0) -> Any:
    """An unfitted scikit-learn pipeline for the output of :func:`prepare_features`.

    One-hot encoding with the categories fixed from the schema (so a category absent
    from a training sample still gets its column), standard scaling of the numbers,
    and an L2-regularised logistic regression: small, fast to serve, and good enough
    to teach serving (ROC-AUC about 0.85 on the fixture).

    Args:
        seed: the ``random_state`` of the classifier.
        C: inverse regularisation strength (> 0).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if isinstance(C, bool) or not isinstance(C, (int, float)) or not C > 0:
        raise ValueError(f"C must be a positive number, got {C!r}")
    cats = list(CATEGORICAL_FEATURES)
    encoder = OneHotEncoder(categories=[list(CATEGORICAL_FEATURES[c]) for c in cats], drop="first")
    columns = ColumnTransformer(
        [
            ("categories", encoder, cats),
            ("numbers", StandardScaler(), list(NUMERIC_FEATURES + DERIVED_FEATURES)),
            ("flags", "passthrough", list(BINARY_FEATURES)),
        ]
    )
    classifier = LogisticRegression(C=float(C), max_iter=1000, random_state=seed)
    return Pipeline([("columns", columns), ("classifier", classifier)])


def train_model(
    frame: pd.DataFrame, *, seed: int = 42, C: float = 1.0, test_size: float = 0.25
) -> tuple[Any, dict[str, float]]:
    """Fit :func:`build_pipeline` on a stratified split and measure it on the rest.

    Args:
        frame: raw records with the :data:`FEATURES` and the ``churn`` label.
        seed: seeds the split and the classifier.
        C: inverse regularisation strength.
        test_size: share held out for the metrics, in (0, 1).

    Returns:
        ``(pipeline, metrics)``; metrics has ``roc_auc``, ``pr_auc``, ``accuracy``,
        ``n_train``, ``n_test`` (floats).
    """
    from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie strictly between 0 and 1, got {test_size!r}")
    X, y = prepare_features(frame), labels(frame)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=seed
    )
    pipeline = build_pipeline(seed=seed, C=C).fit(X_train, y_train)
    scores = pipeline.predict_proba(X_test)[:, 1]
    metrics = {
        "roc_auc": float(roc_auc_score(y_test, scores)),
        "pr_auc": float(average_precision_score(y_test, scores)),
        "accuracy": float(accuracy_score(y_test, scores >= 0.5)),
        "n_train": float(len(y_train)),
        "n_test": float(len(y_test)),
    }
    return pipeline, metrics


# -- the model directory ----------------------------------------------------------------
@dataclass
class LoadedModel:
    """A model directory loaded once, ready to predict.

    Attributes:
        pipeline: the fitted scikit-learn pipeline.
        version: the model version from ``model.json`` (shown in logs and headers).
        threshold: the default decision threshold.
        metadata: everything else ``model.json`` holds.
    """

    pipeline: Any
    version: str
    threshold: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        """Churn probabilities for raw records (preprocessed by :func:`prepare_features`)."""
        return self.pipeline.predict_proba(prepare_features(frame))[:, 1]

    def predict(self, frame: pd.DataFrame, threshold: float | None = None) -> list[dict[str, Any]]:
        """Prediction objects for raw records: preprocess, score, :func:`postprocess`."""
        return postprocess(self.predict_proba(frame), self.threshold if threshold is None else threshold)


class _SkipTorchShim(importlib.abc.MetaPathFinder):
    """Refuse scikit-learn's torch shim, ``sklearn.externals.array_api_compat.torch``, only."""

    NAME = "sklearn.externals.array_api_compat.torch"

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == self.NAME:
            raise ImportError(f"{self.NAME} is skipped while skops.io lists scikit-learn's estimators")
        return None


def _skops_io() -> ModuleType:
    """Import ``skops.io`` without importing torch.

    Why: importing ``skops.io`` lists scikit-learn's estimators with ``all_estimators()``, which
    imports every scikit-learn package on its way, and scikit-learn's array-API shim for torch
    imports torch itself: 1-2 s on a quiet 2-core machine and up to 10 s under load, paid by every
    serving worker and every pipeline step, for a model that never touches torch. The walk skips a
    package that fails to import, so the shim alone is refused for the length of this import (torch
    itself stays importable from other threads); the list of trusted types is the same either way.
    """
    if "skops.io" not in sys.modules and "torch" not in sys.modules:
        shim = _SkipTorchShim()
        sys.meta_path.insert(0, shim)
        try:
            import skops.io
        finally:
            sys.meta_path.remove(shim)
    import skops.io

    return skops.io


def save_model_dir(
    pipeline: Any,
    directory: str | Path,
    *,
    version: str = "1",
    threshold: float = 0.5,
    metrics: dict[str, float] | None = None,
) -> Path:
    """Write ``model.skops`` and ``model.json`` into ``directory`` (created if needed).

    ``model.json`` also gets the pipeline's formula when :class:`~ds500.fastpath.CompiledPipeline`
    compiles it (see :func:`load_compiled_model`).

    Args:
        pipeline: a fitted pipeline from :func:`build_pipeline`.
        directory: the model directory (a local path; upload it to Cloud Storage
            to use it as a Vertex AI ``artifact_uri``).
        version: a short version label, e.g. ``"1"`` or ``"2026-11-26"``.
        threshold: the default decision threshold, strictly between 0 and 1.
        metrics: evaluation metrics to record beside the model.

    Returns:
        The directory as a ``Path``.
    """
    import sklearn

    skops_io = _skops_io()
    postprocess([], threshold)  # validates the threshold
    if not isinstance(version, str) or not version.strip():
        raise ValueError(f"version must be a non-empty string, got {version!r}")
    if not hasattr(pipeline, "predict_proba"):
        raise TypeError(
            f"pipeline must be a fitted classifier with predict_proba, got {type(pipeline).__name__}"
        )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    skops_io.dump(pipeline, folder / MODEL_FILE)
    try:
        formula = CompiledPipeline.from_pipeline(pipeline).to_dict()
        compiled = {"model_sha256": _sha256(folder / MODEL_FILE), **formula}
    except ValueError:  # another pipeline shape: the service serves it with scikit-learn
        compiled = None
    meta = {
        "version": version.strip(),
        "threshold": float(threshold),
        "features": list(FEATURES),
        "categories": {k: list(v) for k, v in CATEGORICAL_FEATURES.items()},
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "format": "skops",
        "scikit_learn": sklearn.__version__,
    }
    if compiled:
        meta["compiled"] = compiled
    (folder / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder


SKLEARN_INTERNAL_TYPES = frozenset({"sklearn.compose._column_transformer._RemainderColsList"})
"""scikit-learn's own helper types that skops does not trust by default in some versions
(1.5-1.6 keep the column transformer's remainder columns in this list subclass)."""


def _read_metadata(folder: Path) -> tuple[str, float, dict[str, Any]]:
    """``(version, threshold, everything)`` of a model directory's ``model.json``.

    Raises:
        FileNotFoundError: if the folder or one of its two files is missing.
        ValueError: if ``model.json`` is not a valid model description.
    """
    for name in (MODEL_FILE, METADATA_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name} not found: a churn model directory holds {MODEL_FILE} and "
                f"{METADATA_FILE} (build one with ds500.churn_model.build_reference_model_dir)"
            )
    try:
        meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        return str(meta["version"]), float(meta["threshold"]), meta
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{folder / METADATA_FILE} is not a valid model description: {error}") from error


def _sha256(path: Path) -> str:
    """The SHA-256 of a file, in hex: ties the stored formula to the exact ``model.skops``."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class CompiledModel:
    """A model directory's stored formula, loaded without scikit-learn (the service's fast path).

    Attributes:
        formula: the pipeline's arithmetic.
        version: the model version from ``model.json``.
        threshold: the default decision threshold.
    """

    formula: CompiledPipeline
    version: str
    threshold: float


def load_compiled_model(directory: str | Path) -> CompiledModel:
    """Load the formula :func:`save_model_dir` stored in ``model.json``, without scikit-learn.

    Why: loading ``model.skops`` imports scikit-learn (skops lists every estimator), about two
    thirds of a service worker's start-up; a replica that starts faster takes load sooner when
    an autoscaler adds it. The formula is checked against ``model.skops`` by its SHA-256, so a
    model file replaced after the formula was written is never served with a stale formula.

    Raises:
        FileNotFoundError: if the folder or one of its two files is missing.
        LookupError: if ``model.json`` holds no formula (another pipeline shape, or a folder
            written before formulas were stored): load it with :func:`load_model_dir`.
        ValueError: if ``model.json`` is invalid, or its formula belongs to another ``model.skops``.
    """
    folder = Path(directory)
    version, threshold, meta = _read_metadata(folder)
    stored = meta.get("compiled")
    if not isinstance(stored, dict):
        raise LookupError(
            f"{folder / METADATA_FILE} holds no compiled formula; load the model with load_model_dir"
        )
    if stored.get("model_sha256") != _sha256(folder / MODEL_FILE):
        raise ValueError(
            f"the formula in {folder / METADATA_FILE} was written for another {MODEL_FILE} "
            "(its SHA-256 differs): write the folder again with save_model_dir"
        )
    return CompiledModel(CompiledPipeline.from_dict(stored), version, threshold)


def load_model_dir(directory: str | Path) -> LoadedModel:
    """Load a model directory written by :func:`save_model_dir`.

    Only scikit-learn's own types are trusted; anything else in the file makes
    skops refuse it, which is the point of not using pickle.

    Raises:
        FileNotFoundError: if the folder or one of its two files is missing.
        ValueError: if ``model.json`` is not valid or the file holds untrusted types.
    """
    folder = Path(directory)
    version, threshold, meta = _read_metadata(folder)
    skops_io = _skops_io()
    found = skops_io.get_untrusted_types(file=folder / MODEL_FILE)
    untrusted = [name for name in found if name not in SKLEARN_INTERNAL_TYPES]
    if untrusted:
        raise ValueError(f"{folder / MODEL_FILE} holds types outside the allow-list: {untrusted}")
    pipeline = skops_io.load(folder / MODEL_FILE, trusted=list(found))
    return LoadedModel(pipeline=pipeline, version=version, threshold=threshold, metadata=meta)


def build_reference_model_dir(
    directory: str | Path,
    *,
    frame: pd.DataFrame | None = None,
    version: str = "1",
    seed: int = 42,
    C: float = 1.0,
) -> Path:
    """Train the course's reference churn model and write its model directory.

    Labs 11 and 14 start from this directory; lab 10 shows the same steps one by
    one. It takes about a second on the 7,043-row fixture.

    Args:
        directory: where to write ``model.skops`` and ``model.json``.
        frame: the training records; defaults to the ``telco_churn`` fixture.
        version: the version label written to ``model.json``.
        seed: seeds the split and the classifier.
        C: inverse regularisation strength (a different ``C`` gives a "v2").

    Returns:
        The model directory.
    """
    if frame is None:
        from ds500 import fixtures

        frame = fixtures.load("telco_churn")
    pipeline, metrics = train_model(frame, seed=seed, C=C)
    return save_model_dir(pipeline, directory, version=version, metrics=metrics)


# -- batch prediction -----------------------------------------------------------------
def _read_records(source: Path) -> pd.DataFrame:
    import pandas as pd

    suffix = source.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(source)
    if suffix in (".jsonl", ".json"):
        return pd.read_json(source, lines=True)
    raise ValueError(f"batch_predict reads .csv or .jsonl files, got {source.name!r}")


def batch_predict(
    model_dir: str | Path | LoadedModel,
    source: str | Path,
    destination: str | Path,
    *,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Score a file of records offline, by the same code path as the online service.

    Like a Vertex AI batch prediction job with JSON Lines output, every output line
    holds ``{"instance": {...}, "prediction": {...}}``.

    Args:
        model_dir: a model directory, or a model already loaded.
        source: a ``.csv`` or ``.jsonl`` file with the :data:`FEATURES` columns.
        destination: the ``.jsonl`` file to write.
        threshold: overrides the model's default threshold.

    Returns:
        The input records with ``churn_probability`` and ``churn`` columns added.
    """
    import pandas as pd

    model = model_dir if isinstance(model_dir, LoadedModel) else load_model_dir(model_dir)
    source, destination = Path(source), Path(destination)
    if not source.is_file():
        raise FileNotFoundError(f"batch input {source} not found")
    records = _read_records(source)
    predictions = model.predict(records, threshold)
    instances = records.loc[:, list(FEATURES)].astype(object).where(records[list(FEATURES)].notna(), None)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with destination.open("w", encoding="utf-8") as out:
        for instance, prediction in zip(instances.to_dict(orient="records"), predictions, strict=True):
            clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in instance.items()}
            out.write(json.dumps({"instance": clean, "prediction": prediction}, default=_json_default) + "\n")
    return records.assign(**pd.DataFrame(predictions, index=records.index))


def _json_default(value: Any) -> Any:
    """numpy scalars to plain Python for ``json.dumps``."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
