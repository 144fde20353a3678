"""BigQuery in the local stand-in: the real google-cloud-bigquery client against DuckDB.

Each feature with the call a lab makes, and each wrong call with the exception BigQuery raises.
Results are read with ``to_arrow()`` (``to_dataframe()`` needs the ``db-dtypes`` package).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

bigquery = pytest.importorskip("google.cloud.bigquery")
pytest.importorskip("duckdb")
pytest.importorskip("sqlglot")
import pandas as pd  # noqa: E402
from google.api_core import exceptions  # noqa: E402

from ds500 import cloud  # noqa: E402
from ds500.localcloud import bigquery_sql, bigquery_types  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Loading pandas DataFrame into BigQuery:FutureWarning")


@pytest.fixture(scope="module")
def client(ctx: cloud.CloudContext):
    return ctx.bigquery_client()


@pytest.fixture()
def dataset(client) -> str:
    """A fresh dataset with a small ``events`` table: naive (DATETIME) and UTC (TIMESTAMP) times."""
    name = f"{client.project}.t_{uuid.uuid4().hex[:8]}"
    client.create_dataset(name)
    stamps = pd.to_datetime(["2026-01-01 08:00", "2026-01-02 09:30", "2026-01-03 10:00"])
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["a", "bb", None],
            "score": [0.5, 1.5, 2.5],
            "active": [True, False, True],
            "day": [dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)],
            "seen_local": stamps.astype("datetime64[ns]"),
            "seen_utc": stamps.tz_localize("UTC"),
        }
    )
    client.load_table_from_dataframe(frame, f"{name}.events").result()
    yield name
    client.delete_dataset(name, delete_contents=True, not_found_ok=True)


def rows(client, sql: str, **config) -> pd.DataFrame:
    job_config = bigquery.QueryJobConfig(**config) if config else None
    return client.query(sql, job_config=job_config).result().to_arrow().to_pandas()


def test_client_points_at_the_stand_in(ctx: cloud.CloudContext, client) -> None:
    assert client._connection.API_BASE_URL == ctx.local.url
    assert client.location == "us-central1" and client.project == "ds500-local"
    assert cloud.bigquery_client(ctx, location="US").location == "US"


def test_datasets_insert_get_list_delete(client) -> None:
    name = f"{client.project}.d_{uuid.uuid4().hex[:8]}"
    created = client.create_dataset(name)
    assert created.location == "us-central1"  # the client's location, as the client sends it
    assert client.create_dataset(name, exists_ok=True).dataset_id == created.dataset_id
    with pytest.raises(exceptions.Conflict, match="Already Exists: Dataset"):
        client.create_dataset(name)
    assert created.dataset_id in [d.dataset_id for d in client.list_datasets()]
    client.delete_dataset(name)
    with pytest.raises(exceptions.NotFound, match="Not found: Dataset"):
        client.get_dataset(name)
    client.delete_dataset(name, not_found_ok=True)
    with pytest.raises(exceptions.BadRequest, match="Invalid dataset ID"):
        client.create_dataset(f"{client.project}.bad-name")


def test_delete_dataset_with_tables_needs_delete_contents(client, dataset: str) -> None:
    with pytest.raises(exceptions.BadRequest, match="still in use"):
        client.delete_dataset(dataset)
    client.delete_dataset(dataset, delete_contents=True)
    with pytest.raises(exceptions.NotFound):
        client.get_table(f"{dataset}.events")


def test_load_from_dataframe_keeps_bigquery_types(client, dataset: str) -> None:
    table = client.get_table(f"{dataset}.events")
    types = {f.name: f.field_type for f in table.schema}
    assert types == {
        "id": "INTEGER",
        "name": "STRING",
        "score": "FLOAT",
        "active": "BOOLEAN",
        "day": "DATE",
        "seen_local": "DATETIME",
        "seen_utc": "TIMESTAMP",
    }
    assert table.num_rows == 3 and table.num_bytes > 0
    got = rows(client, f"SELECT * FROM `{dataset}.events` ORDER BY id")
    assert got["seen_utc"].iloc[1] == pd.Timestamp("2026-01-02 09:30", tz="UTC")
    assert got["seen_local"].iloc[1] == pd.Timestamp("2026-01-02 09:30")
    assert got["name"].isna().iloc[2] and got["day"].iloc[0] == dt.date(2026, 1, 1)


def test_tables_create_list_get_delete(client, dataset: str) -> None:
    schema = [
        bigquery.SchemaField("amount", "NUMERIC"),
        bigquery.SchemaField("raw", "BYTES"),
        bigquery.SchemaField("tags", "STRING", mode="REPEATED"),
        bigquery.SchemaField("point", "RECORD", fields=[bigquery.SchemaField("x", "FLOAT64")]),
    ]
    client.create_table(bigquery.Table(f"{dataset}.typed", schema=schema))
    with pytest.raises(exceptions.Conflict):
        client.create_table(bigquery.Table(f"{dataset}.typed", schema=schema))
    got = {f.name: (f.field_type, f.mode) for f in client.get_table(f"{dataset}.typed").schema}
    assert got == {
        "amount": ("NUMERIC", "NULLABLE"),
        "raw": ("BYTES", "NULLABLE"),
        "tags": ("STRING", "REPEATED"),
        "point": ("RECORD", "NULLABLE"),
    }
    client.query(
        f"INSERT INTO `{dataset}.typed` VALUES (NUMERIC '1.25', b'\\x01', ['a', 'b'], STRUCT(2.0 AS x))"
    ).result()
    row = next(iter(client.list_rows(f"{dataset}.typed")))
    assert (str(row["amount"]), row["raw"], row["tags"], row["point"]) == (
        "1.250000000",
        b"\x01",
        ["a", "b"],
        {"x": 2.0},
    )
    assert sorted(t.table_id for t in client.list_tables(dataset)) == ["events", "typed"]
    client.delete_table(f"{dataset}.typed")
    with pytest.raises(exceptions.NotFound):
        client.delete_table(f"{dataset}.typed")


def test_query_statistics_and_schema(client, dataset: str) -> None:
    job = client.query(f"SELECT id, score FROM `{dataset}.events` WHERE active")
    result = job.result()
    assert job.state == "DONE" and job.statement_type == "SELECT"
    assert job.total_bytes_processed == 3 * 8 * 2 + 3 * 1  # id, score: 8 bytes each; active: 1
    assert [(f.name, f.field_type) for f in result.schema] == [("id", "INTEGER"), ("score", "FLOAT")]
    assert result.total_rows == 2
    star = client.query(f"SELECT * EXCEPT (name) FROM `{dataset}.events`")
    star.result()
    assert star.total_bytes_processed == 3 * (8 + 8 + 1 + 8 + 8 + 8)


def test_maximum_bytes_billed_is_enforced(client, dataset: str) -> None:
    # the client maps the job's reason bytesBilledLimitExceeded to 500, as against BigQuery
    with pytest.raises(
        exceptions.InternalServerError, match="Query exceeded limit for bytes billed: 1000. 10485760"
    ):
        rows(client, f"SELECT id FROM `{dataset}.events`", maximum_bytes_billed=1000)
    assert len(rows(client, f"SELECT id FROM `{dataset}.events`", maximum_bytes_billed=10 * 1024**2)) == 3


def test_named_and_positional_parameters(client, dataset: str) -> None:
    named = rows(
        client,
        f"SELECT id FROM `{dataset}.events` WHERE score > @low ORDER BY id LIMIT @k",
        query_parameters=[
            bigquery.ScalarQueryParameter("low", "FLOAT64", 1.0),
            bigquery.ScalarQueryParameter("k", "INT64", 1),
        ],
    )
    assert named["id"].tolist() == [2]
    positional = client.query_and_wait(
        f"SELECT id FROM `{dataset}.events` WHERE name = ? OR seen_utc > ?",
        job_config=bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter(None, "STRING", "a"),
                bigquery.ScalarQueryParameter(
                    None, "TIMESTAMP", dt.datetime(2026, 1, 3, tzinfo=dt.timezone.utc)
                ),
            ]
        ),
    )
    assert sorted(r["id"] for r in positional) == [1, 3]
    arrays = rows(
        client,
        f"SELECT id FROM `{dataset}.events` WHERE id IN UNNEST(@ids)",
        query_parameters=[bigquery.ArrayQueryParameter("ids", "INT64", [1, 3])],
    )
    assert sorted(arrays["id"]) == [1, 3]


def test_googlesql_features_translate(client, dataset: str) -> None:
    sql = f"""
    WITH t AS (SELECT * FROM `{dataset}.events`)
    SELECT COUNTIF(active) AS n_active, SAFE_DIVIDE(SUM(score), 0) AS nothing,
           IF(COUNT(*) > 2, 'many', 'few') AS size, DATE_DIFF(MAX(day), MIN(day), DAY) AS span,
           ARRAY_AGG(id ORDER BY id) AS ids, STRUCT(1 AS one, 'x' AS ex) AS pair,
           TIMESTAMP_DIFF(MAX(seen_utc), MIN(seen_utc), HOUR) AS hours
    FROM t"""
    got = rows(client, sql).iloc[0]
    assert (got["n_active"], got["size"], got["span"], got["hours"]) == (2, "many", 2, 50)
    assert pd.isna(got["nothing"]) and list(got["ids"]) == [1, 2, 3] and got["pair"] == {"one": 1, "ex": "x"}


def test_ddl_and_dml_statements(client, dataset: str) -> None:
    create = client.query(f"CREATE TABLE `{dataset}.copy` AS SELECT id, score FROM `{dataset}.events`")
    create.result()
    assert create.statement_type == "CREATE_TABLE_AS_SELECT" and create.ddl_operation_performed == "CREATE"
    assert create.ddl_target_table.table_id == "copy"
    with pytest.raises(exceptions.Conflict, match="Already Exists: Table"):
        client.query(f"CREATE TABLE `{dataset}.copy` AS SELECT 1 AS id").result()
    replace = client.query(f"CREATE OR REPLACE TABLE `{dataset}.copy` AS SELECT 7 AS id")
    replace.result()
    assert replace.ddl_operation_performed == "REPLACE"
    insert = client.query(f"INSERT INTO `{dataset}.copy` (id) VALUES (8), (9)")
    insert.result()
    assert insert.statement_type == "INSERT" and insert.num_dml_affected_rows == 2
    assert client.get_table(f"{dataset}.copy").num_rows == 3
    client.query(f"DROP TABLE `{dataset}.copy`").result()
    with pytest.raises(exceptions.NotFound):
        client.get_table(f"{dataset}.copy")


def test_bad_statements_fail_as_in_bigquery(client, dataset: str) -> None:
    with pytest.raises(exceptions.BadRequest, match=r"Syntax error: .* at \[1:7\]"):
        client.query("SELEC 1").result()
    with pytest.raises(exceptions.BadRequest, match=r"Syntax error: .* at \[2:"):
        client.query_and_wait("SELECT (1\nFROM t")
    with pytest.raises(exceptions.NotFound, match="Not found: Table ds500-local:.*missing"):
        client.query(f"SELECT * FROM `{dataset}.missing`").result()
    with pytest.raises(exceptions.NotFound, match="Not found: Dataset"):
        client.query("SELECT * FROM `ds500-local.no_such_dataset.t`").result()
    with pytest.raises(exceptions.BadRequest, match=r"Unrecognized name: nope at \[1:8\]"):
        client.query(f"SELECT nope FROM `{dataset}.events`").result()
    with pytest.raises(exceptions.BadRequest, match="must be qualified with a dataset"):
        client.query("SELECT * FROM events").result()
    default = bigquery.QueryJobConfig(default_dataset=dataset)
    assert client.query("SELECT COUNT(*) AS n FROM events", job_config=default).result().total_rows == 1


def test_datetime_compared_with_timestamp_has_no_matching_signature(client, dataset: str) -> None:
    """Lab 05's old bug: naive datetimes load as DATETIME; BigQuery refuses to compare them with TIMESTAMP."""
    for sql in (
        f"SELECT id FROM `{dataset}.events` WHERE seen_local <= seen_utc",
        f"SELECT id FROM `{dataset}.events` WHERE seen_local > TIMESTAMP '2026-01-01 00:00:00'",
        f"SELECT a.id FROM `{dataset}.events` a JOIN `{dataset}.events` b ON a.seen_utc = b.seen_local",
    ):
        with pytest.raises(
            exceptions.BadRequest,
            match="No matching signature for operator .* (DATETIME, TIMESTAMP|TIMESTAMP, DATETIME)",
        ):
            client.query(sql).result()
    ok = rows(client, f"SELECT id FROM `{dataset}.events` WHERE seen_local > DATETIME '2026-01-02 00:00:00'")
    assert sorted(ok["id"]) == [2, 3]


