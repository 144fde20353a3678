"""BigQuery ML in the local stand-in: each statement and function, its column names, and its errors.

The statements go through :func:`ds500.localcloud.bigquery_ml.rewrite` with a ``query``
callable backed by an in-memory DuckDB (GoogleSQL transpiled by sqlglot), and the SQL
that ``rewrite`` leaves runs there too, with its temporary tables: the same contract
the BigQuery service uses, without depending on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

duckdb = pytest.importorskip("duckdb")
sqlglot = pytest.importorskip("sqlglot")

from ds500 import drift  # noqa: E402
from ds500.localcloud import bigquery_ml as bqml  # noqa: E402
from ds500.localcloud.errors import GoogleError  # noqa: E402
from ds500.localcloud.store import Store  # noqa: E402

CLASSIFIER_METRICS = ["precision", "recall", "accuracy", "f1_score", "log_loss", "roc_auc"]
REGRESSOR_METRICS = [
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "median_absolute_error",
    "r2_score",
    "explained_variance",
]
FEATURES = "tenure, monthly_charges, contract, internet_service"


def _customers(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, n)
    charges = rng.uniform(20, 110, n).round(2)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.25, 0.2])
    internet = rng.choice(["DSL", "Fiber optic", "No"], n)
    logit = -1.0 - 0.04 * tenure + 0.02 * (charges - 60) + 1.2 * (contract == "Month-to-month")
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "customer_row": np.arange(n),
            "tenure": tenure,
            "monthly_charges": charges,
            "contract": contract,
            "internet_service": internet,
            "churned": churned,
            "is_test": rng.random(n) < 0.3,
        }
    )


class Warehouse:
    """An in-memory DuckDB with tables ``p.d.*``, and the BigQuery service's side of the contract."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute("ATTACH ':memory:' AS p")
        self.con.execute("CREATE SCHEMA p.d")
        self.store = Store()

    def load(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register("_incoming", frame)
        self.con.execute(f"CREATE OR REPLACE TABLE p.d.{name} AS SELECT * FROM _incoming")
        self.con.unregister("_incoming")

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sqlglot.transpile(sql, read="bigquery", write="duckdb")[0]).df()

    def run(self, sql: str) -> pd.DataFrame | bqml.MLRewrite:
        assert bqml.is_ml(sql)
        out = bqml.rewrite(sql, project="p", default_dataset="d", query=self.query, store=self.store)
        if out.sql is None:
            return out
        for name, frame in out.tables.items():
            self.con.register(name, frame)
        return self.query(out.sql)


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    warehouse = Warehouse()
    warehouse.load("customers", _customers())
    warehouse.run(f"""CREATE OR REPLACE MODEL `p.d.logreg`
        OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned'], DATA_SPLIT_METHOD = 'NO_SPLIT')
        AS SELECT {FEATURES}, churned FROM `p.d.customers` WHERE NOT is_test""")
    return warehouse


def _fails(wh: Warehouse, sql: str, *words: str, code: int = 400) -> GoogleError:
    with pytest.raises(GoogleError) as caught:
        wh.run(sql)
    assert caught.value.code == code, caught.value.message
    for word in words:
        assert word in caught.value.message, caught.value.message
    return caught.value


def test_is_ml_finds_model_ddl_and_ml_calls_but_not_text_in_literals_or_comments() -> None:
    assert bqml.is_ml("create or replace model d.m options (model_type='kmeans') as select 1 as x")
    assert bqml.is_ml("DROP MODEL IF EXISTS `p.d.m`")
    assert bqml.is_ml("SELECT * FROM ML.PREDICT(MODEL d.m, TABLE d.t)")
    assert not bqml.is_ml("SELECT 'ML.PREDICT(' AS s -- ML.EVALUATE(\nFROM t")
    assert not bqml.is_ml("SELECT html.predict FROM t")


def test_create_model_is_ddl_stored_as_the_rest_resource_labelled_local(wh: Warehouse) -> None:
    out = wh.run(
        "CREATE MODEL `p.d.tmp` OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned']) "
        f"AS SELECT {FEATURES}, churned FROM `p.d.customers`"
    )
    assert (out.sql, out.result, out.statement_type, out.ddl_target) == (
        None,
        None,
        "CREATE_MODEL",
        "p.d.tmp",
    )
    resource = wh.store.get("projects/p/datasets/d/models/tmp")
    assert resource["modelReference"] == {"projectId": "p", "datasetId": "d", "modelId": "tmp"}
    assert resource["modelType"] == "LOGISTIC_REGRESSION"
    assert "local approximation" in resource["description"].lower()
    assert resource["labels"] == {"ds500-local-approximation": "true"}
    assert [c["name"] for c in resource["featureColumns"]] == [
        "tenure",
        "monthly_charges",
        "contract",
        "internet_service",
    ]
    _fails(
        wh,
        "CREATE MODEL `p.d.tmp` OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned']) "
        f"AS SELECT {FEATURES}, churned FROM `p.d.customers`",
        "Already Exists: Model p:d.tmp",
        code=409,
    )
    assert wh.run("DROP MODEL `p.d.tmp`").statement_type == "DROP_MODEL"
    _fails(wh, "SELECT * FROM ML.EVALUATE(MODEL `p.d.tmp`)", "Not found: Model p:d.tmp", code=404)
    assert wh.run("DROP MODEL IF EXISTS `p.d.tmp`").statement_type == "DROP_MODEL"
    _fails(wh, "DROP MODEL `p.d.tmp`", "Not found: Model p:d.tmp", code=404)


