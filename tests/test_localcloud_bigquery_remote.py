"""BigQuery ML remote models over Gemini and the generative functions, through the real client.

``CREATE MODEL ... REMOTE WITH CONNECTION ... OPTIONS (ENDPOINT = ...)``, ``AI.GENERATE_TEXT`` and
``ML.GENERATE_TEXT`` go from ``google-cloud-bigquery`` to the stand-in's BigQuery, which checks
them as BigQuery does and answers each row with the genai stand-in's labelled placeholder.
"""

from __future__ import annotations

import json
import uuid

import pytest

bigquery = pytest.importorskip("google.cloud.bigquery")
pytest.importorskip("duckdb")
pytest.importorskip("sqlglot")
import pandas as pd  # noqa: E402
from google.api_core import exceptions  # noqa: E402

from ds500 import cloud  # noqa: E402
from ds500.localcloud import bigquery_ml, bigquery_ml_remote, genai  # noqa: E402
from ds500.localcloud.errors import GoogleError  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:Loading pandas DataFrame into BigQuery:FutureWarning", "ignore:Loading:PendingDeprecationWarning"
)
ENDPOINT = "gemini-3.5-flash"
PLACEHOLDER = genai.placeholder_text(ENDPOINT)


@pytest.fixture(scope="module")
def client(ctx: cloud.CloudContext):
    return ctx.bigquery_client()


@pytest.fixture(scope="module")
def dataset(client, ctx: cloud.CloudContext):
    """A dataset in us-central1 with ``notes`` (one NULL note) and the remote model ``gemini``."""
    name = f"{client.project}.gen_{uuid.uuid4().hex[:8]}"
    client.create_dataset(name)
    notes = pd.DataFrame({"id": [1, 2, 3], "note": ["billing dispute", "slow internet", None]})
    client.load_table_from_dataframe(notes, f"{name}.notes").result()
    client.query(
        f"CREATE OR REPLACE MODEL `{name}.gemini` REMOTE WITH CONNECTION "
        f"`{client.project}.us-central1.vertex_conn` OPTIONS (ENDPOINT = '{ENDPOINT}')"
    ).result()
    yield name
    client.delete_dataset(name, delete_contents=True, not_found_ok=True)
    assert not [n for n in ctx.leftovers() if name.split(".")[1] in n]


def rows(client, sql: str) -> pd.DataFrame:
    return client.query(sql).result().to_arrow().to_pandas()


def test_is_ml_sees_ai_functions_outside_literals() -> None:
    assert bigquery_ml.is_ml("SELECT * FROM AI.GENERATE_TEXT(MODEL d.m, (SELECT 'x' AS prompt))")
    assert not bigquery_ml.is_ml("SELECT 'AI.GENERATE_TEXT(' AS s")
    assert bigquery_ml_remote.is_remote(
        "create or replace model `p.d.m` remote with connection default options()"
    )
    assert not bigquery_ml_remote.is_remote(
        "CREATE MODEL d.m OPTIONS (MODEL_TYPE = 'KMEANS') AS SELECT 1 AS x"
    )


def test_the_remote_model_is_a_bigquery_resource(client, dataset: str) -> None:
    model = client.get_model(f"{dataset}.gemini")
    info = model._properties["remoteModelInfo"]
    assert info["endpoint"] == ENDPOINT
    assert info["connection"] == f"projects/{client.project}/locations/us-central1/connections/vertex_conn"
    assert model.labels == {"ds500-local-approximation": "true"} and "placeholder" in model.description
    assert "gemini" in [m.model_id for m in client.list_models(dataset)]
    with pytest.raises(exceptions.Conflict, match="Already Exists: Model"):
        client.query(
            f"CREATE MODEL `{dataset}.gemini` REMOTE WITH CONNECTION DEFAULT "
            f"OPTIONS (ENDPOINT = '{ENDPOINT}')"
        ).result()
    client.query(  # IF NOT EXISTS keeps the model; a URL endpoint and the DEFAULT connection are accepted
        f"CREATE MODEL IF NOT EXISTS `{dataset}.gemini` REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = "
        f"'https://us-central1-aiplatform.googleapis.com/v1/projects/{client.project}/locations/us-central1/"
        f"publishers/google/models/{ENDPOINT}')"
    ).result()
    assert client.get_model(f"{dataset}.gemini").etag == model.etag