def test_dataset_in_another_location_is_not_found(ctx: cloud.CloudContext, client, dataset: str) -> None:
    with pytest.raises(exceptions.NotFound, match="was not found in location US"):
        ctx.bigquery_client(location="US").query(f"SELECT id FROM `{dataset}.events`").result()


def test_load_from_cloud_storage_and_write_dispositions(
    ctx: cloud.CloudContext, client, dataset: str
) -> None:
    bucket = ctx.storage_client().create_bucket(f"bq-load-{uuid.uuid4().hex[:8]}")
    bucket.blob("data/part-1.csv").upload_from_string("id,city\n1,Paris\n2,Lima\n")
    config = bigquery.LoadJobConfig(source_format="CSV", skip_leading_rows=1, autodetect=True)
    job = client.load_table_from_uri(f"gs://{bucket.name}/data/*.csv", f"{dataset}.cities", job_config=config)
    job.result()
    assert job.output_rows == 2 and client.get_table(f"{dataset}.cities").num_rows == 2
    client.load_table_from_uri(
        f"gs://{bucket.name}/data/part-1.csv", f"{dataset}.cities", job_config=config
    ).result()
    assert client.get_table(f"{dataset}.cities").num_rows == 4  # WRITE_APPEND is the load default
    config.write_disposition = bigquery.WriteDisposition.WRITE_TRUNCATE
    client.load_table_from_uri(
        f"gs://{bucket.name}/data/part-1.csv", f"{dataset}.cities", job_config=config
    ).result()
    assert client.get_table(f"{dataset}.cities").num_rows == 2
    with pytest.raises(exceptions.NotFound):
        client.load_table_from_uri(
            f"gs://{bucket.name}/nothing.csv", f"{dataset}.x", job_config=config
        ).result()
    bucket.delete(force=True)


