"""Vertex AI training in the local stand-in: each rule and each resource through the real SDK."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

aiplatform = pytest.importorskip("google.cloud.aiplatform")
from google.api_core import exceptions  # noqa: E402
from google.cloud.aiplatform import hyperparameter_tuning as hpt  # noqa: E402

from ds500 import cloud  # noqa: E402

IMAGE = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-6:latest"
BUCKET = "gs://ds500-test-training"
SCRIPT = """
import argparse, json, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--batch_size", type={parse}, default=8)
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--fail", action="store_true")
args = parser.parse_args()
if args.fail:
    sys.exit("the data is missing")
if os.environ.get("CLOUD_ML_TRIAL_ID"):
    import hypertune
    hypertune.HyperTune().report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag="acc", metric_value=args.lr, global_step=args.batch_size)
from google.cloud import storage
bucket, _, path = os.environ["AIP_MODEL_DIR"][5:].partition("/")
blob = storage.Client(project=os.environ["CLOUD_ML_PROJECT_ID"]).bucket(bucket).blob(path + "{model_file}")
names = ("CLUSTER_SPEC", "TF_CONFIG", "AIP_CHECKPOINT_DIR")
blob.upload_from_string(json.dumps({{k: os.environ[k] for k in names}}))
"""


@pytest.fixture(scope="module")
def ctx():
    context = cloud.context(False, "", "us-central1")
    context.storage_client().create_bucket(BUCKET[5:])
    return context


def script(tmp_path: Path, parse: str = "int", model_file: str = "model.joblib") -> str:
    path = tmp_path / "task.py"
    path.write_text(textwrap.dedent(SCRIPT.format(parse=parse, model_file=model_file)))
    return str(path)


def local_job(tmp_path: Path, **kwargs) -> aiplatform.CustomJob:
    return aiplatform.CustomJob.from_local_script(
        display_name="t", script_path=script(tmp_path), container_uri=IMAGE, staging_bucket=BUCKET, **kwargs
    )


def test_custom_job_runs_its_package_with_vertex_environment(ctx, tmp_path) -> None:
    job = local_job(tmp_path, args=["--lr", "0.5"])
    job.run()
    assert job.state.name == "JOB_STATE_SUCCEEDED"
    base = job.job_spec.base_output_directory.output_uri_prefix
    written = ctx.local._storage.read(f"{base}/model/model.joblib")
    assert b"workerpool0" in written and b"chief" in written and b"/checkpoints/" in written


def test_failing_script_fails_the_job_with_its_log(ctx, tmp_path) -> None:
    job = local_job(tmp_path, args=["--fail"])
    with pytest.raises(RuntimeError, match="the data is missing"):
        job.run()
    assert job.state.name == "JOB_STATE_FAILED"


def test_a_failed_cluster_job_says_only_its_chief_ran(ctx, tmp_path) -> None:
    job = local_job(tmp_path, args=["--fail"], replica_count=3)
    with pytest.raises(RuntimeError, match=r"only this chief replica of the job.+ 3: .+the data is missing"):
        job.run()


def test_container_job_is_validated_then_marked_simulated(ctx) -> None:
    job = aiplatform.CustomJob(
        display_name="c",
        staging_bucket=BUCKET,
        worker_pool_specs=[
            {
                "machine_spec": {"machine_type": "ct5lp-hightpu-4t", "tpu_topology": "2x2"},
                "replica_count": 1,
                "container_spec": {"image_uri": "us-central1-docker.pkg.dev/p/r/trainer:1"},
            }
        ],
    )
    job.submit()
    with pytest.raises(RuntimeError, match="simulated: the container image"):
        job.wait_for_completion()
    assert job.state.name == "JOB_STATE_CANCELLED"


def test_chief_pool_has_one_replica(ctx) -> None:
    job = aiplatform.CustomJob(
        display_name="c",
        staging_bucket=BUCKET,
        worker_pool_specs=[
            {
                "machine_spec": {"machine_type": "n1-standard-4"},
                "replica_count": 2,
                "container_spec": {"image_uri": IMAGE},
            }
        ],
    )
    with pytest.raises(exceptions.BadRequest, match="chief"):
        job.submit()


def tuning(job, spec, **kwargs) -> aiplatform.HyperparameterTuningJob:
    settings = {"max_trial_count": 4, "parallel_trial_count": 2, **kwargs}
    return aiplatform.HyperparameterTuningJob(
        display_name="h", custom_job=job, metric_spec={"acc": "maximize"}, parameter_spec=spec, **settings
    )


SPACE = {
    "lr": hpt.DoubleParameterSpec(min=0.01, max=1, scale="log"),
    "batch_size": hpt.DiscreteParameterSpec(values=[16, 128], scale="linear"),
}


def test_tuning_trials_get_flags_and_report_through_hypertune(ctx, tmp_path) -> None:
    job = aiplatform.CustomJob.from_local_script(
        display_name="t",
        script_path=script(tmp_path, "lambda s: int(float(s))"),
        container_uri=IMAGE,
        staging_bucket=BUCKET,
    )
    hp_job = tuning(job, SPACE, max_trial_count=2, parallel_trial_count=1)
    hp_job.run()
    assert len(hp_job.trials) == 2
    for trial in hp_job.trials:
        values = {p.parameter_id: p.value for p in trial.parameters}
        assert values["batch_size"] in (16.0, 128.0)
        assert trial.final_measurement.metrics[0].value == pytest.approx(values["lr"])
        assert int(trial.final_measurement.step_count) == int(values["batch_size"])


def test_discrete_values_arrive_as_doubles(ctx, tmp_path) -> None:
    hp_job = tuning(local_job(tmp_path), SPACE, max_trial_count=1, parallel_trial_count=1)
    with pytest.raises(RuntimeError, match=r"invalid int value: \W*(16|128)\.0"):
        hp_job.run()


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        (SPACE, {"search_algorithm": "grid"}, "grid search"),
        (SPACE, {"parallel_trial_count": 9}, "parallelTrialCount"),
        ({"lr": hpt.DoubleParameterSpec(min=0, max=1, scale="log")}, {}, "log scale"),
        ({"lr": hpt.DoubleParameterSpec(min=2, max=1, scale="linear")}, {}, "greater than maxValue"),
        ({"b": hpt.DiscreteParameterSpec(values=[64, 16], scale="linear")}, {}, "increasing order"),
    ],
)
def test_study_spec_rules(ctx, spec, kwargs, message) -> None:
    job = aiplatform.CustomJob(
        display_name="c",
        staging_bucket=BUCKET,
        worker_pool_specs=[
            {
                "machine_spec": {"machine_type": "n1-standard-4"},
                "replica_count": 1,
                "container_spec": {"image_uri": IMAGE},
            }
        ],
    )
    with pytest.raises(exceptions.BadRequest, match=message):
        tuning(job, spec, **kwargs).run()


def training_job(tmp_path, serving: str, model_file: str) -> aiplatform.CustomTrainingJob:
    return aiplatform.CustomTrainingJob(
        display_name="p",
        script_path=script(tmp_path, model_file=model_file),
        container_uri=IMAGE,
        model_serving_container_image_uri=serving,
        staging_bucket=BUCKET,
    )


def test_custom_training_job_registers_its_model(ctx, tmp_path) -> None:
    job = training_job(
        tmp_path, "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest", "model.joblib"
    )
    model = job.run(model_display_name="m", machine_type="n1-standard-4")
    assert model.version_id == "1" and model.uri.endswith("/model")
    model.delete()


def test_prebuilt_pytorch_serving_needs_a_model_archive(ctx, tmp_path) -> None:
    job = training_job(tmp_path, "us-docker.pkg.dev/vertex-ai/prediction/pytorch-cpu.2-4:latest", "model.pt")
    with pytest.raises(RuntimeError, match="model.mar"):
        job.run(model_display_name="m", machine_type="n1-standard-4")


def automl(**kwargs):
    dataset = aiplatform.TabularDataset.create(display_name="d", bq_source="bq://p.d.customers")
    job = aiplatform.AutoMLTabularTrainingJob(
        display_name="a",
        optimization_prediction_type="classification",
        optimization_objective=kwargs.pop("objective", "maximize-au-prc"),
        column_specs={"tenure": "auto"},  # without it the SDK reads the columns from BigQuery
    )
    return job, dataset


def test_automl_is_validated_and_simulated(ctx) -> None:
    job, dataset = automl()
    with pytest.raises(RuntimeError, match="simulated: AutoML training"):
        job.run(dataset=dataset, target_column="churned", budget_milli_node_hours=1000)
    dataset.delete()


@pytest.mark.parametrize(
    ("objective", "budget", "message"),
    [("maximize-au-prc", 500, "1,000 to 72,000"), ("minimize-rmse", 1000, "not offered for classification")],
)
def test_automl_rules(ctx, objective, budget, message) -> None:
    job, dataset = automl(objective=objective)
    with pytest.raises(exceptions.BadRequest, match=message):
        job.run(dataset=dataset, target_column="churned", budget_milli_node_hours=budget)


def test_dataset_needs_a_bigquery_table_uri(ctx) -> None:
    with pytest.raises(exceptions.BadRequest, match="bq://PROJECT.DATASET.TABLE"):
        aiplatform.TabularDataset.create(display_name="d", bq_source="bq://just-a-table")