def test_a_model_deleted_with_its_dataset_is_gone(wh: Warehouse) -> None:
    wh.run(
        "CREATE MODEL e.gone OPTIONS (MODEL_TYPE='LINEAR_REG', INPUT_LABEL_COLS=['tenure']) AS "
        "SELECT monthly_charges, tenure FROM `p.d.customers`"
    )
    wh.store.put("projects/p/datasets/e", {})
    wh.store.delete("projects/p/datasets/e")  # what delete_dataset(delete_contents=True) does
    _fails(wh, "SELECT * FROM ML.EVALUATE(MODEL e.gone)", "Not found: Model p:e.gone", code=404)


def test_create_model_refuses_bad_options_with_bigquery_wording(wh: Warehouse) -> None:
    base = f"AS SELECT {FEATURES}, churned FROM `p.d.customers`"
    _fails(
        wh,
        f"CREATE OR REPLACE MODEL d.bad OPTIONS (MODEL_TYPE = 'LOGISTIC') {base}",
        "Invalid value for option MODEL_TYPE",
    )
    _fails(wh, f"CREATE OR REPLACE MODEL d.bad OPTIONS (INPUT_LABEL_COLS = ['churned']) {base}", "MODEL_TYPE")
    _fails(
        wh,
        f"CREATE OR REPLACE MODEL d.bad OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', NUM_CLUSTERS = 3, "
        f"INPUT_LABEL_COLS = ['churned']) {base}",
        "Unknown option: NUM_CLUSTERS",
    )
    _fails(
        wh,
        f"CREATE OR REPLACE MODEL d.bad OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churn']) "
        f"{base}",
        "Column churn",
    )
    with pytest.raises(GoogleError, match="missing dataset while no default dataset"):
        bqml.rewrite(
            "CREATE MODEL m OPTIONS (MODEL_TYPE='KMEANS') AS SELECT 1 AS x",
            project="p",
            default_dataset=None,
            query=wh.query,
            store=wh.store,
        )
    _fails(
        wh,
        "CREATE OR REPLACE MODEL d.bad OPTIONS (MODEL_TYPE = 'LINEAR_REG', INPUT_LABEL_COLS = ['contract']) "
        "AS SELECT tenure, contract FROM `p.d.customers`",
        "must be numeric",
    )
    _fails(wh, "SELECT * FROM ML.DETECT_ANOMALIES(MODEL d.logreg, TABLE d.customers)", "Function not found")
    # Model DDL the stand-in does not run says so, instead of a SQL parse error.
    _fails(wh, "EXPORT MODEL d.logreg OPTIONS (URI = 'gs://b/logreg/*')", "EXPORT MODEL is not supported")
    _fails(wh, "ALTER MODEL d.logreg SET OPTIONS (description = 'churn')", "ALTER MODEL is not supported")


def test_logistic_reg_evaluate_and_predict_have_bigquery_ml_columns(wh: Warehouse) -> None:
    row = wh.run(
        f"SELECT * FROM ML.EVALUATE(MODEL `p.d.logreg`, (SELECT {FEATURES}, churned "
        "FROM `p.d.customers` WHERE is_test))"
    )
    assert list(row.columns) == CLASSIFIER_METRICS
    assert 0.7 < row["roc_auc"][0] < 1.0
    predicted = wh.run(
        "SELECT * FROM ML.PREDICT(MODEL `p.d.logreg`, (SELECT * FROM `p.d.customers` WHERE is_test))"
    )
    assert list(predicted.columns[:2]) == ["predicted_churned", "predicted_churned_probs"]
    assert "customer_row" in predicted.columns  # input columns pass through
    probs = predicted["predicted_churned_probs"][0]
    assert sorted(p["label"] for p in probs) == [False, True]
    assert sum(p["prob"] for p in probs) == pytest.approx(1.0)
    # lab 01's call list: UNNEST the probabilities, keep TRUE, order, limit
    calls = wh.run("""SELECT customer_row, churned, p.prob AS churn_score
        FROM ML.PREDICT(MODEL `p.d.logreg`, (SELECT * FROM `p.d.customers` WHERE is_test)),
          UNNEST(predicted_churned_probs) AS p
        WHERE p.label = TRUE ORDER BY churn_score DESC LIMIT 20""")
    assert len(calls) == 20 and calls["churn_score"].is_monotonic_decreasing
    assert calls["churned"].mean() > predicted["churned"].mean()  # the top of the list churns more
    strict = wh.run(
        "SELECT COUNTIF(predicted_churned) AS n FROM ML.PREDICT(MODEL d.logreg, "
        "(SELECT * FROM d.customers), STRUCT(0.9 AS threshold))".replace("d.customers", "`p.d.customers`")
    )
    loose = wh.run(
        "SELECT COUNTIF(predicted_churned) AS n FROM ML.PREDICT(MODEL d.logreg, "
        "(SELECT * FROM `p.d.customers`), STRUCT(0.1 AS threshold))"
    )
    assert strict["n"][0] < loose["n"][0]
    _fails(
        wh,
        "SELECT * FROM ML.PREDICT(MODEL d.logreg, (SELECT tenure FROM `p.d.customers`))",
        "monthly_charges",
    )
    none = wh.run("SELECT * FROM ML.PREDICT(MODEL d.logreg, (SELECT * FROM `p.d.customers` WHERE FALSE))")
    assert none.empty and list(none.columns[:2]) == ["predicted_churned", "predicted_churned_probs"]
    _fails(
        wh,
        "SELECT * FROM ML.EVALUATE(MODEL d.logreg, (SELECT * FROM `p.d.customers` WHERE FALSE))",
        "no rows",
    )
    _fails(
        wh,
        "SELECT * FROM ML.PREDICT(MODEL d.logreg, (SELECT * FROM `p.d.customers`), STRUCT(1.5 AS threshold))",
        "threshold",
    )
    _fails(
        wh,
        "SELECT * FROM ML.EVALUATE(MODEL d.logreg, (SELECT * FROM `p.d.customers`), STRUCT(2 AS thresh))",
        "Invalid argument thresh",
    )


