"""BigQuery ML models fitted locally with scikit-learn: CREATE MODEL and what reads a model.

Each model type maps onto one seeded scikit-learn estimator on the features of
:mod:`.bigquery_ml_features` (a **local approximation**: BigQuery ML's optimisers,
defaults and early stopping differ, so numbers will not match to the digit):

============================  ==========================================================
MODEL_TYPE                    local estimator
============================  ==========================================================
LOGISTIC_REG                  ``LogisticRegression`` (L2_REG/L1_REG mapped onto C)
LINEAR_REG                    ``LinearRegression`` / ``Ridge`` / ``ElasticNet``
BOOSTED_TREE_CLASSIFIER       ``HistGradientBoostingClassifier`` / ``...Regressor`` (MAX_ITERATIONS
/ _REGRESSOR                  trees, LEARN_RATE, MAX_TREE_DEPTH, L2_REG as XGBoost's lambda)
KMEANS                        ``KMeans`` (NUM_CLUSTERS, KMEANS_INIT_METHOD, STANDARDIZE_FEATURES)
============================  ==========================================================

Also applied: INPUT_LABEL_COLS, AUTO_CLASS_WEIGHTS, CLASS_WEIGHTS, DATA_SPLIT_*,
ENABLE_GLOBAL_EXPLAIN, NUM_TRIALS with HPARAM_RANGE/HPARAM_CANDIDATES (seeded random
search), DISTANCE_TYPE. Other options BigQuery ML knows for the model type (EARLY_STOP,
OPTIMIZE_STRATEGY, CALCULATE_P_VALUES, WARM_START, BOOSTER_TYPE ...) are accepted but
not emulated; an option it does not know is refused. The option pages:
https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-glm,
https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-boosted-tree,
https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-kmeans.
Explanations are exact for linear models (weight times standardised value, baseline =
the intercept) and, for boosted trees, path attributions that add up exactly to the raw
prediction: Saabas' method, what BigQuery ML computes with APPROX_FEATURE_CONTRIB = TRUE
(its default is Tree SHAP, the same additivity with another split of credit).
"""

from __future__ import annotations

import dataclasses
import inspect
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ds500.localcloud.bigquery_ml_features import Encoder, Transform
from ds500.localcloud.bigquery_sql import invalid_query

__all__ = [
    "CLASSIFIERS",
    "MODEL_TYPES",
    "REGRESSORS",
    "SUPERVISED",
    "Fitted",
    "LocalModel",
    "fit_model",
    "split_rows",
]

CLASSIFIERS = {"LOGISTIC_REG", "BOOSTED_TREE_CLASSIFIER"}
REGRESSORS = {"LINEAR_REG", "BOOSTED_TREE_REGRESSOR"}
SUPERVISED = CLASSIFIERS | REGRESSORS
MODEL_TYPES = CLASSIFIERS | REGRESSORS | {"KMEANS", "ARIMA_PLUS"}
CREATE_DOCS = "https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create"
SEED = 42
# The options each model type accepts here (BigQuery ML has more; an unknown one is refused).
_COMMON = {
    "MODEL_TYPE",
    "INPUT_LABEL_COLS",
    "DATA_SPLIT_METHOD",
    "DATA_SPLIT_EVAL_FRACTION",
    "DATA_SPLIT_COL",
    "ENABLE_GLOBAL_EXPLAIN",
    "NUM_TRIALS",
    "MAX_PARALLEL_TRIALS",
    "HPARAM_TUNING_OBJECTIVES",
    "HPARAM_TUNING_ALGORITHM",
    "MAX_ITERATIONS",
    "EARLY_STOP",
    "MIN_REL_PROGRESS",
    "CATEGORY_ENCODING_METHOD",
}

_LINEAR = {
    "L1_REG",
    "L2_REG",
    "OPTIMIZE_STRATEGY",
    "LEARN_RATE_STRATEGY",
    "LEARN_RATE",
    "LS_INIT_LEARN_RATE",
    "CALCULATE_P_VALUES",
    "FIT_INTERCEPT",
    "WARM_START",
}
"""The options both linear model types take."""

