"""Vertex AI pipeline jobs and schedules in the local stand-in, through the real SDK."""

# no `from __future__ import annotations`: KFP reads the components' annotations as types

import uuid

import pytest
import yaml

pytest.importorskip("google.cloud.aiplatform")
pytest.importorskip("kfp")

from google.api_core import exceptions  # noqa: E402

BUCKET = "ds500-local-unit-pipelines"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The stand-in, a bucket for pipeline roots and a compiled two-parameter pipeline."""
    from google.cloud import aiplatform
    from kfp import compiler, dsl

    from ds500 import cloud

    ctx = cloud.context(False, "", "us-central1")
    client = ctx.storage_client()
    if client.lookup_bucket(BUCKET) is None:
        client.create_bucket(BUCKET)

    @dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
    def echo(reason: str) -> str:
        return reason

    @dsl.pipeline(name="unit-pipeline")
    def pipeline(reason: str, months: int = 3):
        echo(reason=reason)

    template = tmp_path_factory.mktemp("kfp") / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(template))
    return aiplatform, ctx, str(template)


def _job(setup, root: str = f"gs://{BUCKET}/root", **values):
    aiplatform, _, template = setup
    return aiplatform.PipelineJob(
        display_name="unit",
        template_path=template,
        pipeline_root=root,
        parameter_values=values,
        enable_caching=False,
    )


def test_a_valid_job_is_stored_and_says_it_was_not_executed(setup) -> None:
    job = _job(setup, reason="drift")
    job.submit()
    job.wait()
    assert job.state.name == "PIPELINE_STATE_CANCELLED"
    assert "no step was executed" in job._gca_resource.error.message
    assert job._gca_resource.runtime_config.parameter_values["reason"] == "drift"
    job.delete()


def test_a_required_parameter_must_be_given(setup) -> None:
    with pytest.raises(exceptions.BadRequest, match="required pipeline parameters.*reason"):
        _job(setup, months=2).submit()


def _create_raw(setup, root: str, values: dict) -> None:
    """Create through the GAPIC client: the SDK's PipelineJob checks names and creates buckets first."""
    from google.cloud import aiplatform_v1

    _, ctx, template = setup
    spec = yaml.safe_load(open(template, encoding="utf-8"))
    job = {
        "display_name": "unit",
        "pipeline_spec": spec,
        "runtime_config": {"gcs_output_directory": root, "parameter_values": values},
    }
    ctx.client(aiplatform_v1.PipelineServiceClient).create_pipeline_job(
        parent="projects/ds500-local/locations/us-central1", pipeline_job=job
    )


def test_an_unknown_parameter_is_refused(setup) -> None:
    with pytest.raises(exceptions.BadRequest, match="does not have.*typo"):
        _create_raw(setup, f"gs://{BUCKET}/root", {"reason": "x", "typo": "y"})


def test_the_pipeline_root_must_be_in_an_existing_bucket(setup) -> None:
    with pytest.raises(exceptions.BadRequest, match="bucket that does not exist"):
        _create_raw(setup, f"gs://no-such-bucket-{uuid.uuid4().hex[:6]}/root", {"reason": "x"})
    with pytest.raises(exceptions.BadRequest, match="Cloud Storage path"):
        _create_raw(setup, "/tmp/root", {"reason": "x"})


def test_a_schedule_validates_its_cron_and_is_stored(setup) -> None:
    aiplatform, _, _ = setup
    schedule = aiplatform.PipelineJobSchedule(
        pipeline_job=_job(setup, reason="clock"), display_name="monthly"
    )
    schedule.create(cron="TZ=Europe/Paris 0 6 1 * *", max_concurrent_run_count=1, max_run_count=1)
    assert schedule.state.name == "ACTIVE"
    schedule.delete()


@pytest.mark.parametrize(
    "cron, message",
    [
        ("0 6 1 *", "needs 5 fields"),
        ("0 25 1 * *", "not a valid hour"),
        ("TZ=Mars/Olympus 0 6 1 * *", "IANA time zone"),
        ("*/0 * * * *", "step"),
    ],
)
def test_a_bad_cron_is_refused(setup, cron: str, message: str) -> None:
    aiplatform, _, _ = setup
    schedule = aiplatform.PipelineJobSchedule(pipeline_job=_job(setup, reason="clock"), display_name="bad")
    with pytest.raises(exceptions.BadRequest, match=message):
        schedule.create(cron=cron, max_concurrent_run_count=1)