def test_list_rows_pages(client, dataset: str) -> None:
    client.query(
        f"CREATE TABLE `{dataset}.many` AS SELECT x AS n FROM UNNEST(GENERATE_ARRAY(1, 25)) AS x"
    ).result()
    pages = client.list_rows(f"{dataset}.many", page_size=10)
    assert [r["n"] for r in pages] == list(range(1, 26))
    assert [r["n"] for r in client.list_rows(f"{dataset}.many", start_index=20)] == [21, 22, 23, 24, 25]


def test_leftovers_list_datasets_and_tables(ctx: cloud.CloudContext, client, dataset: str) -> None:
    path = "projects/ds500-local/datasets/" + dataset.split(".")[1]
    assert path in ctx.leftovers() and path + "/tables/events" in ctx.leftovers()
    client.delete_dataset(dataset, delete_contents=True)
    assert not [n for n in ctx.leftovers() if n.startswith(path)]


def test_translate_unit_rules() -> None:
    columns = {("p", "d", "t"): {"x": "INT64", "at": "DATETIME"}}
    translation = bigquery_sql.translate(
        "SELECT x FROM d.t WHERE x > @k", project="p", default_dataset=None, columns_of=columns.get
    )
    assert translation.sql == 'SELECT x FROM "p.d"."t" WHERE x > $k'
    assert translation.reads == {("p", "d", "t"): {"x"}} and translation.statement_type == "SELECT"
    with pytest.raises(bigquery_sql.BigQueryError, match="one statement per query"):
        bigquery_sql.translate(
            "SELECT 1; SELECT 2", project="p", default_dataset=None, columns_of=columns.get
        )
    with pytest.raises(bigquery_sql.BigQueryError) as caught:
        bigquery_sql.translate("SELECT * FROM d.u", project="p", default_dataset=None, columns_of=columns.get)
    assert caught.value.code == 404 and caught.value.body()["error"]["errors"][0]["reason"] == "notFound"


