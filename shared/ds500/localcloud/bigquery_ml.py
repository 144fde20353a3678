"""BigQuery ML in the local stand-in: the statements the labs teach, answered with scikit-learn/statsmodels.

The BigQuery service (:mod:`ds500.localcloud.bigquery`) runs GoogleSQL on DuckDB; any
statement for which :func:`is_ml` is true goes through :func:`rewrite` first:

- ``CREATE [OR REPLACE] MODEL ... [TRANSFORM (...)] OPTIONS (...) AS SELECT ...`` runs
  the ``AS SELECT`` through the ``query`` callable, fits the model locally
  (:mod:`.bigquery_ml_models`, :mod:`.bigquery_ml_series`) and stores it; ``DROP MODEL``
  deletes it. Nothing is left to run (``sql`` is None).
- Any other statement with ``ML.PREDICT``, ``ML.EVALUATE``, ``ML.FORECAST``,
  ``ML.EXPLAIN_PREDICT``, ``ML.GLOBAL_EXPLAIN``, ``ML.FEATURE_INFO``, ``ML.TRAINING_INFO``,
  ``ML.TRIAL_INFO``, ``ML.CENTROIDS``, ``ML.ARIMA_EVALUATE``, ``ML.FEATURES_AT_TIME``,
  ``ML.ENTITY_FEATURES_AT_TIME``, ``ML.VALIDATE_DATA_SKEW`` or ``ML.VALIDATE_DATA_DRIFT``:
  each call is computed here as a DataFrame and replaced in the statement by a
  temporary table name (``_ml_result_1`` ...), so the joins, filters, ``UNNEST`` and
  ``CREATE TABLE AS`` around it still run in the BigQuery service.
- Remote models over Gemini (``CREATE MODEL ... REMOTE WITH CONNECTION ... OPTIONS (ENDPOINT =
  ...)``) and the generative functions ``AI.GENERATE_TEXT`` and ``ML.GENERATE_TEXT`` are
  checked and answered by :mod:`.bigquery_ml_remote`: no Gemini model runs, every row's text
  is the genai stand-in's labelled placeholder.

Models live in the stand-in's :class:`~ds500.localcloud.store.Store` as BigQuery's REST
``Model`` resource (``projects/{p}/datasets/{d}/models/{m}``: ``client.get_model``,
``list_models``, ``delete_model``, and deleted with their dataset), with the fitted
objects kept beside it. Every model is labelled a local approximation (its
``description`` and the label ``ds500-local-approximation``), and :data:`NOTE` is the
sentence to show under results. Errors use BigQuery's wording
(``Not found: Model p:d.m``, ``Invalid value for option MODEL_TYPE``).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ds500.localcloud import bigquery_ml_remote as remote
from ds500.localcloud.bigquery_ml_sql import (
    Argument,
    MLCall,
    code_positions,
    find_calls,
    literal,
    parse_create_model,
    parse_struct,
    unquote,
)
from ds500.localcloud.bigquery_sql import BigQueryError, invalid_query
from ds500.localcloud.errors import GoogleError
from ds500.localcloud.routing import Collection, Router
from ds500.localcloud.store import Store

if TYPE_CHECKING:  # pragma: no cover - pandas and scikit-learn load on the first ML statement
    import pandas as pd

    from ds500.localcloud.bigquery_ml_models import LocalModel

    AnyModel = LocalModel | remote.RemoteModel

__all__ = ["NOTE", "MLRewrite", "get_model", "is_ml", "register", "rewrite"]

NOTE = (
    "BigQuery ML answered by the local stand-in: models are fitted with scikit-learn and statsmodels, "
    "a local approximation (BigQuery ML's optimisers and defaults differ, so numbers will not match "
    "to the digit)."
)
_FUNCTIONS = {
    "PREDICT",
    "EVALUATE",
    "FORECAST",
    "EXPLAIN_PREDICT",
    "GLOBAL_EXPLAIN",
    "FEATURE_INFO",
    "TRAINING_INFO",
    "TRIAL_INFO",
    "CENTROIDS",
    "ARIMA_EVALUATE",
    "FEATURES_AT_TIME",
    "ENTITY_FEATURES_AT_TIME",
    "VALIDATE_DATA_SKEW",
    "VALIDATE_DATA_DRIFT",
}
_ANY_CALL = re.compile(r"\b(ML|AI)\s*\.\s*([A-Z_]+)\s*\(", re.IGNORECASE)
_CREATE = re.compile(r"(?is)^\s*CREATE\s+(OR\s+REPLACE\s+)?MODEL\b")
_DROP = re.compile(r"(?is)^\s*DROP\s+MODEL\s+(IF\s+EXISTS\s+)?(`[^`]+`|[\w.\-]+)\s*;?\s*$")
_UNSUPPORTED_DDL = re.compile(r"(?is)^\s*(EXPORT|ALTER)\s+MODEL\b")
_UNSUPPORTED_DOCS = {
    "EXPORT": "https://cloud.google.com/bigquery/docs/exporting-models",
    "ALTER": "https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-alter-model",
}
_REST_TYPES = {
    "LINEAR_REG": "LINEAR_REGRESSION",
    "LOGISTIC_REG": "LOGISTIC_REGRESSION",
    "KMEANS": "KMEANS",
    "BOOSTED_TREE_CLASSIFIER": "BOOSTED_TREE_CLASSIFIER",
    "BOOSTED_TREE_REGRESSOR": "BOOSTED_TREE_REGRESSOR",
    "ARIMA_PLUS": "ARIMA_PLUS",
}
_ESTIMATORS = {
    "LINEAR_REG": "LinearRegression/Ridge",
    "LOGISTIC_REG": "LogisticRegression",
    "BOOSTED_TREE_CLASSIFIER": "HistGradientBoostingClassifier",
    "BOOSTED_TREE_REGRESSOR": "HistGradientBoostingRegressor",
    "KMEANS": "KMeans",
    "ARIMA_PLUS": "statsmodels STL + ARIMA",
}
DOCS = "https://cloud.google.com/bigquery/docs/e2e-journey"


@dataclass(frozen=True)
class MLRewrite:
    """What :func:`rewrite` made of a statement (the interface the BigQuery service codes against).

    Attributes:
        sql: GoogleSQL still to run, or None when the statement was fully handled.
        tables: temporary tables that ``sql`` refers to by these exact names.
        result: the answer when ``sql`` is None and the statement returns rows.
        statement_type: BigQuery's statementType ("SELECT", "CREATE_MODEL", "DROP_MODEL" ...).
        ddl_target: "project.dataset.model" for model DDL, else None.
    """

    sql: str | None
    tables: dict[str, pd.DataFrame]
    result: pd.DataFrame | None
    statement_type: str
    ddl_target: str | None


# -- where models live ------------------------------------------------------------------------
_DEFAULT_STORE = Store()
_FITTED: weakref.WeakKeyDictionary[Store, dict[str, AnyModel]] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def _process_store() -> Store:
    """The store of this process's running stand-in (a lab kernel has one), else a private one.

    Why: the BigQuery service should pass ``store=call.cloud.store``; when it does not, the
    models still land where ``client.get_model`` and ``leftovers()`` look in a lab.
    Read only: this never starts a stand-in.
    """
    from ds500.localcloud import server

    running = server._running  # noqa: SLF001 - the process's stand-in, if one was started
    return running.store if running is not None else _DEFAULT_STORE


def _resource(full: str) -> str:
    project, dataset, model = full.split(".")
    return f"projects/{project}/datasets/{dataset}/models/{model}"


def _display(full: str) -> str:
    project, rest = full.split(".", 1)
    return f"{project}:{rest}"


def get_model(full: str, store: Store | None = None) -> AnyModel:
    """The model ``project.dataset.model`` (fitted, or remote); 404 ``Not found: Model p:d.m`` if none.

    The store's REST resource decides whether the model exists (a deleted dataset or a
    ``delete_model`` call removes it); the fitted object is kept beside it.
    """
    store = store if store is not None else _process_store()
    with _LOCK:
        fitted = _FITTED.get(store, {}).get(full)
        name = _resource(full)
        if fitted is None or not store.exists(name) or store.get(name).get("etag") != fitted.uid:
            _FITTED.get(store, {}).pop(full, None)
            raise BigQueryError(404, "notFound", f"Not found: Model {_display(full)}")
        return fitted


def _exists(full: str, store: Store) -> bool:
    try:
        get_model(full, store)
    except GoogleError:
        return False
    return True


def _type_kind(values: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return "BOOL"
    if pd.api.types.is_integer_dtype(values):
        return "INT64"
    if pd.api.types.is_float_dtype(values):
        return "FLOAT64"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "TIMESTAMP" if getattr(values.dtype, "tz", None) else "DATETIME"
    return "STRING"


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _metrics_resource(model: LocalModel) -> dict[str, Any]:
    from ds500.localcloud.bigquery_ml_models import CLASSIFIERS

    metrics = {_camel(k): v for k, v in model.eval_metrics.items() if v == v}  # drop NaN
    if model.model_type == "KMEANS":
        return {"clusteringMetrics": metrics}
    if model.model_type in CLASSIFIERS:
        kind = "binaryClassificationMetrics" if len(model.classes) == 2 else "multiClassClassificationMetrics"
        return {kind: {"aggregateClassificationMetrics": metrics}}
    if model.model_type == "ARIMA_PLUS":
        return {}
    return {"regressionMetrics": metrics}


def _save(model: LocalModel, store: Store) -> None:
    """Store the REST resource (what get_model/list_models answer) and keep the fitted object."""
    import pandas as pd

    from ds500.localcloud.bigquery_ml_models import CLASSIFIERS

    project, dataset, model_id = model.name.split(".")
    stamp = str(model.created_ms)
    frame = model.training_frame if model.training_frame is not None else pd.DataFrame()
    label_type = "STRING"
    if model.label and model.model_type in CLASSIFIERS and model.classes:
        label_type = _type_kind(pd.Series(model.classes))
    elif model.label:
        label_type = "FLOAT64"
    options = {_camel(k.lower()): v for k, v in model.options.items() if not isinstance(v, tuple)}
    resource = {
        "modelReference": {"projectId": project, "datasetId": dataset, "modelId": model_id},
        "modelType": _REST_TYPES[model.model_type],
        "creationTime": stamp,
        "lastModifiedTime": stamp,
        "etag": model.uid,
        "description": f"Local approximation by the ds500 stand-in ({_ESTIMATORS[model.model_type]}). {NOTE}",
        "labels": {"ds500-local-approximation": "true"},
        "featureColumns": [
            {"name": c, "type": {"typeKind": _type_kind(frame[c]) if c in frame.columns else "FLOAT64"}}
            for c in model.raw_features
        ],
        "labelColumns": [{"name": f"predicted_{model.label}", "type": {"typeKind": label_type}}]
        if model.label
        else [],
        "trainingRuns": [
            {
                "trainingOptions": options,
                "startTime": datetime.fromtimestamp(model.created_ms / 1000, timezone.utc)
                .isoformat()
                .replace("+00:00", "Z"),
                "evaluationMetrics": _metrics_resource(model),
            }
        ],
    }
    with _LOCK:
        store.put(_resource(model.name), resource)
        _FITTED.setdefault(store, {})[model.name] = model


def _save_remote(model: remote.RemoteModel, store: Store) -> None:
    """Store a remote model's REST resource (``remoteModelInfo``) and keep the object beside it."""
    with _LOCK:
        store.put(_resource(model.name), remote.resource(model))
        _FITTED.setdefault(store, {})[model.name] = model