def test_ai_generate_text_returns_one_labelled_row_per_input_row(client, dataset: str) -> None:
    sql = f"""SELECT * FROM AI.GENERATE_TEXT(MODEL `{dataset}.gemini`,
        (SELECT id, CONCAT('Label this support note: ', note) AS prompt FROM `{dataset}.notes`),
        STRUCT(0.2 AS temperature, 256 AS max_output_tokens))"""
    got = rows(client, sql).sort_values("id", ignore_index=True)
    assert list(got.columns) == [
        "result",
        "rai_result",
        "statistics",
        "full_response",
        "status",
        "id",
        "prompt",
    ]
    assert len(got) == 3
    assert list(got["result"][:2]) == [PLACEHOLDER, PLACEHOLDER]  # the genai stand-in's text, labelled
    assert list(got["status"][:2]) == ["", ""]  # empty on success
    response = json.loads(got["full_response"][0])
    assert response["candidates"][0]["content"]["parts"][0]["text"] == PLACEHOLDER
    assert json.loads(got["statistics"][0])["promptTokenCount"] == genai.estimate_tokens(got["prompt"][0])
    assert pd.isna(got["result"][2]) and "NULL" in got["status"][2]  # a NULL prompt fails its row only
    again = rows(client, sql).sort_values("id", ignore_index=True)
    assert again["result"].equals(got["result"])  # deterministic


def test_ml_generate_text_columns_follow_flatten_json_output(client, dataset: str) -> None:
    flat = rows(
        client,
        f"""SELECT * FROM ML.GENERATE_TEXT(MODEL `{dataset}.gemini`, (SELECT id, note AS prompt
            FROM `{dataset}.notes` WHERE id = 1), STRUCT(0.2 AS temperature, 8 AS max_output_tokens,
            TRUE AS flatten_json_output))""",
    )
    assert list(flat.columns) == ["ml_generate_text_llm_result", "ml_generate_text_status", "id", "prompt"]
    text = flat["ml_generate_text_llm_result"][0]
    assert text == PLACEHOLDER[: 8 * 4] and text.startswith(genai.LOCAL_PREFIX[:20])  # cut, still labelled
    raw = rows(
        client, f"SELECT * FROM ML.GENERATE_TEXT(MODEL `{dataset}.gemini`, (SELECT 'Hello' AS prompt))"
    )
    assert list(raw.columns) == ["ml_generate_text_result", "ml_generate_text_status", "prompt"]
    assert json.loads(raw["ml_generate_text_result"][0])["candidates"][0]["finishReason"] == "STOP"
    safety = rows(
        client,
        f"""SELECT * FROM ML.GENERATE_TEXT(MODEL `{dataset}.gemini`, (SELECT 'Hi' AS prompt),
            STRUCT(TRUE AS flatten_json_output, [STRUCT('HARM_CATEGORY_HATE_SPEECH' AS category,
            'BLOCK_LOW_AND_ABOVE' AS threshold)] AS safety_settings))""",
    )
    assert "ml_generate_text_rai_result" in safety.columns


def test_generation_runs_inside_a_larger_statement(client, dataset: str) -> None:
    client.load_table_from_dataframe(
        pd.DataFrame({"prompt": ["Summarise: a", "Summarise: b"], "k": [1, 2]}), f"{dataset}.prompts"
    ).result()
    client.query(
        f"""CREATE OR REPLACE TABLE `{dataset}.summaries` AS SELECT k, result AS summary
        FROM AI.GENERATE_TEXT(MODEL `{dataset}.gemini`, TABLE `{dataset}.prompts`) WHERE status = ''"""
    ).result()
    assert client.get_table(f"{dataset}.summaries").num_rows == 2
    struct_prompt = rows(
        client,
        f"SELECT result FROM AI.GENERATE_TEXT(MODEL `{dataset}.gemini`, "
        f"(SELECT ('Describe ', note, ' in five words') AS prompt FROM `{dataset}.notes` WHERE id = 2))",
    )
    assert list(struct_prompt["result"]) == [PLACEHOLDER]