def test_auto_class_weights_and_data_split(wh: Warehouse) -> None:
    wh.run(f"""CREATE OR REPLACE MODEL d.weighted OPTIONS (MODEL_TYPE = 'LOGISTIC_REG',
        INPUT_LABEL_COLS = ['churned'], AUTO_CLASS_WEIGHTS = TRUE, DATA_SPLIT_METHOD = 'NO_SPLIT')
        AS SELECT {FEATURES}, churned FROM `p.d.customers` WHERE NOT is_test""")
    test = f"(SELECT {FEATURES}, churned FROM `p.d.customers` WHERE is_test)"
    plain = wh.run(f"SELECT recall FROM ML.EVALUATE(MODEL d.logreg, {test})")["recall"][0]
    weighted = wh.run(f"SELECT recall FROM ML.EVALUATE(MODEL d.weighted, {test})")["recall"][0]
    assert weighted > plain  # balanced weights trade precision for recall on the minority class
    wh.run(f"""CREATE OR REPLACE MODEL d.split
        OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned'])
        AS SELECT {FEATURES}, churned FROM `p.d.customers`""")  # AUTO_SPLIT: 1,500 rows -> 20 % evaluation
    model = bqml.get_model("p.d.split", wh.store)
    assert len(model.training_frame) == 1200
    assert list(wh.run("SELECT * FROM ML.EVALUATE(MODEL d.split)").columns) == CLASSIFIER_METRICS
    _fails(wh, "SELECT * FROM ML.EVALUATE(MODEL d.split, STRUCT(0.3 AS threshold))", "TABLE or query")
    wh.run(f"""CREATE OR REPLACE MODEL d.custom
        OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned'],
                 DATA_SPLIT_METHOD = 'CUSTOM', DATA_SPLIT_COL = 'is_test')
        AS SELECT {FEATURES}, churned, IF(customer_row < 10, NULL, is_test) AS is_test
        FROM `p.d.customers`""")
    custom = bqml.get_model("p.d.custom", wh.store)
    assert "is_test" not in custom.features  # the split column is never a feature
    train_rows = wh.query(
        "SELECT COUNT(*) AS n FROM `p.d.customers` WHERE customer_row >= 10 AND NOT is_test"
    )
    assert len(custom.training_frame) == train_rows["n"][0]  # FALSE trains; TRUE and NULL evaluate


def test_transform_statistics_are_learned_at_training_and_reused_at_prediction(wh: Warehouse) -> None:
    wh.run("""CREATE OR REPLACE MODEL `p.d.churn_transform`
        TRANSFORM (
          ML.STANDARD_SCALER(tenure) OVER () AS tenure_z,
          ML.MIN_MAX_SCALER(monthly_charges) OVER () AS monthly_01,
          ML.QUANTILE_BUCKETIZE(monthly_charges, 4) OVER () AS monthly_bucket,
          IF(contract = 'Month-to-month', 1, 0) AS month_to_month,
          internet_service,
          churned)
        OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned'], DATA_SPLIT_METHOD = 'NO_SPLIT',
                 ENABLE_GLOBAL_EXPLAIN = TRUE)
        AS SELECT tenure, monthly_charges, contract, internet_service, churned
        FROM `p.d.customers` WHERE NOT is_test""")
    model = bqml.get_model("p.d.churn_transform", wh.store)
    train = wh.query("SELECT tenure, monthly_charges FROM `p.d.customers` WHERE NOT is_test")
    scaler, minmax, buckets = model.transform.steps
    assert scaler.stats["mean"] == pytest.approx(train["tenure"].mean())
    assert scaler.stats["stddev"] == pytest.approx(
        train["tenure"].std(ddof=1)
    )  # STDDEV_SAMP, as the docs show
    assert minmax.stats == {"min": train["monthly_charges"].min(), "max": train["monthly_charges"].max()}
    assert len(buckets.stats["boundaries"]) == 3
    assert model.features == [
        "tenure_z",
        "monthly_01",
        "monthly_bucket",
        "month_to_month",
        "internet_service",
    ]
    # one row scored alone gets the same answer as inside the whole test set: no statistics from the input
    raw = "tenure, monthly_charges, contract, internet_service"
    every = wh.run(
        f"SELECT customer_row, predicted_churned_probs FROM ML.PREDICT(MODEL d.churn_transform, "
        f"(SELECT customer_row, {raw} FROM `p.d.customers` WHERE is_test))"
    )
    first = int(every["customer_row"][0])
    alone = wh.run(
        f"SELECT predicted_churned_probs FROM ML.PREDICT(MODEL d.churn_transform, "
        f"(SELECT {raw} FROM `p.d.customers` WHERE customer_row = {first}))"
    )
    assert list(alone["predicted_churned_probs"][0]) == list(every["predicted_churned_probs"][0])
    # ML.EVALUATE takes raw columns; the label passes through the TRANSFORM
    row = wh.run(
        f"SELECT * FROM ML.EVALUATE(MODEL d.churn_transform, (SELECT {raw}, churned "
        "FROM `p.d.customers` WHERE is_test), STRUCT(0.5 AS threshold))"
    )
    assert list(row.columns) == CLASSIFIER_METRICS
    # ML.FEATURE_INFO describes the columns before TRANSFORM
    info = wh.run("SELECT * FROM ML.FEATURE_INFO(MODEL d.churn_transform)")
    assert list(info.columns) == [
        "input",
        "min",
        "max",
        "mean",
        "median",
        "stddev",
        "category_count",
        "null_count",
        "dimension",
    ]
    assert list(info["input"]) == ["tenure", "monthly_charges", "contract", "internet_service"]
    assert info.set_index("input").loc["contract", "category_count"] == 3
    _fails(
        wh,
        """CREATE OR REPLACE MODEL d.bad TRANSFORM (ML.STANDARD_SCALER(tenure) AS t, churned)
        OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned'])
        AS SELECT tenure, churned FROM `p.d.customers`""",
        "OVER ()",
    )