def test_type_helpers_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown BigQuery type 'DECIMALS'"):
        bigquery_types.duckdb_type({"name": "x", "type": "DECIMALS"})
    with pytest.raises(ValueError, match="not a valid INT64"):
        bigquery_types.parameter_value({"type": "INT64"}, {"value": "ten"})
    assert (
        bigquery_types.duckdb_type(
            {"name": "p", "type": "RECORD", "mode": "REPEATED", "fields": [{"name": "label", "type": "BOOL"}]}
        )
        == 'STRUCT("label" BOOLEAN)[]'
    )


# the rows of lab 02's dialect table: GoogleSQL meaning, whatever DuckDB would do with the text
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT ROUND(LOG(100), 4) AS v", 4.6052),  # natural log in BigQuery, base 10 in DuckDB
        ("SELECT SAFE_DIVIDE(1, 0) AS v", None),  # no SAFE_DIVIDE in DuckDB
        ("SELECT CAST(1 AS FLOAT64) AS v", 1.0),  # no FLOAT64 type in DuckDB
        ("SELECT IF(COUNTIF(x > 1) = 2, 'y', 'n') AS v FROM UNNEST([1, 2, 3]) AS x", "y"),
    ],
)
def test_lab02_dialect_rows_run_with_googlesql_meaning(client, sql: str, expected) -> None:
    value = rows(client, sql)["v"].iloc[0]
    assert (pd.isna(value) and expected is None) or value == expected