CREATE_ERRORS = [
    ("OPTIONS (ENDPOINT = '{e}')", "only valid for a remote model"),
    ("REMOTE OPTIONS (ENDPOINT = '{e}')", "Expected keyword WITH CONNECTION"),
    ("REMOTE WITH CONNECTION `vertex_conn` OPTIONS (ENDPOINT = '{e}')", "Invalid connection reference"),
    ("REMOTE WITH CONNECTION `{p}.mars.c` OPTIONS (ENDPOINT = '{e}')", "is not a BigQuery location"),
    ("REMOTE WITH CONNECTION `{p}.us-central1.bad/id` OPTIONS (ENDPOINT = '{e}')", "connection ID"),
    (
        "REMOTE WITH CONNECTION `{p}.eu.vertex_conn` OPTIONS (ENDPOINT = '{e}')",
        "same location as its dataset",
    ),
    ("REMOTE WITH CONNECTION DEFAULT", "Missing required option: ENDPOINT"),
    ("REMOTE WITH CONNECTION DEFAULT OPTIONS ()", "Missing required option: ENDPOINT"),
    (
        "REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = '{e}', MODEL_TYPE = 'X')",
        "Unknown option: MODEL_TYPE",
    ),
    ("REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = 'gemini-2.5-flash')", "retired Gemini model"),
    ("REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = 'gemini-embedding-001')", "embedding model"),
    ("REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = 'gpt-9')", "not a Gemini model the local stand-in"),
    ("REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = 3)", "must be a non-empty string"),
    (
        "REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = 'https://europe-west4-aiplatform.googleapis.com/v1/"
        "projects/{p}/locations/us-central1/publishers/google/models/{e}')",
        "does not match its location",
    ),
    (
        "REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = 'https://us-central1-aiplatform.googleapis.com/v1/"
        "projects/{p}/locations/us-central1/endpoints/123')",
        "publisher model URL",
    ),
    (
        "REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = '{e}') AS SELECT 'a' AS prompt",
        "supervised tuning",
    ),
    ("REMOTE WITH CONNECTION DEFAULT AS SELECT 'a' AS prompt", "supervised tuning"),
]


@pytest.mark.parametrize(("clause", "words"), CREATE_ERRORS, ids=[w for _, w in CREATE_ERRORS])
def test_create_remote_model_errors(client, dataset: str, clause: str, words: str) -> None:
    sql = f"CREATE MODEL `{dataset}.bad` " + clause.format(p=client.project, e=ENDPOINT)
    with pytest.raises(exceptions.BadRequest) as caught:
        client.query(sql).result()
    message = caught.value.message
    assert words in message and "https://" in message, message  # every rule links its documentation
    assert caught.value.errors[0]["reason"] == "invalidQuery"


def test_a_remote_model_needs_its_dataset(client) -> None:
    with pytest.raises(exceptions.NotFound, match="Not found: Dataset"):
        client.query(
            f"CREATE MODEL `{client.project}.no_such_dataset.m` REMOTE WITH CONNECTION DEFAULT "
            f"OPTIONS (ENDPOINT = '{ENDPOINT}')"
        ).result()