_BOOSTED_TREE = {
    "LEARN_RATE",
    "MAX_TREE_DEPTH",
    "SUBSAMPLE",
    "L1_REG",
    "L2_REG",
    "MIN_SPLIT_LOSS",
    "BOOSTER_TYPE",
    "TREE_METHOD",
    "MIN_TREE_CHILD_WEIGHT",
    "COLSAMPLE_BYTREE",
    "NUM_PARALLEL_TREE",
    "DART_NORMALIZE_TYPE",
}
"""The options both boosted-tree model types take."""

OPTIONS = {
    "LOGISTIC_REG": _COMMON | _LINEAR | {"AUTO_CLASS_WEIGHTS", "CLASS_WEIGHTS"},
    "LINEAR_REG": _COMMON | _LINEAR,
    "BOOSTED_TREE_CLASSIFIER": _COMMON | _BOOSTED_TREE | {"AUTO_CLASS_WEIGHTS", "CLASS_WEIGHTS"},
    "BOOSTED_TREE_REGRESSOR": _COMMON | _BOOSTED_TREE,
    "KMEANS": _COMMON
    | {
        "NUM_CLUSTERS",
        "KMEANS_INIT_METHOD",
        "KMEANS_INIT_COL",
        "DISTANCE_TYPE",
        "STANDARDIZE_FEATURES",
        "WARM_START",
    },
}
# Defaults from the CREATE MODEL pages above.
_DEFAULTS = {
    "LOGISTIC_REG": {"MAX_ITERATIONS": 20, "L1_REG": 0.0, "L2_REG": 0.0},
    "LINEAR_REG": {"MAX_ITERATIONS": 20, "L1_REG": 0.0, "L2_REG": 0.0},
    "BOOSTED_TREE_CLASSIFIER": {
        "L2_REG": 1.0,
        "MAX_ITERATIONS": 20,
        "LEARN_RATE": 0.3,
        "MAX_TREE_DEPTH": 6,
        "SUBSAMPLE": 1.0,
    },
    "BOOSTED_TREE_REGRESSOR": {
        "L2_REG": 1.0,
        "MAX_ITERATIONS": 20,
        "LEARN_RATE": 0.3,
        "MAX_TREE_DEPTH": 6,
        "SUBSAMPLE": 1.0,
    },
    "KMEANS": {
        "MAX_ITERATIONS": 20,
        "KMEANS_INIT_METHOD": "RANDOM",
        "STANDARDIZE_FEATURES": True,
        "DISTANCE_TYPE": "EUCLIDEAN",
    },
}
# What NUM_TRIALS may tune, and each objective's direction (True: larger is better).
_OBJECTIVES = {
    "ROC_AUC": True,
    "ACCURACY": True,
    "F1_SCORE": True,
    "PRECISION": True,
    "RECALL": True,
    "LOG_LOSS": False,
    "MEAN_ABSOLUTE_ERROR": False,
    "MEAN_SQUARED_ERROR": False,
    "R2_SCORE": True,
    "EXPLAINED_VARIANCE": True,
    "DAVIES_BOULDIN_INDEX": False,
    "MEAN_SQUARED_LOG_ERROR": False,
    "MEDIAN_ABSOLUTE_ERROR": False,
}


def option_error(name: str, value: Any, why: str) -> Exception:
    """BigQuery's wording for a bad option value."""
    return invalid_query(f"Invalid value for option {name}: {value!r}. {why} (see {CREATE_DOCS})")