def _drop(full: str, store: Store) -> None:
    with _LOCK:
        get_model(full, store)
        store.delete(_resource(full))
        _FITTED.get(store, {}).pop(full, None)


def register(router: Router) -> None:
    """BigQuery's models (``/bigquery/v2/projects/{p}/datasets/{d}/models[/{m}]``): get, list, delete.

    https://cloud.google.com/bigquery/docs/reference/rest/v2/models
    """
    router.add(Collection(path="projects/datasets/models"))


# -- statements ---------------------------------------------------------------------------------
def is_ml(sql: str) -> bool:
    """Whether ``sql`` needs :func:`rewrite`: model DDL, or an ML. or AI. function call outside literals."""
    if _CREATE.match(sql) or _UNSUPPORTED_DDL.match(sql) or re.match(r"(?is)^\s*DROP\s+MODEL\b", sql):
        return True
    code = code_positions(sql)
    return any(code[m.start()] for m in _ANY_CALL.finditer(sql))


def _qualify(name: str, project: str, default_dataset: str | None, kind: str = "Model") -> str:
    parts = unquote(name).split(".")
    if len(parts) == 3 and all(parts):
        return ".".join(parts)
    if len(parts) == 2 and all(parts):
        return f"{project}.{parts[0]}.{parts[1]}"
    if len(parts) == 1 and default_dataset:
        dataset = default_dataset if "." in default_dataset else f"{project}.{default_dataset}"
        return f"{dataset}.{parts[0]}"
    raise invalid_query(
        f'{kind} name "{name}" missing dataset while no default dataset is set in the request.'
    )