FUNCTION_ERRORS = [
    ("AI.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT note FROM `{d}.notes`))", "column named prompt"),
    ("ML.GENERATE_TEXT(MODEL `{d}.gemini`, TABLE `{d}.notes`)", "column named prompt"),
    ("AI.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 1 AS prompt))", "must be a STRING"),
    ("AI.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT(2.0 AS temperature))", "[0,1]"),
    (
        "AI.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT(0 AS max_output_tokens))",
        "[1,8192]",
    ),
    ("AI.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT(1.5 AS top_p))", "top_p"),
    (
        "AI.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT(1 AS top_k))",
        "Invalid argument top_k",
    ),
    (
        "AI.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT('DEDICATED' AS request_type))",
        "Provisioned throughput",
    ),
    (
        "AI.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT('FAST' AS request_type))",
        "request_type must be one of",
    ),
    (
        "ML.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), "
        "STRUCT(TRUE AS ground_with_google_search))",
        "Google Search",
    ),
    (
        "ML.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT(8 AS max_output_tokens, "
        "'{{}}' AS model_params))",
        "cannot be combined",
    ),
    (
        "ML.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT('not json' AS model_params))",
        "JSON-formatted",
    ),
    (
        "ML.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT(['x', 1] AS stop_sequences))",
        "ARRAY<STRING>",
    ),
    (
        "ML.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt), STRUCT([STRUCT('HARM_X' AS category, "
        "'BLOCK_NONE' AS threshold)] AS safety_settings))",
        "safety_settings",
    ),
    ("AI.GENERATE_TEXT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt, 'b' AS status))", "already has a column"),
    ("ML.PREDICT(MODEL `{d}.gemini`, (SELECT 'a' AS prompt))", "not supported for remote model"),
    (
        "AI.GENERATE_TABLE(MODEL `{d}.gemini`, (SELECT 'a' AS prompt))",
        "Function not found: AI.GENERATE_TABLE",
    ),
]


@pytest.mark.parametrize(("call", "words"), FUNCTION_ERRORS, ids=[w for _, w in FUNCTION_ERRORS])
def test_generative_function_errors(client, dataset: str, call: str, words: str) -> None:
    with pytest.raises(exceptions.BadRequest) as caught:
        client.query(f"SELECT * FROM {call.format(d=dataset)}").result()
    assert words in caught.value.message, caught.value.message
    assert caught.value.errors[0]["reason"] == "invalidQuery"


def test_generation_needs_a_remote_model_and_an_existing_one(client, dataset: str) -> None:
    client.query(
        f"""CREATE OR REPLACE MODEL `{dataset}.clusters` OPTIONS (MODEL_TYPE = 'KMEANS', NUM_CLUSTERS = 2)
        AS SELECT id FROM `{dataset}.notes`"""
    ).result()
    with pytest.raises(exceptions.BadRequest, match="needs a remote model over a Gemini model"):
        client.query(
            f"SELECT * FROM AI.GENERATE_TEXT(MODEL `{dataset}.clusters`, (SELECT 'a' AS prompt))"
        ).result()
    client.query(f"DROP MODEL `{dataset}.clusters`").result()
    client.query(
        f"CREATE MODEL `{dataset}.short_lived` REMOTE WITH CONNECTION DEFAULT "
        f"OPTIONS (ENDPOINT = '{ENDPOINT}')"
    ).result()
    client.query(f"DROP MODEL `{dataset}.short_lived`").result()
    with pytest.raises(exceptions.NotFound, match="Not found: Model"):
        client.query(
            f"SELECT * FROM AI.GENERATE_TEXT(MODEL `{dataset}.short_lived`, (SELECT 'a' AS prompt))"
        ).result()


def test_placeholder_helpers_validate_their_arguments() -> None:
    assert PLACEHOLDER.startswith(genai.LOCAL_PREFIX) and ENDPOINT in PLACEHOLDER
    response = genai.placeholder_response(ENDPOINT, "abcdefgh", {"maxOutputTokens": 2})
    assert response["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert response["usageMetadata"]["promptTokenCount"] == 2
    with pytest.raises(ValueError, match="model must be"):
        genai.placeholder_text("")
    with pytest.raises(ValueError, match="prompt must be a string"):
        genai.placeholder_response(ENDPOINT, None)  # type: ignore[arg-type]
    with pytest.raises(GoogleError, match="Function not found: AI.GENERATE"):
        bigquery_ml_remote.generate("AI.GENERATE", None, pd.DataFrame(), {})  # type: ignore[arg-type]