def test_feature_cross_and_one_hot_encoder_in_transform(wh: Warehouse) -> None:
    wh.run("""CREATE OR REPLACE MODEL d.crossed
        TRANSFORM (ML.FEATURE_CROSS(STRUCT(contract, internet_service)) AS cross,
                   ML.ONE_HOT_ENCODER(contract) OVER () AS contract_hot, churned)
        OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned'], DATA_SPLIT_METHOD = 'NO_SPLIT')
        AS SELECT contract, internet_service, churned FROM `p.d.customers`""")
    model = bqml.get_model("p.d.crossed", wh.store)
    assert model.features == ["contract_hot", "cross_contract_internet_service"]
    assert "Month-to-month_DSL" in model.encoder.vocab["cross_contract_internet_service"]


def test_kmeans_predict_evaluate_centroids(wh: Warehouse) -> None:
    wh.run("""CREATE OR REPLACE MODEL `p.d.segments` OPTIONS (MODEL_TYPE = 'KMEANS', NUM_CLUSTERS = 3,
        KMEANS_INIT_METHOD = 'KMEANS++', STANDARDIZE_FEATURES = TRUE)
        AS SELECT tenure, monthly_charges, contract FROM `p.d.customers`""")
    predicted = wh.run(
        "SELECT * FROM ML.PREDICT(MODEL d.segments, (SELECT tenure, monthly_charges, contract, "
        "churned FROM `p.d.customers`))"
    )
    assert list(predicted.columns[:2]) == ["CENTROID_ID", "NEAREST_CENTROIDS_DISTANCE"]
    assert set(predicted["CENTROID_ID"]) == {1, 2, 3}
    nearest = predicted["NEAREST_CENTROIDS_DISTANCE"][0]
    assert [d["CENTROID_ID"] for d in nearest][0] == predicted["CENTROID_ID"][0]
    assert [d["DISTANCE"] for d in nearest] == sorted(d["DISTANCE"] for d in nearest)
    profile = wh.run("""SELECT CENTROID_ID AS segment, COUNT(*) AS customers,
          COUNTIF(churned) / COUNT(*) AS churn
        FROM ML.PREDICT(MODEL d.segments,
          (SELECT tenure, monthly_charges, contract, churned FROM `p.d.customers`))
        GROUP BY segment ORDER BY segment""")
    assert profile["customers"].sum() == 1500
    assert list(wh.run("SELECT * FROM ML.EVALUATE(MODEL d.segments)").columns) == [
        "davies_bouldin_index",
        "mean_squared_distance",
    ]
    centroids = wh.run("SELECT * FROM ML.CENTROIDS(MODEL d.segments) ORDER BY centroid_id, feature")
    assert list(centroids.columns) == [
        "centroid_id",
        "feature",
        "numerical_value",
        "categorical_value",
        "geography_value",
    ]
    tenure = centroids[centroids["feature"] == "tenure"]["numerical_value"]
    assert 0 <= tenure.min() and tenure.max() <= 72  # original scale by default
    info = wh.run("SELECT * FROM ML.TRAINING_INFO(MODEL d.segments)")
    assert "cluster_info" in info.columns and "eval_loss" not in info.columns
    _fails(
        wh,
        "CREATE OR REPLACE MODEL d.bad OPTIONS (MODEL_TYPE = 'KMEANS', NUM_CLUSTERS = 1) AS "
        "SELECT tenure FROM `p.d.customers`",
        "Invalid value for option NUM_CLUSTERS",
    )
    _fails(wh, "SELECT * FROM ML.CENTROIDS(MODEL d.logreg)", "KMEANS")
    wh.run(
        "CREATE OR REPLACE MODEL d.auto_k OPTIONS (MODEL_TYPE = 'KMEANS') AS "
        "SELECT tenure FROM `p.d.customers`"
    )
    assert bqml.get_model("p.d.auto_k", wh.store).fitted.estimator.n_clusters == 3  # log10(1,500 rows)


