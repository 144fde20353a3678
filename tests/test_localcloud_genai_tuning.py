"""The stand-in's Gemini supervised tuning jobs (``tuningJobs``), through the real Gen AI SDK."""

from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("NO_GCE_CHECK", "true")

from ds500.localcloud import genai_tuning  # noqa: E402

GOOD = {
    "systemInstruction": {"parts": [{"text": "Answer in one sentence and cite the card."}]},
    "contents": [
        {"role": "user", "parts": [{"text": "Which service reads invoices?"}]},
        {"role": "model", "parts": [{"text": "Document AI extracts invoice fields. [document-ai]"}]},
    ],
}


def _lines(example: dict, n: int) -> str:
    return "\n".join(json.dumps(example) for _ in range(n))


@pytest.fixture(scope="module")
def client(ctx):
    return ctx.genai_client("us-central1")


@pytest.fixture(scope="module")
def bucket(ctx):
    bucket = ctx.storage_client().create_bucket(f"{ctx.project_id}-tuning-tests", location="us-central1")
    bucket.blob("train.jsonl").upload_from_string(_lines(GOOD, 12))
    bucket.blob("valid.jsonl").upload_from_string(_lines(GOOD, 3))
    yield bucket
    bucket.delete(force=True)


def _tune(client, uri: str, model: str = "gemini-3.5-flash-lite", **config):
    from google.genai import types

    return client.tunings.tune(
        base_model=model,
        training_dataset=types.TuningDataset(gcs_uri=uri),
        config=types.CreateTuningJobConfig(**config) if config else None,
    )


def test_a_valid_job_succeeds_quickly_and_says_nothing_was_trained(client, bucket) -> None:
    from google.genai import types

    job = _tune(client, f"gs://{bucket.name}/train.jsonl", epoch_count=3, adapter_size="ADAPTER_SIZE_FOUR",
                learning_rate_multiplier=1.0, tuned_model_display_name="cards",
                validation_dataset=types.TuningValidationDataset(gcs_uri=f"gs://{bucket.name}/valid.jsonl"))
    assert job.state == types.JobState.JOB_STATE_PENDING
    assert job.name.startswith("projects/ds500-local/locations/us-central1/tuningJobs/")
    assert genai_tuning.LOCAL_NOTE in job.description
    done = client.tunings.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED and done.error is None
    assert done.tuned_model.endpoint.startswith("projects/ds500-local/locations/us-central1/endpoints/")
    stats = done.tuning_data_stats.supervised_tuning_data_stats
    assert stats.tuning_dataset_example_count == 12
    _, _, tokens = genai_tuning.dataset_problems(_lines(GOOD, 12).encode(), "gs://b/t.jsonl")
    assert stats.total_billable_token_count == 3 * tokens  # tokens x epochs
    assert done.supervised_tuning_spec.hyper_parameters.adapter_size == types.AdapterSize.ADAPTER_SIZE_FOUR
    assert any(j.name == job.name for j in client.tunings.list())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"contents": [GOOD["contents"][0], {"role": "assistant", "parts": [{"text": "a"}]}]}, "'assistant'"),
        ({"contents": [GOOD["contents"][0]]}, "the last turn must be the model's"),
        ({"contents": [GOOD["contents"][1], GOOD["contents"][0], GOOD["contents"][1]]}, "turns alternate"),
        ({"contents": [GOOD["contents"][0], {"role": "model", "parts": [{"text": " "}]}]}, "non-empty text"),
        ({**GOOD, "systemInstruction": {"parts": []}}, "systemInstruction"),
    ],
)
def test_a_bad_dataset_fails_the_job_with_the_rule(client, bucket, content, message) -> None:
    from google.genai import types

    bucket.blob("bad.jsonl").upload_from_string(_lines(content, 12))
    job = client.tunings.get(name=_tune(client, f"gs://{bucket.name}/bad.jsonl").name)
    assert job.state == types.JobState.JOB_STATE_FAILED
    assert message in job.error.message and genai_tuning.DATA_DOCS in job.error.message
    assert "line 1" in job.error.message


def test_missing_file_too_few_examples_and_too_large_validation_fail_the_job(client, bucket) -> None:
    from google.genai import types

    missing = client.tunings.get(name=_tune(client, f"gs://{bucket.name}/nothing.jsonl").name)
    assert missing.state == types.JobState.JOB_STATE_FAILED and "no such object" in missing.error.message
    bucket.blob("few.jsonl").upload_from_string(_lines(GOOD, 3))
    few = client.tunings.get(name=_tune(client, f"gs://{bucket.name}/few.jsonl").name)
    assert few.state == types.JobState.JOB_STATE_FAILED
    assert "recommends starting with 100" in few.error.message
    bucket.blob("big-valid.jsonl").upload_from_string(_lines(GOOD, 1001))
    big = client.tunings.get(name=_tune(
        client, f"gs://{bucket.name}/train.jsonl",
        validation_dataset=types.TuningValidationDataset(gcs_uri=f"gs://{bucket.name}/big-valid.jsonl")).name)
    assert big.state == types.JobState.JOB_STATE_FAILED and "30%" in big.error.message
    bucket.blob("notjson.jsonl").upload_from_string("{not json\n" * 12)
    broken = client.tunings.get(name=_tune(client, f"gs://{bucket.name}/notjson.jsonl").name)
    assert "not valid JSON" in broken.error.message


@pytest.mark.parametrize(
    ("model", "config", "code", "message"),
    [
        ("gemini-2.5-flash", {}, 404, "retired"),
        ("gemini-embedding-001", {}, 400, "does not support supervised fine-tuning"),
        ("gemini-3.5-flash", {"adapter_size": "ADAPTER_SIZE_THIRTY_TWO"}, 400, "use 1, 2, 4, 8 or 16"),
        ("gemini-3.5-flash", {"epoch_count": -1}, 400, "epochCount"),
        ("gemini-3.5-flash", {"learning_rate_multiplier": -1.0}, 400, "learningRateMultiplier"),
    ],
)
def test_bad_requests_raise_at_once(client, bucket, model, config, code, message) -> None:
    from google.genai import errors

    with pytest.raises(errors.ClientError) as raised:
        _tune(client, f"gs://{bucket.name}/train.jsonl", model=model, **config)
    assert raised.value.code == code and message in raised.value.message


def test_the_uri_and_the_region_are_checked(ctx, client, bucket) -> None:
    from google.genai import errors

    with pytest.raises(errors.ClientError, match="gs:// URI of a JSONL file"):
        _tune(client, f"gs://{bucket.name}/train.csv")
    with pytest.raises(errors.ClientError, match="tuning jobs run in"):
        _tune(ctx.genai_client("global"), f"gs://{bucket.name}/train.jsonl")


def test_dataset_problems_reads_jsonl_and_refuses_bad_input() -> None:
    problems, examples, tokens = genai_tuning.dataset_problems(
        (_lines(GOOD, 2) + "\n\n[1, 2]\n").encode(), "gs://b/x.jsonl")
    assert examples == 3 and tokens > 0
    assert problems == ["gs://b/x.jsonl line 4: the line is not a JSON object"]
    long = {"contents": [{"role": "user", "parts": [{"text": "x" * 600_000}]}, GOOD["contents"][1]]}
    assert "over the 131,072" in genai_tuning.dataset_problems(json.dumps(long).encode(), "gs://b/x")[0][0]
    with pytest.raises(ValueError, match="bytes"):
        genai_tuning.dataset_problems("text", "gs://b/x.jsonl")  # type: ignore[arg-type]
