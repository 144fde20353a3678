"""Vertex ML Metadata and Vertex AI TensorBoard in the local stand-in, through the real SDK."""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("google.cloud.aiplatform")

from google.api_core import exceptions  # noqa: E402


@pytest.fixture(scope="module")
def aiplatform():
    from google.cloud import aiplatform

    from ds500 import cloud

    cloud.context(False, "", "us-central1")
    return aiplatform


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_experiment_runs_params_metrics_and_time_series_come_back(aiplatform) -> None:
    tensorboard = aiplatform.Tensorboard.create(display_name="unit-tb")
    experiment = _name("exp")
    aiplatform.init(experiment=experiment, experiment_tensorboard=tensorboard)
    with aiplatform.start_run(run="lr"):
        aiplatform.log_params({"C": 0.1, "model": "logistic"})
        aiplatform.log_metrics({"auc": 0.84})
    with aiplatform.start_run(run="curve"):
        for step, value in enumerate([0.6, 0.5, 0.45]):
            aiplatform.log_time_series_metrics({"loss": value}, step=step)
    frame = aiplatform.get_experiment_df().set_index("run_name")
    assert frame.loc["lr", "param.C"] == 0.1
    assert frame.loc["lr", "param.model"] == "logistic"
    assert frame.loc["lr", "metric.auc"] == 0.84
    assert frame.loc["curve", "time_series_metric.loss"] == 0.45
    assert set(frame["state"]) == {"COMPLETE"}
    assert {r.name for r in aiplatform.ExperimentRun.list(experiment=experiment)} == {"lr", "curve"}
    aiplatform.Experiment(experiment).delete(delete_backing_tensorboard_runs=True)
    tensorboard.delete()
    with pytest.raises(exceptions.NotFound):
        aiplatform.Tensorboard(tensorboard.resource_name)


def test_a_run_name_is_unique_within_an_experiment(aiplatform) -> None:
    experiment = _name("exp")
    aiplatform.init(experiment=experiment, experiment_tensorboard=False)
    with aiplatform.start_run(run="once"):
        aiplatform.log_metrics({"auc": 0.5})
    with pytest.raises(exceptions.Conflict, match="already exists"):
        aiplatform.start_run(run="once")
    with aiplatform.start_run(run="once", resume=True):  # the fix a rerun needs
        aiplatform.log_metrics({"auc": 0.6})
    assert aiplatform.get_experiment_df()["metric.auc"].tolist() == [0.6]
    aiplatform.Experiment(experiment).delete()


def test_context_ids_follow_the_resource_id_rule(aiplatform) -> None:
    with pytest.raises(exceptions.BadRequest, match="ml-metadata"):
        aiplatform.Context.create(schema_title="system.ContainerExecution", resource_id="Upper_Case")


def test_a_tensorboard_needs_a_vertex_ai_region(aiplatform) -> None:
    from google.cloud import aiplatform_v1

    from ds500 import cloud

    client = cloud.context(False, "", "us-central1").client(aiplatform_v1.TensorboardServiceClient)
    with pytest.raises(
        exceptions.BadRequest, match="locations"
    ):  # the SDK's own check stops Tensorboard.create earlier
        client.create_tensorboard(
            parent="projects/ds500-local/locations/us-central1-a",
            tensorboard=aiplatform_v1.Tensorboard(display_name="zone"),
        )


def test_a_time_series_name_is_unique_in_its_run(aiplatform) -> None:
    tensorboard = aiplatform.Tensorboard.create(display_name="unit-tb-2")
    experiment = aiplatform.TensorboardExperiment.create(
        tensorboard_experiment_id="e1", tensorboard_name=tensorboard.resource_name
    )
    run = aiplatform.TensorboardRun.create("r1", tensorboard_experiment_name=experiment.resource_name)
    run.create_tensorboard_time_series(display_name="loss")
    with pytest.raises(exceptions.Conflict, match="already exists"):
        aiplatform.TensorboardTimeSeries.create(display_name="loss", tensorboard_run_name=run.resource_name)
    tensorboard.delete()


def test_an_unreadable_metadata_filter_is_refused(aiplatform) -> None:
    artifact = aiplatform.Artifact.create(schema_title="system.Dataset", display_name="d")
    with pytest.raises(exceptions.BadRequest, match="filter"):
        aiplatform.Artifact.list(filter="create_time > 5")
    artifact.delete()