def test_boosted_tree_explanations_add_up(wh: Warehouse) -> None:
    wh.run(f"""CREATE OR REPLACE MODEL d.boosted OPTIONS (MODEL_TYPE = 'BOOSTED_TREE_CLASSIFIER',
        INPUT_LABEL_COLS = ['churned'], ENABLE_GLOBAL_EXPLAIN = TRUE)
        AS SELECT {FEATURES}, churned FROM `p.d.customers`""")
    explained = wh.run(
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL d.boosted, (SELECT * EXCEPT (churned) "
        "FROM `p.d.customers` LIMIT 10), STRUCT(10 AS top_k_features))"
    )
    assert list(explained.columns[:6]) == [
        "predicted_churned",
        "probability",
        "top_feature_attributions",
        "baseline_prediction_value",
        "prediction_value",
        "approximation_error",
    ]
    for _, row in explained.iterrows():
        total = sum(a["attribution"] for a in row["top_feature_attributions"])
        assert row["baseline_prediction_value"] + total == pytest.approx(row["prediction_value"])
        assert 1 / (1 + np.exp(-row["prediction_value"])) == pytest.approx(row["probability"])
    top3 = wh.run(
        "SELECT top_feature_attributions FROM ML.EXPLAIN_PREDICT(MODEL d.boosted, "
        "(SELECT * FROM `p.d.customers` LIMIT 3), STRUCT(3 AS top_k_features))"
    )
    first = [abs(a["attribution"]) for a in top3["top_feature_attributions"][0]]
    assert len(first) == 3 and first == sorted(first, reverse=True)
    globally = wh.run("SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL d.boosted)")
    assert list(globally.columns) == ["feature", "attribution"]
    assert set(globally["feature"]) == {"tenure", "monthly_charges", "contract", "internet_service"}
    _fails(wh, "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL d.logreg)", "ENABLE_GLOBAL_EXPLAIN")
    training = wh.run("SELECT * FROM ML.TRAINING_INFO(MODEL d.boosted)")
    assert list(training.columns) == [
        "training_run",
        "iteration",
        "loss",
        "eval_loss",
        "learning_rate",
        "duration_ms",
    ]
    assert len(training) == 20  # MAX_ITERATIONS' default: 20 boosting rounds


def test_linear_models_explain_exactly_from_the_intercept(wh: Warehouse) -> None:
    wh.run("""CREATE OR REPLACE MODEL d.charges
        OPTIONS (MODEL_TYPE = 'LINEAR_REG', INPUT_LABEL_COLS = ['monthly_charges'],
        DATA_SPLIT_METHOD = 'NO_SPLIT') AS SELECT tenure, contract, monthly_charges FROM `p.d.customers`""")
    row = wh.run(
        "SELECT * FROM ML.EVALUATE(MODEL d.charges, (SELECT tenure, contract, monthly_charges "
        "FROM `p.d.customers`))"
    )
    assert list(row.columns) == REGRESSOR_METRICS
    explained = wh.run(
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL d.charges, (SELECT tenure, contract "
        "FROM `p.d.customers` LIMIT 4))"
    )
    model = bqml.get_model("p.d.charges", wh.store)
    assert (
        explained["baseline_prediction_value"].tolist()
        == [pytest.approx(model.fitted.estimator.intercept_)] * 4
    )
    assert (explained["predicted_monthly_charges"] == explained["prediction_value"]).all()
    assert "probability" not in explained.columns
    _fails(
        wh,
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL d.charges, (SELECT tenure, contract FROM `p.d.customers`), "
        "STRUCT(0 AS top_k_features))",
        "top_k_features",
    )
    _fails(
        wh,
        "SELECT * FROM ML.PREDICT(MODEL d.charges, (SELECT tenure, contract FROM `p.d.customers`), "
        "STRUCT(0.5 AS threshold))",
        "binary-class classification",
    )
    boosted = wh.run("""CREATE OR REPLACE MODEL d.boosted_reg OPTIONS (MODEL_TYPE = 'BOOSTED_TREE_REGRESSOR',
        INPUT_LABEL_COLS = ['monthly_charges'], MAX_ITERATIONS = 5) AS
        SELECT tenure, contract, monthly_charges FROM `p.d.customers`""")
    assert boosted.ddl_target == "p.d.boosted_reg"
    assert list(wh.run("SELECT * FROM ML.EVALUATE(MODEL d.boosted_reg)").columns) == REGRESSOR_METRICS


def test_hyperparameter_tuning_and_trial_info(wh: Warehouse) -> None:
    wh.run(f"""CREATE OR REPLACE MODEL d.tuned
        OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned'],
        NUM_TRIALS = 3, L2_REG = HPARAM_RANGE(0, 5), HPARAM_TUNING_OBJECTIVES = ['ROC_AUC'])
        AS SELECT {FEATURES}, churned FROM `p.d.customers`""")
    trials = wh.run("SELECT * FROM ML.TRIAL_INFO(MODEL d.tuned)")
    assert list(trials.columns) == [
        "trial_id",
        "hyperparameters",
        "hparam_tuning_evaluation_metrics",
        "training_loss",
        "eval_loss",
        "status",
        "error_message",
        "is_optimal",
    ]
    assert list(trials["trial_id"]) == [1, 2, 3] and trials["is_optimal"].sum() == 1
    assert all(0 <= h["l2_reg"] <= 5 for h in trials["hyperparameters"])
    best = trials[trials["is_optimal"]]["hparam_tuning_evaluation_metrics"].iloc[0]["roc_auc"]
    assert best == max(m["roc_auc"] for m in trials["hparam_tuning_evaluation_metrics"])
    assert list(wh.run("SELECT * FROM ML.EVALUATE(MODEL d.tuned)").columns) == [
        "trial_id",
        *CLASSIFIER_METRICS,
    ]
    _fails(wh, "SELECT * FROM ML.TRIAL_INFO(MODEL d.logreg)", "NUM_TRIALS")
    one = wh.run("SELECT * FROM ML.EVALUATE(MODEL d.tuned, STRUCT(1 AS trial_id))")
    assert (
        one["trial_id"][0] == 1
        and one["roc_auc"][0] == trials["hparam_tuning_evaluation_metrics"][0]["roc_auc"]
    )
    assert (
        len(wh.run("SELECT * FROM ML.PREDICT(MODEL d.tuned, TABLE `p.d.customers`, STRUCT(2 AS trial_id))"))
        == 1500
    )
    _fails(
        wh,
        "SELECT * FROM ML.PREDICT(MODEL d.tuned, TABLE `p.d.customers`, STRUCT(4 AS trial_id))",
        "trial_id",
    )
    _fails(
        wh,
        f"CREATE OR REPLACE MODEL d.bad OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned'],"
        f" L2_REG = HPARAM_RANGE(0, 5)) AS SELECT {FEATURES}, churned FROM `p.d.customers`",
        "NUM_TRIALS",
    )


def test_models_are_seeded(wh: Warehouse) -> None:
    sql = (
        "CREATE OR REPLACE MODEL d.again OPTIONS (MODEL_TYPE = 'KMEANS', NUM_CLUSTERS = 4) AS "
        "SELECT tenure, monthly_charges FROM `p.d.customers`"
    )
    wh.run(sql)
    first = wh.run("SELECT * FROM ML.EVALUATE(MODEL d.again)")
    wh.run(sql)
    assert wh.run("SELECT * FROM ML.EVALUATE(MODEL d.again)").equals(first)


@pytest.fixture(scope="module")
def series_wh(wh: Warehouse) -> Warehouse:
    months = pd.date_range("2010-01-01", periods=120, freq="MS")
    t = np.arange(120)
    values = 100 + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(1).normal(0, 0.5, 120)
    wh.load("sales", pd.DataFrame({"month": months.date, "amount": values, "is_test": t >= 108}))
    wh.run("""CREATE OR REPLACE MODEL d.sales_arima OPTIONS (MODEL_TYPE = 'ARIMA_PLUS',
        TIME_SERIES_TIMESTAMP_COL = 'month', TIME_SERIES_DATA_COL = 'amount', DATA_FREQUENCY = 'MONTHLY',
        HORIZON = 12) AS SELECT month, amount FROM `p.d.sales` WHERE NOT is_test""")
    return wh


def test_arima_plus_forecast_and_evaluate(series_wh: Warehouse) -> None:
    wh = series_wh
    forecast = wh.run(
        "SELECT * FROM ML.FORECAST(MODEL d.sales_arima, STRUCT(12 AS horizon, 0.9 AS confidence_level))"
    )
    assert list(forecast.columns) == [
        "forecast_timestamp",
        "forecast_value",
        "standard_error",
        "confidence_level",
        "prediction_interval_lower_bound",
        "prediction_interval_upper_bound",
        "confidence_interval_lower_bound",
        "confidence_interval_upper_bound",
    ]
    assert len(forecast) == 12 and (forecast["confidence_level"] == 0.9).all()
    assert forecast["forecast_timestamp"].dt.tz is not None  # TIMESTAMP, whatever the input's type
    assert forecast["forecast_timestamp"][0] == pd.Timestamp("2019-01-01", tz="UTC")
    assert (forecast["prediction_interval_lower_bound"] < forecast["forecast_value"]).all()
    assert len(wh.run("SELECT * FROM ML.FORECAST(MODEL d.sales_arima)")) == 3  # horizon defaults to 3
    row = wh.run(
        "SELECT * FROM ML.EVALUATE(MODEL d.sales_arima, (SELECT month, amount FROM `p.d.sales` "
        "WHERE is_test))"
    )
    assert list(row.columns) == [
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
        "mean_absolute_percentage_error",
        "symmetric_mean_absolute_percentage_error",
        "mean_absolute_scaled_error",
    ]
    assert row["mean_absolute_percentage_error"][0] < 5  # percent: the series is easy
    fit = wh.run("SELECT * FROM ML.EVALUATE(MODEL d.sales_arima)")
    assert {"non_seasonal_p", "non_seasonal_d", "non_seasonal_q", "has_drift", "aic"} <= set(fit.columns)
    assert len(wh.run("SELECT * FROM ML.ARIMA_EVALUATE(MODEL d.sales_arima)")) == 1  # the best by default
    candidates = wh.run(
        "SELECT * FROM ML.ARIMA_EVALUATE(MODEL d.sales_arima, STRUCT(TRUE AS show_all_candidate_models))"
    )
    assert len(candidates) > 1 and candidates["aic"].is_monotonic_increasing
    _fails(wh, "SELECT * FROM ML.FORECAST(MODEL d.sales_arima, STRUCT(13 AS horizon))", "horizon")
    _fails(
        wh,
        "SELECT * FROM ML.FORECAST(MODEL d.sales_arima, STRUCT(1.0 AS confidence_level))",
        "confidence_level",
    )
    _fails(wh, "SELECT * FROM ML.FORECAST(MODEL d.logreg)", "not supported for model type LOGISTIC_REG")
    _fails(
        wh,
        "CREATE OR REPLACE MODEL d.bad OPTIONS (MODEL_TYPE = 'ARIMA_PLUS', TIME_SERIES_DATA_COL = 'amount') "
        "AS SELECT month, amount FROM `p.d.sales`",
        "TIME_SERIES_TIMESTAMP_COL",
    )


@pytest.fixture(scope="module")
def features_wh(wh: Warehouse) -> Warehouse:
    """The feature and entity time tables of the docs' example 3."""
    stamps = [
        "2022-06-10 12:00",
        "2022-06-11 12:00",
        "2022-06-11 12:00",
        "2022-06-11 10:00",
        "2022-06-10 12:00",
        "2022-06-11 10:00",
    ]
    wh.load(
        "features",
        pd.DataFrame(
            {
                "entity_id": ["id1", "id2", "id1", "id1", "id2", "id2"],
                "f_1": [1.0, 12.0, 11.0, 6.0, 2.0, 7.0],
                "f_2": [1.0, 24.0, None, 12.0, 4.0, None],
                "feature_timestamp": pd.to_datetime(stamps, utc=True),
            }
        ),
    )
    wh.load(
        "entity_times",
        pd.DataFrame(
            {
                "entity_id": ["id1", "id2", "id1"],
                "time": pd.to_datetime(
                    ["2022-06-12 12:00", "2022-06-11 10:00", "2022-06-10 13:00"], utc=True
                ),
            }
        ),
    )
    return wh


def test_entity_features_at_time_follows_the_documented_example(features_wh: Warehouse) -> None:
    out = features_wh.run("""SELECT * FROM ML.ENTITY_FEATURES_AT_TIME(
        TABLE `p.d.features`, TABLE `p.d.entity_times`,
        num_rows => 1, ignore_feature_nulls => TRUE) ORDER BY entity_id, feature_timestamp""")
    assert list(out.columns) == ["entity_id", "f_1", "f_2", "feature_timestamp"]
    assert out[["entity_id", "f_1", "f_2"]].values.tolist() == [
        ["id1", 1.0, 1.0],
        ["id1", 11.0, 12.0],
        ["id2", 7.0, 4.0],
    ]
    # the output's feature_timestamp is the cut-off from the entity time table, not the feature row's time
    assert list(out["feature_timestamp"].dt.strftime("%m-%d %H")) == ["06-10 13", "06-12 12", "06-11 10"]
    kept = features_wh.run("""SELECT f_2 FROM ML.ENTITY_FEATURES_AT_TIME(TABLE `p.d.features`,
        (SELECT entity_id, time FROM `p.d.entity_times`)) WHERE entity_id = 'id2'""")
    assert kept["f_2"].isna().all()  # ignore_feature_nulls defaults to FALSE
    two = features_wh.run("""SELECT * FROM ML.ENTITY_FEATURES_AT_TIME(TABLE `p.d.features`,
        TABLE `p.d.entity_times`, num_rows => 2)""")
    assert len(two) == 5  # id1@06-12: 2 rows, id2@06-11 10:00: 2 rows, id1@06-10 13:00: 1 row
    early = features_wh.run("""SELECT * FROM ML.ENTITY_FEATURES_AT_TIME(TABLE `p.d.features`,
        (SELECT 'id1' AS entity_id, TIMESTAMP '2022-06-01 00:00:00+00' AS time))""")
    assert early.empty  # no feature row at or before the cut-off: no output row
    _fails(
        features_wh,
        "SELECT * FROM ML.ENTITY_FEATURES_AT_TIME(TABLE `p.d.features`, "
        "(SELECT entity_id, time AS ts FROM `p.d.entity_times`))",
        "must have a column time",
    )


def test_features_at_time_and_the_timestamp_rule(features_wh: Warehouse) -> None:
    out = features_wh.run("""SELECT * FROM ML.FEATURES_AT_TIME(TABLE `p.d.features`,
        time => TIMESTAMP '2022-06-12 10:00:00+00', num_rows => 1, ignore_feature_nulls => TRUE)
        ORDER BY entity_id""")
    assert out[["entity_id", "f_1", "f_2"]].values.tolist() == [["id1", 11.0, 12.0], ["id2", 12.0, 24.0]]
    assert (out["feature_timestamp"] == pd.Timestamp("2022-06-12 10:00", tz="UTC")).all()
    features_wh.load(
        "naive_features",
        pd.DataFrame(
            {"entity_id": ["a"], "f": [1.0], "feature_timestamp": pd.to_datetime(["2022-06-10 12:00"])}
        ),
    )
    _fails(
        features_wh,
        "SELECT * FROM ML.FEATURES_AT_TIME(TABLE `p.d.naive_features`)",
        "feature_timestamp is DATETIME, but it must be TIMESTAMP",
    )
    _fails(features_wh, "SELECT * FROM ML.FEATURES_AT_TIME(TABLE `p.d.features`, num_rows => 0)", "num_rows")


def test_validate_data_skew_and_drift_use_the_documented_statistics(wh: Warehouse) -> None:
    options = (
        "STRUCT(0.3 AS categorical_default_threshold, 'L_INFTY' AS categorical_metric_type, "
        "0.2 AS numerical_default_threshold, 'JENSEN_SHANNON_DIVERGENCE' AS numerical_metric_type, "
        "[STRUCT('tenure', 0.01)] AS thresholds)"
    )
    serving = (
        "(SELECT tenure, monthly_charges * 1.6 AS monthly_charges, contract "
        "FROM `p.d.customers` WHERE is_test)"
    )
    skew = wh.run(f"SELECT * FROM ML.VALIDATE_DATA_SKEW(MODEL `p.d.logreg`, {serving}, {options})")
    assert list(skew.columns) == ["input", "metric", "threshold", "value", "is_anomaly"]
    rows = skew.set_index("input")
    assert list(rows.index) == ["tenure", "monthly_charges", "contract"]  # internet_service not served
    train = wh.query("SELECT tenure, monthly_charges, contract FROM `p.d.customers` WHERE NOT is_test")
    test = wh.query(serving[1:-1])
    assert rows.loc["monthly_charges", "value"] == pytest.approx(
        drift.js_divergence(train["monthly_charges"], test["monthly_charges"])
    )
    assert rows.loc["contract", "value"] == pytest.approx(
        drift.l_infinity(train["contract"], test["contract"])
    )
    assert rows.loc["contract", "metric"] == "L_INFTY" and rows.loc["tenure", "threshold"] == 0.01
    assert rows.loc["monthly_charges", "is_anomaly"] and not rows.loc["contract", "is_anomaly"]
    drifted = wh.run("""SELECT * FROM ML.VALIDATE_DATA_DRIFT(
        (SELECT tenure, contract FROM `p.d.customers` WHERE is_test),
        (SELECT tenure, contract FROM `p.d.customers` WHERE tenure > 40),
        STRUCT(0.1 AS numerical_default_threshold,
               'JENSEN_SHANNON_DIVERGENCE' AS categorical_metric_type))""")
    assert list(drifted["metric"]) == ["JENSEN_SHANNON_DIVERGENCE", "JENSEN_SHANNON_DIVERGENCE"]
    assert drifted.set_index("input").loc["tenure", "is_anomaly"]
    _fails(
        wh,
        "SELECT * FROM ML.VALIDATE_DATA_DRIFT((SELECT tenure FROM `p.d.customers` WHERE tenure < 0), "
        "TABLE `p.d.customers`)",
        "no rows",
    )
    # lab 14 wrote 'L_INFINITY': BigQuery's name is L_INFTY
    _fails(
        wh,
        "SELECT * FROM ML.VALIDATE_DATA_SKEW(MODEL d.logreg, TABLE `p.d.customers`, "
        "STRUCT('L_INFINITY' AS categorical_metric_type))",
        "L_INFTY",
    )
    _fails(
        wh,
        "SELECT * FROM ML.VALIDATE_DATA_SKEW(MODEL d.logreg, TABLE `p.d.customers`, "
        "STRUCT(1.0 AS numerical_default_threshold))",
        "[0, 1)",
    )
    _fails(
        wh,
        "SELECT * FROM ML.VALIDATE_DATA_SKEW(MODEL d.logreg, TABLE `p.d.customers`, "
        "STRUCT(20 AS num_histogram_buckets))",
        "num_histogram_buckets",
    )


def test_ml_results_join_with_the_rest_of_the_statement(wh: Warehouse) -> None:
    out = bqml.rewrite(
        """CREATE OR REPLACE TABLE `p.d.scores` AS
        SELECT customer_row, predicted_churned, p.prob FROM ML.PREDICT(MODEL d.logreg,
          (SELECT * FROM `p.d.customers` WHERE is_test)),
          UNNEST(predicted_churned_probs) AS p WHERE p.label""",
        project="p",
        default_dataset="d",
        query=wh.query,
        store=wh.store,
    )
    assert out.statement_type == "CREATE_TABLE_AS_SELECT" and list(out.tables) == ["_ml_result_1"]
    assert "FROM _ml_result_1, UNNEST" in " ".join(out.sql.split())
    _fails(
        wh,
        "SELECT * FROM ML.PREDICT(MODEL d.logreg, (SELECT * FROM ML.FEATURES_AT_TIME(TABLE "
        "`p.d.customers`)))",
        "inside another ML function",
    )


@pytest.mark.filterwarnings("ignore:Loading:PendingDeprecationWarning", "ignore::FutureWarning")
def test_through_the_real_client_models_are_bigquery_resources() -> None:
    """The lab 01 path end to end: google-cloud-bigquery -> the stand-in's BigQuery -> rewrite."""
    pytest.importorskip("ds500.localcloud.bigquery")
    bigquery = pytest.importorskip("google.cloud.bigquery")
    from google.api_core import exceptions

    from ds500 import cloud

    ctx = cloud.context(False, "", "us-central1")
    client = ctx.bigquery_client()
    dataset = f"{client.project}.ml_{np.random.default_rng().integers(1e9)}"
    client.create_dataset(dataset)
    try:
        client.load_table_from_dataframe(_customers(400), f"{dataset}.customers").result()
        job = client.query(f"""CREATE OR REPLACE MODEL `{dataset}.churn`
            OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['churned'])
            AS SELECT {FEATURES}, churned FROM `{dataset}.customers`""")
        job.result()
        assert job.statement_type == "CREATE_MODEL"
        top = client.query(
            f"""SELECT customer_row, p.prob FROM ML.PREDICT(MODEL `{dataset}.churn`,
                (SELECT * FROM `{dataset}.customers`)), UNNEST(predicted_churned_probs) AS p
            WHERE p.label = TRUE ORDER BY p.prob DESC LIMIT @k""",
            job_config=bigquery.QueryJobConfig(
                query_parameters=[bigquery.ScalarQueryParameter("k", "INT64", 5)]
            ),
        ).result()
        assert len(list(top)) == 5
        model = client.get_model(f"{dataset}.churn")
        assert model.model_type == "LOGISTIC_REGRESSION"
        assert model.labels == {"ds500-local-approximation": "true"}
        assert [m.model_id for m in client.list_models(dataset)] == ["churn"]
        client.delete_model(f"{dataset}.churn")
        with pytest.raises(exceptions.NotFound, match="Not found: Model"):
            client.query(f"SELECT * FROM ML.EVALUATE(MODEL `{dataset}.churn`)").result()
    finally:
        client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)
    assert not [n for n in ctx.leftovers() if dataset.split(".")[1] in n]