def test_lab02_dialect_rows_table_path_and_except(client, dataset: str) -> None:
    sql = f"SELECT * EXCEPT (name, seen_local, seen_utc, day) FROM `{dataset}.events` ORDER BY id"
    got = rows(client, sql)
    assert list(got.columns) == ["id", "score", "active"]


def test_bigquery_ml_statements_go_through_the_hook(client, dataset: str) -> None:
    client.query(f"""CREATE OR REPLACE MODEL `{dataset}.m`
        OPTIONS (MODEL_TYPE = 'LOGISTIC_REG', INPUT_LABEL_COLS = ['active']) AS
        SELECT score, active FROM `{dataset}.events`""").result()
    job = client.query(
        f"SELECT * FROM ML.PREDICT(MODEL `{dataset}.m`, (SELECT id, score FROM `{dataset}.events`))"
    )
    got = job.to_arrow().to_pandas()
    assert {"id", "predicted_active", "predicted_active_probs"} <= set(got.columns) and len(got) == 3
    with pytest.raises(exceptions.NotFound):
        client.query(
            f"SELECT * FROM ML.PREDICT(MODEL `{dataset}.m`, (SELECT score FROM `{dataset}.nope`))"
        ).result()


def test_lab05_old_bug_naive_feature_times_fail_in_point_in_time_join(client, dataset: str) -> None:
    """Naive feature times (DATETIME) against TIMESTAMP cut-offs: BigQuery refuses, so does the stand-in."""
    features = pd.DataFrame(
        {
            "entity_id": ["a", "a"],
            "f": [1.0, 2.0],
            "feature_timestamp": pd.to_datetime(["2026-01-01", "2026-01-08"]).astype("datetime64[ns]"),
        }
    )
    cutoffs = pd.DataFrame({"entity_id": ["a"], "time": pd.to_datetime(["2026-01-05"]).tz_localize("UTC")})
    client.load_table_from_dataframe(features, f"{dataset}.features").result()
    client.load_table_from_dataframe(cutoffs, f"{dataset}.cutoffs").result()
    sql = f"""SELECT * FROM ML.ENTITY_FEATURES_AT_TIME(TABLE `{dataset}.features`,
        (SELECT entity_id, time FROM `{dataset}.cutoffs`), num_rows => 1)"""
    with pytest.raises(exceptions.BadRequest):
        client.query(sql).result()
    features["feature_timestamp"] = features["feature_timestamp"].dt.tz_localize("UTC")  # the fix in lab 05
    config = bigquery.LoadJobConfig(write_disposition="WRITE_TRUNCATE")
    client.load_table_from_dataframe(features, f"{dataset}.features", job_config=config).result()
    assert rows(client, sql)["f"].tolist() == [1.0]