def split_rows(
    frame: pd.DataFrame, options: dict[str, Any], model_type: str
) -> tuple[np.ndarray, np.ndarray]:
    """Training and evaluation row positions for DATA_SPLIT_METHOD (seeded).

    AUTO_SPLIT, as documented: under 500 rows no evaluation split, up to 50,000 rows a
    random 20 %, above that 10,000 random rows. K-means never splits.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-glm#data_split_method
    """
    n = len(frame)
    everything = np.arange(n)
    method = str(options.get("DATA_SPLIT_METHOD", "AUTO_SPLIT")).upper()
    if method not in {"AUTO_SPLIT", "RANDOM", "CUSTOM", "SEQ", "NO_SPLIT"}:
        raise option_error("DATA_SPLIT_METHOD", method, "Use AUTO_SPLIT, RANDOM, CUSTOM, SEQ or NO_SPLIT")
    if model_type == "KMEANS" or method == "NO_SPLIT":
        return everything, np.array([], dtype=int)
    rng = np.random.default_rng(SEED)
    if method == "AUTO_SPLIT":
        if n < 500:
            return everything, np.array([], dtype=int)
        size = int(round(0.2 * n)) if n <= 50_000 else 10_000
        chosen = np.sort(rng.choice(n, size=size, replace=False))
        return np.setdiff1d(everything, chosen), chosen
    if method == "RANDOM":
        fraction = float(options.get("DATA_SPLIT_EVAL_FRACTION", 0.2))
        if not 0 < fraction < 1:
            raise option_error("DATA_SPLIT_EVAL_FRACTION", fraction, "It must be in (0, 1)")
        chosen = np.sort(rng.choice(n, size=max(1, int(round(fraction * n))), replace=False))
        return np.setdiff1d(everything, chosen), chosen
    column = options.get("DATA_SPLIT_COL")
    if not column or column not in frame.columns:
        raise option_error(
            "DATA_SPLIT_COL", column, f"DATA_SPLIT_METHOD={method} needs a column of the query"
        )
    if method == "CUSTOM":
        is_eval = (
            frame[column].astype(object).fillna(True).astype(bool).to_numpy()
        )  # TRUE or NULL: evaluation
        return everything[~is_eval], everything[is_eval]
    fraction = float(options.get("DATA_SPLIT_EVAL_FRACTION", 0.2))
    order = np.argsort(frame[column].to_numpy(), kind="stable")
    cut = n - int(round(fraction * n))
    return np.sort(order[:cut]), np.sort(order[cut:])


@dataclass
class Fitted:
    """One trained estimator with its options (one per hyperparameter trial)."""

    estimator: Any
    params: dict[str, Any]
    train_loss: float | None = None
    eval_metrics: dict[str, float] = field(default_factory=dict)
    eval_loss: float | None = None
    seconds: float = 0.0
    iteration_losses: list[float] = field(default_factory=list)  # boosted trees: loss after each round


@dataclass
class LocalModel:
    """A BigQuery ML model held by the stand-in (what ``ML.*`` functions read)."""

    name: str  # project.dataset.model
    model_type: str
    options: dict[str, Any]
    features: list[str]  # columns the model reads after TRANSFORM (label excluded)
    raw_features: list[str]  # columns of the training query (label excluded): ML.FEATURE_INFO, skew
    label: str | None
    encoder: Encoder | None
    transform: Transform | None
    trials: list[Fitted]
    optimal: int  # index into trials
    classes: list[Any] = field(default_factory=list)
    training_frame: pd.DataFrame | None = None  # raw feature columns, for skew statistics
    global_explain: pd.DataFrame | None = None
    eval_metrics: dict[str, float] = field(default_factory=dict)
    series: Any = None  # ARIMA_PLUS state (bigquery_ml_series.Series)
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def fitted(self) -> Fitted:
        return self.trials[self.optimal]

    @property
    def tuned(self) -> bool:
        return len(self.trials) > 1

    def trial(self, trial_id: Any) -> LocalModel:
        """The model as trained in hyperparameter tuning trial ``trial_id`` (1-based), for ``trial_id =>``."""
        if not self.tuned or not isinstance(trial_id, int) or not 1 <= trial_id <= len(self.trials):
            raise invalid_query(f"Invalid trial_id {trial_id}: the model has {len(self.trials)} trial(s)")
        return dataclasses.replace(self, optimal=trial_id - 1)

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Input rows -> the model's feature columns (TRANSFORM applied with its stored statistics)."""
        if self.transform is not None:
            allowed = set(self.transform.input_columns)
            usable = frame[[c for c in frame.columns if c in allowed]]
            if self.label and self.label not in usable.columns:
                usable = usable.assign(**{self.label: None})
            return self.transform.apply(usable)
        return frame

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        assert self.encoder is not None
        return self.encoder.matrix(self.prepare(frame))


def _numeric_option(options: dict[str, Any], name: str, default: Any, *, low: float | None = None) -> Any:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise option_error(name, value, "It must be a number")
    if low is not None and value < low:
        raise option_error(name, value, f"It must be at least {low}")
    return value


