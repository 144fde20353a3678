"""What reads a fitted BigQuery ML model: ML.PREDICT, ML.EVALUATE, ML.EXPLAIN_PREDICT and the info functions.

Each function returns a DataFrame with BigQuery ML's column names, from its reference page:
ML.PREDICT https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-predict,
ML.EVALUATE https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-evaluate,
ML.EXPLAIN_PREDICT https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-explain-predict,
ML.GLOBAL_EXPLAIN https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-global-explain,
ML.FEATURE_INFO https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-feature,
ML.TRAINING_INFO https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-train,
ML.TRIAL_INFO https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-trial-info,
ML.CENTROIDS https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-centroids.
Output columns come first, then the input columns passed through, as BigQuery ML returns them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ds500.localcloud.bigquery_sql import invalid_query

if TYPE_CHECKING:  # pragma: no cover
    from ds500.localcloud.bigquery_ml_models import LocalModel

__all__ = [
    "centroids",
    "evaluate",
    "explain_predict",
    "feature_info",
    "global_attributions",
    "loss",
    "metrics",
    "predict",
    "staged_losses",
    "training_info",
    "trial_info",
]


def _kmeans_x(estimator: Any, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    if str(params.get("DISTANCE_TYPE", "EUCLIDEAN")).upper() == "COSINE":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(norms == 0, 1.0, norms)
    return x


def _binary_scores(estimator: Any, x: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    return estimator.predict_proba(x), list(estimator.classes_)


def metrics(
    model_type: str,
    estimator: Any,
    x: np.ndarray,
    y: np.ndarray | None,
    params: dict[str, Any],
    threshold: float = 0.5,
) -> dict[str, float]:
    """One ML.EVALUATE row (without trial_id) for the rows ``x``/``y``."""
    from sklearn import metrics as m

    if model_type == "KMEANS":
        xs = _kmeans_x(estimator, x, params)
        assigned = estimator.predict(xs)
        distances = estimator.transform(xs).min(axis=1)
        dbi = float(m.davies_bouldin_score(xs, assigned)) if len(set(assigned)) > 1 else float("nan")
        return {"davies_bouldin_index": dbi, "mean_squared_distance": float(np.mean(distances**2))}
    if hasattr(estimator, "predict_proba"):
        proba, labels = _binary_scores(estimator, x)
        if len(labels) == 2:
            positive = labels[1]
            truth = np.asarray([v == positive for v in y])
            predicted = proba[:, 1] >= threshold
            auc = m.roc_auc_score(truth, proba[:, 1]) if len(set(truth)) == 2 else float("nan")
            tp = int((predicted & truth).sum())
            return {
                "precision": float(tp / predicted.sum()) if predicted.sum() else float("nan"),
                "recall": float(m.recall_score(truth, predicted, zero_division=0)),
                "accuracy": float(m.accuracy_score(truth, predicted)),
                "f1_score": float(m.f1_score(truth, predicted, zero_division=0)),
                "log_loss": float(m.log_loss(truth, proba[:, 1], labels=[False, True])),
                "roc_auc": float(auc),
            }
        predicted = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
        present = [c for c in labels if c in set(y)]
        try:
            auc = float(m.roc_auc_score(y, proba, multi_class="ovr", labels=labels, average="macro"))
        except ValueError:
            auc = float("nan")
        return {
            "precision": float(
                m.precision_score(y, predicted, labels=present, average="macro", zero_division=0)
            ),
            "recall": float(m.recall_score(y, predicted, labels=present, average="macro", zero_division=0)),
            "accuracy": float(m.accuracy_score(y, predicted)),
            "f1_score": float(m.f1_score(y, predicted, labels=present, average="macro", zero_division=0)),
            "log_loss": float(m.log_loss(y, proba, labels=labels)),
            "roc_auc": auc,
        }
    predicted = estimator.predict(x)
    truth = np.asarray(y, dtype=float)
    msle = (
        float(m.mean_squared_log_error(truth, predicted))
        if (truth > -1).all() and (predicted > -1).all()
        else float("nan")
    )
    return {
        "mean_absolute_error": float(m.mean_absolute_error(truth, predicted)),
        "mean_squared_error": float(m.mean_squared_error(truth, predicted)),
        "mean_squared_log_error": msle,
        "median_absolute_error": float(m.median_absolute_error(truth, predicted)),
        "r2_score": float(m.r2_score(truth, predicted)),
        "explained_variance": float(m.explained_variance_score(truth, predicted)),
    }


def staged_losses(estimator: Any, x: np.ndarray, y: np.ndarray) -> list[float]:
    """The training loss after each boosting round (ML.TRAINING_INFO's rows for boosted trees)."""
    losses = []
    if hasattr(estimator, "predict_proba"):  # log loss from the raw scores, without per-call validation
        index = np.searchsorted(estimator.classes_, y)
        for raw in estimator._staged_raw_predict(x):
            logits = np.hstack([-raw, raw]) / 2 if raw.shape[1] == 1 else raw  # binary: the log-odds
            logits = logits - logits.max(axis=1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            losses.append(float(-log_p[np.arange(len(y)), index].mean()))
        return losses
    truth = np.asarray(y, dtype=float)
    return [float(np.mean((truth - p) ** 2)) for p in estimator.staged_predict(x)]


def loss(model_type: str, estimator: Any, x: np.ndarray, y: np.ndarray | None) -> float:
    """ML.TRAINING_INFO's loss: log loss (classifiers), mean squared error (regressors), k-means distance."""
    from sklearn import metrics as m

    if model_type == "KMEANS":
        return float(np.mean(estimator.transform(x).min(axis=1) ** 2))
    if hasattr(estimator, "predict_proba"):
        return float(m.log_loss(y, estimator.predict_proba(x), labels=list(estimator.classes_)))
    return float(m.mean_squared_error(np.asarray(y, dtype=float), estimator.predict(x)))


# -- ML.PREDICT ----------------------------------------------------------------------------------
def _check_threshold(model: LocalModel, threshold: Any) -> float:
    if threshold is None:
        return 0.5
    if model.model_type not in ("LOGISTIC_REG", "BOOSTED_TREE_CLASSIFIER") or len(model.classes) != 2:
        raise invalid_query("THRESHOLD can only be used with binary-class classification models")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise invalid_query(f"Invalid value for threshold: {threshold}; it must be between 0.0 and 1.0")
    return float(threshold)


def _labels(model: LocalModel, proba: np.ndarray, threshold: float) -> np.ndarray:
    labels = np.asarray(model.fitted.estimator.classes_, dtype=object)
    if len(labels) == 2:
        return np.where(proba[:, 1] >= threshold, labels[1], labels[0])
    return labels[proba.argmax(axis=1)]


def _native(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _no_rows(model: LocalModel, frame: pd.DataFrame, score: Any) -> pd.DataFrame:
    """The empty answer for an empty input, with the output columns a row would get."""
    assert model.training_frame is not None
    probe = score(model.training_frame.iloc[:1].reset_index(drop=True))
    outputs = [c for c in probe.columns if c not in model.training_frame.columns]
    return pd.concat([probe[outputs].iloc[:0], frame.iloc[:0]], axis=1).reset_index(drop=True)


def predict(model: LocalModel, frame: pd.DataFrame, threshold: Any = None) -> pd.DataFrame:
    """ML.PREDICT: ``predicted_<label>`` (+ ``_probs`` for classifiers) or CENTROID_ID, then the input.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-predict
    """
    if frame.empty:
        return _no_rows(model, frame, lambda rows: predict(model, rows, threshold))
    estimator = model.fitted.estimator
    x = model.matrix(frame)
    out = pd.DataFrame(index=frame.index)
    if model.model_type == "KMEANS":
        xs = _kmeans_x(estimator, x, model.fitted.params)
        distances = estimator.transform(xs)
        nearest = np.argsort(distances, axis=1)[:, : min(estimator.n_clusters, 5)]
        out["CENTROID_ID"] = (distances.argmin(axis=1) + 1).astype("int64")
        out["NEAREST_CENTROIDS_DISTANCE"] = [
            [{"CENTROID_ID": int(c + 1), "DISTANCE": float(distances[i, c])} for c in row]
            for i, row in enumerate(nearest)
        ]
    elif hasattr(estimator, "predict_proba"):
        limit = _check_threshold(model, threshold)
        proba = estimator.predict_proba(x)
        labels = [_native(v) for v in estimator.classes_]
        out[f"predicted_{model.label}"] = [_native(v) for v in _labels(model, proba, limit)]
        order = np.argsort(-proba, axis=1, kind="stable")  # most probable label first
        out[f"predicted_{model.label}_probs"] = [
            [{"label": labels[j], "prob": float(row[j])} for j in rank]
            for row, rank in zip(proba, order, strict=True)
        ]
    else:
        _check_threshold(model, threshold)
        out[f"predicted_{model.label}"] = estimator.predict(x).astype(float)
    passthrough = frame[[c for c in frame.columns if c not in out.columns]]
    return pd.concat([out, passthrough], axis=1).reset_index(drop=True)


# -- ML.EVALUATE ---------------------------------------------------------------------------------
def evaluate(
    model: LocalModel, frame: pd.DataFrame | None, threshold: Any = None, trial: Any = None
) -> pd.DataFrame:
    """ML.EVALUATE: one row of metrics on ``frame`` when given, else the metrics kept from training.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-evaluate
    """
    fitted = model.fitted if trial is None else model.trial(trial).fitted
    if frame is None:
        if threshold is not None:
            raise invalid_query("THRESHOLD needs a TABLE or query argument to evaluate on")
        row = dict(fitted.eval_metrics)
    else:
        limit = _check_threshold(model, threshold)
        if frame.empty:
            raise invalid_query("ML.EVALUATE: the input table or query returned no rows to evaluate on")
        y = None
        if model.label is not None:
            prepared = model.prepare(frame) if model.transform else frame
            if model.label not in prepared.columns or prepared[model.label].isna().all():
                raise invalid_query(
                    f"Invalid table-valued function ML.EVALUATE: the input must include the label column "
                    f"{model.label}"
                )
            y = prepared[model.label].to_numpy()
        row = metrics(model.model_type, fitted.estimator, model.matrix(frame), y, fitted.params, limit)
    if model.tuned:
        row = {"trial_id": model.trials.index(fitted) + 1, **row}
    return pd.DataFrame([row])


# -- explanations ------------------------------------------------------------------------------
def _tree_contributions(nodes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Saabas path attributions of one fitted tree (a HistGradientBoosting predictor's nodes).

    Each split on the way from the root to a row's leaf credits its feature with the
    change of the node value; the credits add up to ``leaf value - root value``.
    """
    contributions = np.zeros_like(x, dtype=float)
    node = np.zeros(len(x), dtype=int)
    rows = np.arange(len(x))
    while len(rows):
        current = node[rows]
        feature = nodes["feature_idx"][current]
        values = x[rows, feature]
        left = np.where(
            np.isnan(values),
            nodes["missing_go_to_left"][current] == 1,
            values <= nodes["num_threshold"][current],
        )
        child = np.where(left, nodes["left"][current], nodes["right"][current])
        contributions[rows, feature] += nodes["value"][child] - nodes["value"][current]
        node[rows] = child
        rows = rows[nodes["is_leaf"][child] == 0]
    return contributions


def raw_attributions(model: LocalModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row (attributions per matrix column, baseline, raw prediction) in log-odds or label units.

    For classifiers the values are for the **positive** class (binary) or for each
    row's predicted class (multiclass).
    """
    estimator = model.fitted.estimator
    multiclass = hasattr(estimator, "classes_") and len(estimator.classes_) > 2
    chosen = estimator.predict_proba(x).argmax(axis=1) if multiclass else np.zeros(len(x), dtype=int)
    if hasattr(estimator, "coef_"):
        coef = np.atleast_2d(estimator.coef_)
        intercept = np.atleast_1d(estimator.intercept_)
        contributions = x * coef[chosen]
        baseline = intercept[chosen].astype(float)
    else:  # leaf values already carry the learning rate; the prior is the baseline's start
        prior = np.atleast_1d(np.asarray(estimator._baseline_prediction, dtype=float).ravel())
        contributions = np.zeros_like(x, dtype=float)
        baseline = prior[chosen].copy()
        for k in np.unique(chosen):
            rows = chosen == k
            for stage in estimator._predictors:
                nodes = stage[k].nodes
                contributions[rows] += _tree_contributions(nodes, x[rows])
                baseline[rows] += nodes["value"][0]
    return contributions, baseline, baseline + contributions.sum(axis=1)


def global_attributions(model: LocalModel, x: np.ndarray) -> pd.DataFrame:
    """ML.GLOBAL_EXPLAIN: the mean absolute attribution of each feature, largest first.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-global-explain
    """
    assert model.encoder is not None
    contributions, _, _ = raw_attributions(model, x)
    per_feature = np.abs(model.encoder.group(contributions)).mean(axis=0)
    frame = pd.DataFrame({"feature": model.encoder.features, "attribution": per_feature})
    return frame.sort_values("attribution", ascending=False, kind="stable").reset_index(drop=True)


def explain_predict(
    model: LocalModel, frame: pd.DataFrame, top_k: Any = None, threshold: Any = None
) -> pd.DataFrame:
    """ML.EXPLAIN_PREDICT: the prediction, the top-k attributions, baseline, raw value, error (0: exact).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-explain-predict
    """
    if model.model_type == "KMEANS":
        raise invalid_query("ML.EXPLAIN_PREDICT does not support KMEANS models")
    if frame.empty:
        return _no_rows(model, frame, lambda rows: explain_predict(model, rows, top_k, threshold))
    top = 5 if top_k is None else top_k
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise invalid_query(f"Invalid value for top_k_features: {top}; it must be a positive INT64")
    assert model.encoder is not None
    limit = _check_threshold(model, threshold)
    estimator = model.fitted.estimator
    x = model.matrix(frame)
    contributions, baseline, raw = raw_attributions(model, x)
    per_feature = model.encoder.group(contributions)
    out = pd.DataFrame(index=frame.index)
    label = f"predicted_{model.label}"
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(x)
        predicted = _labels(model, proba, limit)
        classes = list(estimator.classes_)
        if len(classes) == 2:  # report the predicted class: the other class has the opposite log-odds
            sign = np.where(predicted == classes[1], 1.0, -1.0)
            per_feature, baseline, raw = per_feature * sign[:, None], baseline * sign, raw * sign
        out[label] = [_native(v) for v in predicted]
        out["probability"] = proba[np.arange(len(x)), [classes.index(v) for v in predicted]]
    else:
        out[label] = raw
    names = model.encoder.features
    order = np.argsort(-np.abs(per_feature), axis=1, kind="stable")[:, :top]
    out["top_feature_attributions"] = [
        [{"feature": names[j], "attribution": float(per_feature[i, j])} for j in row]
        for i, row in enumerate(order)
    ]
    out["baseline_prediction_value"] = baseline
    out["prediction_value"] = raw
    out["approximation_error"] = 0.0
    passthrough = frame[[c for c in frame.columns if c not in out.columns]]
    return pd.concat([out, passthrough], axis=1).reset_index(drop=True)


# -- model information -------------------------------------------------------------------------------
def feature_info(model: LocalModel) -> pd.DataFrame:
    """ML.FEATURE_INFO: statistics of the training query's feature columns (before TRANSFORM).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-feature
    """
    assert model.training_frame is not None
    rows = []
    for name in model.raw_features:
        values = model.training_frame[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        numbers = values.astype(float) if numeric else None
        rows.append(
            {
                "input": name,
                "min": float(numbers.min()) if numeric else None,
                "max": float(numbers.max()) if numeric else None,
                "mean": float(numbers.mean()) if numeric else None,
                "median": float(numbers.median()) if numeric else None,
                "stddev": float(numbers.std()) if numeric else None,
                "category_count": None if numeric else int(values.nunique(dropna=True)),
                "null_count": int(values.isna().sum()),
                "dimension": None,
            }
        )
    frame = pd.DataFrame(rows)
    return frame.astype({"category_count": "Int64", "null_count": "Int64", "dimension": "Int64"})


def training_info(model: LocalModel) -> pd.DataFrame:
    """ML.TRAINING_INFO: one row per boosting round (boosted trees), else one row for the whole fit.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-train
    """
    fitted = model.fitted
    duration = int(round(fitted.seconds * 1000))
    if model.model_type == "ARIMA_PLUS":
        return pd.DataFrame([{"training_run": 0, "iteration": 0, "duration_ms": duration}])
    estimator = fitted.estimator
    learning_rate = (
        float(fitted.params.get("LEARN_RATE", 0.3)) if model.model_type.startswith("BOOSTED") else None
    )
    rows = []
    if fitted.iteration_losses:
        scores = fitted.iteration_losses
        for i, value in enumerate(scores):
            rows.append(
                {
                    "training_run": 0,
                    "iteration": i,
                    "loss": float(value),
                    "eval_loss": fitted.eval_loss if i == len(scores) - 1 else None,
                    "learning_rate": learning_rate,
                    "duration_ms": duration // len(scores),
                }
            )
    else:
        rows.append(
            {
                "training_run": 0,
                "iteration": 0,
                "loss": fitted.train_loss,
                "eval_loss": fitted.eval_loss,
                "learning_rate": learning_rate,
                "duration_ms": duration,
            }
        )
    frame = pd.DataFrame(rows[::-1])  # BigQuery lists the latest iteration first
    if model.model_type == "KMEANS":
        frame = frame.drop(columns=["eval_loss"])
        sizes = np.bincount(estimator.labels_, minlength=estimator.n_clusters)
        frame["cluster_info"] = [
            [
                {"centroid_id": c + 1, "cluster_radius": None, "cluster_size": int(sizes[c])}
                for c in range(estimator.n_clusters)
            ]
        ] * len(frame)
    return frame


def trial_info(model: LocalModel) -> pd.DataFrame:
    """ML.TRIAL_INFO: one row per trial, the optimal one marked.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-trial-info
    """
    from ds500.localcloud.bigquery_ml_models import objective

    if not model.tuned:
        raise invalid_query("ML.TRIAL_INFO needs a model trained with hyperparameter tuning (NUM_TRIALS > 1)")
    tuned = sorted(k for k, v in model.options.items() if isinstance(v, tuple))
    goal = objective(model.model_type, model.options).lower()
    return pd.DataFrame(
        [
            {
                "trial_id": i + 1,
                "hyperparameters": {k.lower(): _native(t.params[k]) for k in tuned},
                "hparam_tuning_evaluation_metrics": {goal: t.eval_metrics.get(goal)},
                "training_loss": t.train_loss,
                "eval_loss": t.eval_loss,
                "status": "SUCCEEDED",
                "error_message": None,
                "is_optimal": i == model.optimal,
            }
            for i, t in enumerate(model.trials)
        ]
    )


def centroids(model: LocalModel, standardize: Any = None) -> pd.DataFrame:
    """ML.CENTROIDS: one row per feature per centroid, numeric values on the original scale by default.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-centroids
    """
    if model.model_type != "KMEANS":
        raise invalid_query("ML.CENTROIDS is only supported for KMEANS models")
    encoder, centers = model.encoder, model.fitted.estimator.cluster_centers_
    assert encoder is not None
    rows = []
    for c, center in enumerate(centers):
        for name in encoder.features:
            columns = [j for j, (f, _) in enumerate(encoder.columns) if f == name]
            if encoder.kinds[name] in ("numeric", "time"):
                value = float(center[columns[0]])
                if encoder.standardize and not standardize:
                    value = value * encoder.stds[name] + encoder.means[name]
                rows.append(
                    {
                        "centroid_id": c + 1,
                        "feature": name,
                        "numerical_value": value,
                        "categorical_value": [],
                        "geography_value": None,
                    }
                )
            else:
                cats = [
                    {"category": encoder.columns[j][1], "value": str(float(center[j]))}
                    for j in columns
                    if center[j] > 0
                ]
                rows.append(
                    {
                        "centroid_id": c + 1,
                        "feature": name,
                        "numerical_value": None,
                        "categorical_value": cats,
                        "geography_value": None,
                    }
                )
    return pd.DataFrame(rows)