def _statement_type(sql: str) -> str:
    head = re.match(r"(?is)^\s*(\w+)(?:\s+OR\s+REPLACE)?(?:\s+TEMP(?:ORARY)?)?\s+(\w+)", sql)
    if not head:
        return "SELECT"
    verb, thing = head.group(1).upper(), head.group(2).upper()
    if verb == "CREATE" and thing == "TABLE":
        return "CREATE_TABLE_AS_SELECT"
    if verb == "CREATE" and thing == "VIEW":
        return "CREATE_VIEW"
    if verb in ("INSERT", "MERGE", "UPDATE", "DELETE"):
        return verb
    return "SELECT"


QueryFn = Callable[[str], "pd.DataFrame"]


class _Context:
    """What one statement's ML calls share: where names resolve, how SQL runs, where models are."""

    def __init__(self, project: str, default_dataset: str | None, query: QueryFn, store: Store) -> None:
        self.project, self.default_dataset, self.query, self.store = project, default_dataset, query, store

    def run(self, sql: str) -> pd.DataFrame:
        if is_ml(sql):
            raise invalid_query(
                "The local stand-in does not run an ML function inside another ML function's argument: "
                "write the inner result to a table first (CREATE TABLE ... AS SELECT ... FROM ML....)"
            )
        return self.query(sql)

    def model(self, call: MLCall) -> LocalModel:
        """The call's trained model; 400 for a remote model, which only the generative functions take."""
        model = self.any_model(call)
        if isinstance(model, remote.RemoteModel):
            raise invalid_query(
                f"{call.qualified} is not supported for remote model {_display(model.name)} over "
                f"{model.model_id}: a remote model over a Gemini model answers AI.GENERATE_TEXT and "
                f"ML.GENERATE_TEXT (see {remote.CREATE_DOCS})"
            )
        return model

    def any_model(self, call: MLCall) -> AnyModel:
        argument = call.first("model")
        if argument is None:
            raise invalid_query(f"{call.qualified} needs MODEL `dataset.model` as its first argument")
        return get_model(_qualify(argument.text, self.project, self.default_dataset), self.store)

    def rows(self, argument: Argument) -> pd.DataFrame:
        if argument.kind == "table":
            return self.run(
                f"SELECT * FROM `{_qualify(argument.text, self.project, self.default_dataset, 'Table')}`"
            )
        return self.run(argument.text)

    def data(self, call: MLCall, *, required: bool = True, index: int = 0) -> pd.DataFrame | None:
        sources = [a for a in call.arguments if a.kind in ("table", "query")]
        if len(sources) <= index:
            if required:
                raise invalid_query(
                    f"{call.qualified} needs a TABLE or a (query) argument with the input rows"
                )
            return None
        return self.rows(sources[index])

    def value(self, text: str) -> Any:
        try:
            return literal(text)
        except ValueError:
            frame = self.run(f"SELECT {text} AS v")
            return frame.iloc[0, 0]

    def options(self, call: MLCall, allowed: set[str]) -> dict[str, Any]:
        argument = call.first("struct")
        fields = parse_struct(argument.text) if argument else {}
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise invalid_query(
                f"Invalid argument {unknown[0]} in the STRUCT of {call.qualified}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        return {k: self.value(v) for k, v in fields.items()}


def _require(model: LocalModel, call: MLCall, types: set[str]) -> None:
    if model.model_type not in types:
        raise invalid_query(
            f"ML.{call.function} is not supported for model type {model.model_type} (supported: "
            f"{', '.join(sorted(types))}; see {DOCS})"
        )


def _call(call: MLCall, ctx: _Context) -> pd.DataFrame:
    """The DataFrame one ML table function returns."""
    import pandas as pd

    from ds500.localcloud import bigquery_ml_data as data
    from ds500.localcloud import bigquery_ml_eval as evaluation
    from ds500.localcloud import bigquery_ml_series as series
    from ds500.localcloud.bigquery_ml_models import SUPERVISED

    name = call.function
    if name in remote.FUNCTIONS:
        model = ctx.any_model(call)
        if not isinstance(model, remote.RemoteModel):
            raise invalid_query(
                f"{call.qualified} needs a remote model over a Gemini model, and {_display(model.name)} is a "
                f"{model.model_type} model trained in BigQuery ML (see {remote.CREATE_DOCS})"
            )
        options = ctx.options(call, remote.ARGUMENTS[name])
        return remote.generate(name, model, ctx.data(call), options)
    if name == "FEATURES_AT_TIME":
        named = call.named()
        when = ctx.value(named["time"]) if "time" in named else pd.Timestamp.now(tz="UTC")
        return data.features_at_time(
            ctx.data(call),
            when,
            *(ctx.value(named[k]) if k in named else None for k in ("num_rows", "ignore_feature_nulls")),
        )
    if name == "ENTITY_FEATURES_AT_TIME":
        named = call.named()
        return data.entity_features_at_time(
            ctx.data(call),
            ctx.data(call, index=1),
            *(ctx.value(named[k]) if k in named else None for k in ("num_rows", "ignore_feature_nulls")),
        )
    validation_fields = {
        "categorical_default_threshold",
        "categorical_metric_type",
        "numerical_default_threshold",
        "numerical_metric_type",
        "thresholds",
    }
    if name == "VALIDATE_DATA_DRIFT":
        buckets = {
            "num_histogram_buckets",
            "num_quantiles_histogram_buckets",
            "num_values_histogram_buckets",
            "num_rank_histogram_buckets",
        }
        return data.validate(
            ctx.data(call),
            ctx.data(call, index=1),
            ctx.options(call, validation_fields | buckets),
            "ML.VALIDATE_DATA_DRIFT",
        )
    model = ctx.model(call)
    if name == "VALIDATE_DATA_SKEW":
        _require(model, call, SUPERVISED | {"KMEANS"})
        assert model.training_frame is not None
        return data.validate(
            model.training_frame,
            ctx.data(call),
            ctx.options(call, validation_fields | {"enable_visualization_link"}),
            "ML.VALIDATE_DATA_SKEW",
        )
    if name == "PREDICT":
        _require(model, call, SUPERVISED | {"KMEANS"})
        options = ctx.options(call, {"threshold", "trial_id"})
        if options.get("trial_id") is not None:
            model = model.trial(options["trial_id"])
        return evaluation.predict(model, ctx.data(call), options.get("threshold"))
    if name == "EVALUATE":
        rows = ctx.data(call, required=False)
        if model.model_type == "ARIMA_PLUS":
            options = ctx.options(call, {"perform_aggregation", "horizon", "confidence_level"})
            return series.evaluate(model.series, rows, options)
        options = ctx.options(call, {"threshold", "trial_id"})
        return evaluation.evaluate(model, rows, options.get("threshold"), options.get("trial_id"))
    if name == "FORECAST":
        _require(model, call, {"ARIMA_PLUS"})
        options = ctx.options(call, {"horizon", "confidence_level"})
        return series.forecast(model.series, options.get("horizon"), options.get("confidence_level"))
    if name == "ARIMA_EVALUATE":
        _require(model, call, {"ARIMA_PLUS"})
        options = ctx.options(call, {"show_all_candidate_models"})
        return series.arima_evaluate(model.series, options.get("show_all_candidate_models"))
    if name == "EXPLAIN_PREDICT":
        _require(model, call, SUPERVISED)
        options = ctx.options(
            call, {"top_k_features", "threshold", "integrated_gradients_num_steps", "approx_feature_contrib"}
        )
        return evaluation.explain_predict(
            model, ctx.data(call), options.get("top_k_features"), options.get("threshold")
        )
    if name == "GLOBAL_EXPLAIN":
        _require(model, call, SUPERVISED)
        options = ctx.options(call, {"class_level_explain"})
        if options.get("class_level_explain"):
            raise invalid_query("class_level_explain = TRUE is not supported by the local stand-in")
        if model.global_explain is None:
            raise invalid_query(
                f"Model {_display(model.name)} was not trained with ENABLE_GLOBAL_EXPLAIN = TRUE, which "
                "ML.GLOBAL_EXPLAIN requires"
            )
        return model.global_explain.copy()
    if name == "FEATURE_INFO":
        _require(model, call, SUPERVISED | {"KMEANS"})
        return evaluation.feature_info(model)
    if name == "TRAINING_INFO":
        return evaluation.training_info(model)
    if name == "TRIAL_INFO":
        return evaluation.trial_info(model)
    if name == "CENTROIDS":
        options = ctx.options(call, {"standardize"})
        return evaluation.centroids(model, options.get("standardize"))
    raise invalid_query(f"Function not found: ML.{name}")  # pragma: no cover - _FUNCTIONS is closed


def _create_remote_model(sql: str, ctx: _Context) -> MLRewrite:
    statement = remote.parse_create(sql)
    full = _qualify(statement.name, ctx.project, ctx.default_dataset)
    done = MLRewrite(None, {}, None, "CREATE_MODEL", full)
    model = remote.build(statement, full, ctx.store)
    if _exists(full, ctx.store):
        if statement.if_not_exists:
            return done
        if not statement.replace:
            raise BigQueryError(409, "duplicate", f"Already Exists: Model {_display(full)}")
    _save_remote(model, ctx.store)
    return done


def _create_model(sql: str, ctx: _Context) -> MLRewrite:
    if remote.is_remote(sql):
        return _create_remote_model(sql, ctx)
    if remote.mentions_endpoint(sql):
        raise remote.missing_connection(sql)
    statement = parse_create_model(sql)
    full = _qualify(statement.name, ctx.project, ctx.default_dataset)
    done = MLRewrite(None, {}, None, "CREATE_MODEL", full)
    if _exists(full, ctx.store):
        if statement.if_not_exists:
            return done
        if not statement.replace:
            raise BigQueryError(409, "duplicate", f"Already Exists: Model {_display(full)}")
    from ds500.localcloud.bigquery_ml_models import MODEL_TYPES, fit_model

    model_type = statement.options.get("MODEL_TYPE")
    if model_type is None:
        raise invalid_query("Missing required option: MODEL_TYPE")
    model_type = str(model_type).upper()
    if model_type not in MODEL_TYPES:
        raise invalid_query(
            f"Invalid value for option MODEL_TYPE: '{statement.options['MODEL_TYPE']}'. The local stand-in "
            f"supports {', '.join(sorted(MODEL_TYPES))} (see {DOCS})"
        )
    options = {**statement.options, "MODEL_TYPE": model_type}
    frame = ctx.run(statement.query)
    try:
        model = fit_model(full, model_type, options, frame, statement.transform)
    except (ValueError, ArithmeticError) as error:  # what the data made the local fit refuse
        raise invalid_query(f"Training {model_type} on the query's rows failed locally: {error}") from error
    _save(model, ctx.store)
    return done


def rewrite(
    sql: str, *, project: str, default_dataset: str | None, query: QueryFn, store: Store | None = None
) -> MLRewrite:
    """Handle the BigQuery ML part of one statement.

    Args:
        sql: one GoogleSQL statement for which :func:`is_ml` is true.
        project: the job's project (qualifies ``dataset.model`` names).
        default_dataset: the job's default dataset (``dataset`` or ``project.dataset``), if any.
        query: runs a GoogleSQL SELECT against the local tables and returns its rows.
        store: the stand-in's store (``call.cloud.store``), where models live as REST
            resources; when omitted, the running stand-in's store, else a private one.

    Raises:
        BigQueryError: (a GoogleError) with BigQuery's reason, wording and status, never a library
            traceback; the service turns it into the job's ``errorResult``.
    """
    from threadpoolctl import threadpool_limits

    ctx = _Context(project, default_dataset, query, store if store is not None else _process_store())
    # One BLAS thread: on a busy 2-core machine OpenBLAS threads contend, and scipy's L-BFGS
    # (statsmodels' ARIMA, scikit-learn) ran 10x slower (an ARIMA_PLUS fit: 14 s -> 1.3 s).
    with threadpool_limits(limits=1):
        return _rewrite(sql, ctx)


def _rewrite(sql: str, ctx: _Context) -> MLRewrite:
    """Model DDL, or the statement with each ML table function replaced by its computed table."""
    if _CREATE.match(sql):
        return _create_model(sql, ctx)
    dropped = _DROP.match(sql)
    if dropped:
        full = _qualify(dropped.group(2), ctx.project, ctx.default_dataset)
        if dropped.group(1) and not _exists(full, ctx.store):
            return MLRewrite(None, {}, None, "DROP_MODEL", full)
        _drop(full, ctx.store)
        return MLRewrite(None, {}, None, "DROP_MODEL", full)
    if re.match(r"(?is)^\s*DROP\s+MODEL\b", sql):
        raise invalid_query("Syntax error: expected DROP MODEL [IF EXISTS] <name>")
    unsupported = _UNSUPPORTED_DDL.match(sql)
    if unsupported:
        verb = unsupported.group(1).upper()
        raise invalid_query(
            f"{verb} MODEL is not supported by the local stand-in (it runs CREATE MODEL, DROP MODEL and the "
            f"ML functions it names); run it against BigQuery on Google Cloud ({_UNSUPPORTED_DOCS[verb]})"
        )
    code = code_positions(sql)
    known = _FUNCTIONS | remote.FUNCTIONS
    for found in _ANY_CALL.finditer(sql):
        prefix, bare = found.group(1).upper(), found.group(2).upper()
        if code[found.start()] and (bare if prefix == "ML" else f"{prefix}.{bare}") not in known:
            names = sorted(f if "." in f else f"ML.{f}" for f in known)
            raise invalid_query(
                f"Function not found: {prefix}.{bare} "
                f"(the local stand-in runs {', '.join(names)} and model DDL)"
            )
    calls = find_calls(sql, known)
    tables: dict[str, Any] = {}
    pieces, cursor = [], 0
    for i, call in enumerate(calls, start=1):
        name = f"_ml_result_{i}"
        try:
            tables[name] = _call(call, ctx)
        except (ValueError, ArithmeticError) as error:  # what the input rows made the computation refuse
            raise invalid_query(f"Invalid table-valued function {call.qualified}: {error}") from error
        pieces.extend([sql[cursor : call.start], name])
        cursor = call.end
    pieces.append(sql[cursor:])
    return MLRewrite("".join(pieces), tables, None, _statement_type(sql), None)