def _estimator(model_type: str, params: dict[str, Any], n_rows: int, labels: np.ndarray | None) -> Any:
    """A seeded scikit-learn estimator for one set of options."""
    if model_type == "LOGISTIC_REG":
        from sklearn.linear_model import LogisticRegression

        l1 = _numeric_option(params, "L1_REG", 0.0, low=0)
        l2 = _numeric_option(params, "L2_REG", 0.0, low=0)
        # BigQuery ML minimises mean loss + L1|w| + L2|w|^2; scikit-learn C * sum loss + penalty
        strength = l1 + l2
        c_value = np.inf if strength == 0 else 1.0 / (2.0 * n_rows * strength)
        ratio = l1 / strength if strength else 0.0
        if inspect.signature(LogisticRegression).parameters["penalty"].default == "deprecated":
            penalty: dict[str, Any] = {"C": c_value, "l1_ratio": ratio}  # scikit-learn >= 1.8
        elif strength == 0:  # scikit-learn < 1.8 (Colab): the penalty is named
            penalty = {"penalty": None}
        else:
            name = "l2" if ratio == 0 else "l1" if ratio == 1 else "elasticnet"
            penalty = {"penalty": name, "C": c_value, **({"l1_ratio": ratio} if name == "elasticnet" else {})}
        return LogisticRegression(
            solver="saga" if l1 else "newton-cg",  # lbfgs took 40+ iterations on one-hot columns
            max_iter=200,
            class_weight=_class_weights(params),
            random_state=SEED,
            **penalty,
        )
    if model_type == "LINEAR_REG":
        from sklearn.linear_model import ElasticNet, LinearRegression, Ridge

        l1 = _numeric_option(params, "L1_REG", 0.0, low=0)
        l2 = _numeric_option(params, "L2_REG", 0.0, low=0)
        if l1:
            return ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), random_state=SEED, max_iter=2000)
        return Ridge(alpha=l2 * n_rows) if l2 else LinearRegression()
    if model_type.startswith("BOOSTED_TREE"):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        if _numeric_option(params, "SUBSAMPLE", 1.0, low=0) != 1.0:
            raise option_error(
                "SUBSAMPLE", params["SUBSAMPLE"], "The local stand-in fits every row (1.0 only)"
            )
        kwargs = {
            "max_iter": int(_numeric_option(params, "MAX_ITERATIONS", 20, low=1)),
            "learning_rate": float(_numeric_option(params, "LEARN_RATE", 0.3, low=0)),
            "max_depth": int(_numeric_option(params, "MAX_TREE_DEPTH", 6, low=1)),
            "l2_regularization": float(_numeric_option(params, "L2_REG", 1.0, low=0)),
            "early_stopping": False,  # BigQuery ML stops on its evaluation split; here: every round
            "random_state": SEED,
        }
        if model_type.endswith("CLASSIFIER"):
            return HistGradientBoostingClassifier(class_weight=_class_weights(params), **kwargs)
        return HistGradientBoostingRegressor(**kwargs)
    if model_type == "KMEANS":
        from sklearn.cluster import KMeans

        init = str(params.get("KMEANS_INIT_METHOD", "RANDOM")).upper()
        if init not in ("RANDOM", "KMEANS++"):
            raise option_error("KMEANS_INIT_METHOD", init, "The local stand-in supports RANDOM and KMEANS++")
        # the documented default: log10 of the number of training rows (at least 2)
        clusters = params.get("NUM_CLUSTERS", max(2, int(round(np.log10(max(n_rows, 1))))))
        if isinstance(clusters, bool) or not isinstance(clusters, int) or not 2 <= clusters <= 100:
            raise option_error("NUM_CLUSTERS", clusters, "It must be an integer in [2, 100]")
        return KMeans(
            n_clusters=clusters,
            init="k-means++" if init == "KMEANS++" else "random",
            n_init=1,
            max_iter=int(_numeric_option(params, "MAX_ITERATIONS", 20, low=1)),
            random_state=SEED,
        )
    raise option_error("MODEL_TYPE", model_type, f"Supported here: {', '.join(sorted(MODEL_TYPES))}")


def _class_weights(params: dict[str, Any]) -> Any:
    if params.get("AUTO_CLASS_WEIGHTS"):
        return "balanced"
    weights = params.get("CLASS_WEIGHTS")
    if weights:
        return {label: float(weight) for (_, label), (_, weight) in weights}
    return None


def fit_estimator(model_type: str, params: dict[str, Any], x: np.ndarray, y: np.ndarray | None) -> Any:
    estimator = _estimator(model_type, params, len(x), y)
    if model_type == "KMEANS":
        if params.get("DISTANCE_TYPE", "EUCLIDEAN").upper() == "COSINE":
            x = _unit_rows(x)
        if len(x) < estimator.n_clusters:
            raise invalid_query(
                f"Number of clusters {estimator.n_clusters} is larger than the number of rows {len(x)}"
            )
        return estimator.fit(x)
    return estimator.fit(x, y)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def fit_model(
    name: str, model_type: str, options: dict[str, Any], frame: pd.DataFrame, transform_items: list[str]
) -> LocalModel:
    """CREATE MODEL: fit ``model_type`` on the rows of the training query (seeded, local)."""
    from ds500.localcloud import bigquery_ml_eval as evaluation

    if model_type == "ARIMA_PLUS":
        return _arima_model(name, options, frame, transform_items)

    unknown = sorted(set(options) - OPTIONS[model_type])
    if unknown:
        raise invalid_query(f"Unknown option: {unknown[0]} for model type {model_type} (see {CREATE_DOCS})")
    if frame.empty:
        raise invalid_query("Training data is empty: the CREATE MODEL query returned no rows")
    label: str | None = None
    if model_type != "KMEANS":
        labels = options.get("INPUT_LABEL_COLS", ["label"])
        if not isinstance(labels, list) or len(labels) != 1 or not isinstance(labels[0], str):
            raise option_error("INPUT_LABEL_COLS", labels, "Give one label column, e.g. ['churned']")
        label = labels[0]
    transform = Transform(transform_items) if transform_items else None
    features_frame = transform.apply(frame, fit=True) if transform else frame
    if label is not None and label not in features_frame.columns:
        where = "the TRANSFORM output" if transform else "the training query"
        raise invalid_query(f"Column {label} is not found in {where} (INPUT_LABEL_COLS must name a column)")
    if label is not None and features_frame[label].isna().any():
        raise invalid_query(f"Label column {label} has NULL values; filter them out of the training query")
    split_column = options.get("DATA_SPLIT_COL")  # never a feature, as documented
    features = [c for c in features_frame.columns if c not in (label, split_column)]
    if not features:
        raise invalid_query("The model has no feature columns: the training query returns only the label")
    raw_features = [c for c in frame.columns if c not in (label, split_column)]
    train, held = split_rows(features_frame, options, model_type)
    encoder = Encoder(standardize=bool(options.get("STANDARDIZE_FEATURES", True)))
    encoder.fit(features_frame.iloc[train][features])
    x_all = encoder.matrix(features_frame[features])
    y_all = features_frame[label].to_numpy() if label else None
    if model_type in REGRESSORS and not (
        pd.api.types.is_numeric_dtype(features_frame[label])
        and not pd.api.types.is_bool_dtype(features_frame[label])
    ):
        raise invalid_query(
            f"Label column {label} must be numeric for model type {model_type} (use a classifier)"
        )
    if model_type in CLASSIFIERS and features_frame[label].nunique() < 2:
        raise invalid_query(f"Classification model requires at least 2 unique labels; {label} has 1")
    trial_params = _trials(model_type, options)
    trials = []
    for params in trial_params:
        start = time.perf_counter()
        estimator = fit_estimator(model_type, params, x_all[train], y_all[train] if label else None)
        fitted = Fitted(estimator, params, seconds=time.perf_counter() - start)
        rows = held if len(held) else train
        fitted.eval_metrics = evaluation.metrics(
            model_type, estimator, x_all[rows], y_all[rows] if label else None, params
        )
        fitted.train_loss = evaluation.loss(
            model_type, estimator, x_all[train], y_all[train] if label else None
        )
        if model_type.startswith("BOOSTED_TREE"):
            fitted.iteration_losses = evaluation.staged_losses(estimator, x_all[train], y_all[train])
        if len(held):
            fitted.eval_loss = evaluation.loss(
                model_type, estimator, x_all[held], y_all[held] if label else None
            )
        trials.append(fitted)
    optimal = _best_trial(model_type, options, trials)
    classes = []  # scikit-learn's order: what predict_proba's columns follow
    if model_type in CLASSIFIERS:
        classes = [c.item() if isinstance(c, np.generic) else c for c in trials[optimal].estimator.classes_]
    model = LocalModel(
        name=name,
        model_type=model_type,
        options=options,
        features=features,
        raw_features=raw_features,
        label=label,
        encoder=encoder,
        transform=transform,
        trials=trials,
        optimal=optimal,
        classes=classes,
        training_frame=frame.iloc[train][raw_features].reset_index(drop=True),
    )
    model.eval_metrics = trials[optimal].eval_metrics
    if options.get("ENABLE_GLOBAL_EXPLAIN") and model_type != "KMEANS":
        rows = held if len(held) else train
        model.global_explain = evaluation.global_attributions(model, x_all[rows])
    return model


def _arima_model(
    name: str, options: dict[str, Any], frame: pd.DataFrame, transform_items: list[str]
) -> LocalModel:
    from ds500.localcloud.bigquery_ml_series import fit_series

    if transform_items:
        raise invalid_query("The TRANSFORM clause is not supported for ARIMA_PLUS models")
    fitted = fit_series(options, frame)
    return LocalModel(
        name=name,
        model_type="ARIMA_PLUS",
        options=options,
        features=[fitted.timestamp_col],
        raw_features=[fitted.timestamp_col],
        label=fitted.data_col,
        encoder=None,
        transform=None,
        trials=[Fitted(fitted.fit, options, seconds=fitted.seconds)],
        optimal=0,
        series=fitted,
    )


def _trials(model_type: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """One option set per trial: NUM_TRIALS draws (seeded) from HPARAM_RANGE / HPARAM_CANDIDATES options."""
    tuned = {k: v for k, v in options.items() if isinstance(v, tuple)}
    base = {**_DEFAULTS.get(model_type, {}), **{k: v for k, v in options.items() if k not in tuned}}
    trials = int(options.get("NUM_TRIALS", 1))
    if trials < 1 or trials > 100:
        raise option_error("NUM_TRIALS", trials, "It must be in [1, 100]")
    if trials == 1:
        if tuned:
            raise invalid_query(f"Option {sorted(tuned)[0]} uses HPARAM_* but NUM_TRIALS is not set (> 1)")
        return [base]
    if not tuned:
        raise invalid_query(
            "NUM_TRIALS > 1 needs at least one option set with HPARAM_RANGE or HPARAM_CANDIDATES"
        )
    rng = np.random.default_rng(SEED)
    drawn = []
    for _ in range(trials):
        params = dict(base)
        for key, (kind, values) in tuned.items():
            if kind == "HPARAM_RANGE":
                if len(values) != 2 or values[0] > values[1]:
                    raise option_error(key, values, "HPARAM_RANGE takes (min, max) with min <= max")
                low, high = values
                params[key] = (
                    int(rng.integers(low, high + 1))
                    if all(isinstance(v, int) for v in values)
                    else float(rng.uniform(low, high))
                )
            else:
                candidates = values[0] if len(values) == 1 and isinstance(values[0], list) else values
                params[key] = candidates[int(rng.integers(len(candidates)))]
        drawn.append(params)
    return drawn


def objective(model_type: str, options: dict[str, Any]) -> str:
    """The tuning objective: HPARAM_TUNING_OBJECTIVES or BigQuery ML's default for the model type."""
    chosen = options.get("HPARAM_TUNING_OBJECTIVES")
    if chosen:
        name = (chosen[0] if isinstance(chosen, list) else chosen).upper()
        if name not in _OBJECTIVES:
            raise option_error(
                "HPARAM_TUNING_OBJECTIVES", chosen, f"Use one of {', '.join(sorted(_OBJECTIVES))}"
            )
        return name
    if model_type == "KMEANS":
        return "DAVIES_BOULDIN_INDEX"
    if model_type in CLASSIFIERS:
        return "ROC_AUC"
    return "R2_SCORE"


def _best_trial(model_type: str, options: dict[str, Any], trials: list[Fitted]) -> int:
    if len(trials) == 1:
        return 0
    name = objective(model_type, options)
    sign = 1.0 if _OBJECTIVES[name] else -1.0
    scores = [sign * t.eval_metrics.get(name.lower(), np.nan) for t in trials]
    scores = [s if np.isfinite(s) else -np.inf for s in scores]
    return int(np.argmax(scores))  # the smallest trial id among ties, as documented
