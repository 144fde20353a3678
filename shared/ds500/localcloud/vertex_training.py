"""Vertex AI training: custom jobs, hyperparameter tuning jobs, training pipelines, datasets.

What runs for real: a worker pool that ships its code as a Python package
(``CustomJob.from_local_script``, ``CustomTrainingJob``) is run locally by
:mod:`ds500.localcloud.runner` in a background thread, so the job goes PENDING →
RUNNING → SUCCEEDED or FAILED as on Vertex AI, with the error and the log tail on
failure. A tuning job runs at most :data:`LOCAL_TRIALS` trials of its package,
with random values from the study's space (no Bayesian optimisation offline), and
reads the metric each trial reports through cloudml-hypertune.

What is only validated: a container image (custom or prebuilt with a shell
command) cannot run offline, and AutoML does not train offline. Such a job or
pipeline is validated and stored, then ends CANCELLED with an ``error`` whose
message starts "simulated:": it never ran, and ``wait()`` / ``run()`` say so.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ds500.localcloud import jobs, runner, validation
from ds500.localcloud.errors import failed_precondition, invalid
from ds500.localcloud.protos import normalize
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

CUSTOM_JOB_DOCS = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/CustomJobSpec"
STUDY_DOCS = "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/StudySpec"
HPT_DOCS = (
    "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.hyperparameterTuningJobs"
)
AUTOML_TABULAR_DOCS = (
    "https://cloud.google.com/vertex-ai/docs/tabular-data/classification-regression/train-model"
)
AUTOML_FORECAST_DOCS = "https://cloud.google.com/vertex-ai/docs/tabular-data/forecasting/train-model"
ARTIFACT_DOCS = "https://cloud.google.com/vertex-ai/docs/training/exporting-model-artifacts"
DATASET_DOCS = "https://cloud.google.com/vertex-ai/docs/tabular-data/classification-regression/create-dataset"
#: trials a tuning job runs locally, whatever its maxTrialCount (each is a fresh Python process)
LOCAL_TRIALS = 3
_CANCELLED = 1  # google.rpc.Code.CANCELLED
_SIMULATED = (
    "simulated: {what} cannot run offline. The local stand-in validated and stored this {kind} but "
    "ran nothing and billed nothing; on Google Cloud it would run now."
)
# prebuilt prediction image family -> the file names it loads from artifactUri
_SERVING_ARTIFACTS = {
    "/prediction/pytorch": ("model.mar",),
    "/prediction/sklearn": ("model.joblib", "model.pkl"),
    "/prediction/xgboost": ("model.bst", "model.joblib", "model.pkl"),
    "/prediction/tf": ("saved_model.pb",),
}
_OBJECTIVES = {
    "classification": {
        "maximize-au-roc",
        "minimize-log-loss",
        "maximize-au-prc",
        "maximize-precision-at-recall",
        "maximize-recall-at-precision",
    },
    "regression": {"minimize-rmse", "minimize-mae", "minimize-rmsle"},
    "forecasting": {
        "minimize-rmse",
        "minimize-mae",
        "minimize-rmsle",
        "minimize-rmspe",
        "minimize-wape-mae",
        "minimize-quantile-loss",
    },
}


# -- rules --------------------------------------------------------------------------
def check_job_spec(spec: dict[str, Any]) -> None:
    """Worker pools of a ``CustomJobSpec``: at least one, each with machine, replicas and code."""
    pools = spec.get("workerPoolSpecs") or []
    if not pools or not pools[0]:
        raise invalid("jobSpec.workerPoolSpecs needs at least one worker pool (the chief)", CUSTOM_JOB_DOCS)
    for index, pool in enumerate(pools):
        if not pool:
            continue  # an empty pool keeps the positions: [0] chief, [1] workers, [2] servers, [3] evaluators
        validation.check_machine_spec(pool.get("machineSpec") or {})
        container = pool.get("containerSpec")
        package = pool.get("pythonPackageSpec")
        if not container and not package:
            raise invalid(
                f"workerPoolSpecs[{index}] needs a containerSpec or a pythonPackageSpec", CUSTOM_JOB_DOCS
            )
        if container:
            validation.check_image_uri(
                container.get("imageUri", ""), f"workerPoolSpecs[{index}].containerSpec.imageUri"
            )
        if package:
            validation.check_image_uri(
                package.get("executorImageUri", ""),
                f"workerPoolSpecs[{index}].pythonPackageSpec.executorImageUri",
            )
            if not package.get("packageUris") or not package.get("pythonModule"):
                raise invalid(
                    f"workerPoolSpecs[{index}].pythonPackageSpec needs packageUris and pythonModule",
                    CUSTOM_JOB_DOCS,
                )
        if index == 0 and int(pool.get("replicaCount") or 1) != 1:
            raise invalid("workerPoolSpecs[0] is the chief: its replicaCount must be 1", CUSTOM_JOB_DOCS)


def _check_parameter(param: dict[str, Any], algorithm: str) -> None:
    """One ``ParameterSpec``: a value spec that is consistent, and a scale that fits it."""
    pid = param.get("parameterId", "")
    kinds = [
        k
        for k in ("doubleValueSpec", "integerValueSpec", "discreteValueSpec", "categoricalValueSpec")
        if k in param
    ]
    if not pid or len(kinds) != 1:
        raise invalid(f"parameter {pid!r} needs a parameterId and exactly one value spec", STUDY_DOCS)
    kind, spec = kinds[0], param[kinds[0]]
    if kind in ("doubleValueSpec", "integerValueSpec"):
        low, high = float(spec.get("minValue", 0)), float(spec.get("maxValue", 0))
        if low > high:
            raise invalid(f"parameter {pid!r}: minValue {low} is greater than maxValue {high}", STUDY_DOCS)
        values = [low, high]
    elif kind == "discreteValueSpec":
        values = [float(v) for v in spec.get("values") or []]
        if not values or any(b - a < 1e-10 for a, b in itertools.pairwise(values)):
            raise invalid(
                f"parameter {pid!r}: discrete values must be given in increasing order, at least "
                f"1e-10 apart (got {values})",
                STUDY_DOCS,
            )
    else:
        values = list(spec.get("values") or [])
        if not values or len(set(values)) != len(values):
            raise invalid(f"parameter {pid!r}: categorical values must be given and distinct", STUDY_DOCS)
        return
    if "LOG" in param.get("scaleType", "") and min(values) <= 0:
        raise invalid(
            f"parameter {pid!r}: a log scale needs a strictly positive range (got {values})", STUDY_DOCS
        )
    if algorithm == "GRID_SEARCH" and kind == "doubleValueSpec":
        raise invalid(
            f"parameter {pid!r} is a double: grid search needs every parameter INTEGER, DISCRETE or "
            "CATEGORICAL",
            STUDY_DOCS,
        )


def check_study_spec(study: dict[str, Any]) -> None:
    """The metrics and parameters of a tuning job's ``StudySpec``."""
    metrics = study.get("metrics") or []
    if not metrics:
        raise invalid("studySpec.metrics needs at least one metric (the id the trial reports)", STUDY_DOCS)
    for metric in metrics:
        if not metric.get("metricId") or metric.get("goal") not in ("MAXIMIZE", "MINIMIZE"):
            raise invalid(f"metric {metric} needs a metricId and a goal MAXIMIZE or MINIMIZE", STUDY_DOCS)
    params = study.get("parameters") or []
    if not params:
        raise invalid("studySpec.parameters needs at least one parameter", STUDY_DOCS)
    ids = [p.get("parameterId") for p in params]
    if len(set(ids)) != len(ids):
        raise invalid(f"parameter ids must be unique, got {ids}", STUDY_DOCS)
    for param in params:
        _check_parameter(param, study.get("algorithm", ""))


def check_trial_counts(body: dict[str, Any]) -> None:
    """``maxTrialCount`` ≥ 1, ``parallelTrialCount`` between 1 and it, ``maxFailedTrialCount`` ≥ 0."""
    high, parallel = int(body.get("maxTrialCount") or 0), int(body.get("parallelTrialCount") or 0)
    if high < 1 or parallel < 1:
        raise invalid(
            f"maxTrialCount ({high}) and parallelTrialCount ({parallel}) must be at least 1", HPT_DOCS
        )
    if parallel > high:
        raise invalid(f"parallelTrialCount ({parallel}) must not exceed maxTrialCount ({high})", HPT_DOCS)
    if int(body.get("maxFailedTrialCount") or 0) < 0:
        raise invalid("maxFailedTrialCount must not be negative", HPT_DOCS)


def check_model_artifacts(image: str, files: list[str]) -> None:
    """A prebuilt prediction container finds its model file in the artifact folder."""
    for family, names in _SERVING_ARTIFACTS.items():
        if family in image and not any(f.rsplit("/", 1)[-1] in names for f in files):
            raise failed_precondition(
                f"the model folder holds {[f.rsplit('/', 1)[-1] for f in files] or 'nothing'}, "
                "but the prebuilt "
                f"container {image} loads {' or '.join(names)} (rule: {ARTIFACT_DOCS})"
            )


def _check_automl(body: dict[str, Any]) -> str:
    """Target, objective and budget of an AutoML tabular or forecasting pipeline; returns its kind."""
    inputs = body.get("trainingTaskInputs") or {}
    forecasting = "forecasting" in body.get("trainingTaskDefinition", "")
    docs = AUTOML_FORECAST_DOCS if forecasting else AUTOML_TABULAR_DOCS
    if not inputs.get("targetColumn"):
        raise invalid("trainingTaskInputs.targetColumn is required", docs)
    kind = "forecasting" if forecasting else inputs.get("predictionType", "")
    if kind not in _OBJECTIVES:
        raise invalid(f"predictionType must be 'classification' or 'regression', got {kind!r}", docs)
    objective = inputs.get("optimizationObjective")
    if objective and objective not in _OBJECTIVES[kind]:
        raise invalid(
            f"optimizationObjective {objective!r} is not offered for {kind}; choose one of "
            f"{sorted(_OBJECTIVES[kind])}",
            docs,
        )
    budget = int(inputs.get("trainBudgetMilliNodeHours") or 0)
    if not 1000 <= budget <= 72000:
        raise invalid(
            f"trainBudgetMilliNodeHours is {budget}: the budget is 1,000 to 72,000 milli node hours "
            "(1 to 72 node hours)",
            docs,
        )
    if forecasting and not (
        inputs.get("timeColumn")
        and inputs.get("timeSeriesIdentifierColumn")
        and int(inputs.get("forecastHorizon") or 0) > 0
    ):
        raise invalid(
            "forecasting needs timeColumn, timeSeriesIdentifierColumn and a forecastHorizon > 0", docs
        )
    return kind


# -- local work ---------------------------------------------------------------------
def _simulated(what: str, kind: str) -> dict[str, Any]:
    return {"code": _CANCELLED, "message": _SIMULATED.format(what=what, kind=kind)}


def _failure(outcome: runner.Outcome, pools: list[dict[str, Any]]) -> dict[str, Any]:
    """The job's error, as Vertex AI words a failed replica; for a cluster, what the stand-in did not run."""
    replicas = sum(int(p.get("replicaCount") or 1) for p in pools if p)
    alone = (
        f" The local stand-in ran only this chief replica of the job's {replicas}: a script that waits for "
        "the others (MultiWorkerMirroredStrategy, a PyTorch process group) cannot finish here."
        if replicas > 1
        else ""
    )
    return {
        "code": 3,
        "message": f"The replica workerpool0-0 exited with a non-zero status of "
        f"{outcome.returncode} (run locally).{alone} Last lines of its log:\n{outcome.log_tail}",
    }


def _in_background(store: Any, name: str, work: Any) -> None:
    """Start ``work`` in a thread once ``name`` is stored (on_create runs before the store has it)."""

    def start() -> None:
        with store.changed:
            store.changed.wait_for(lambda: store.exists(name), timeout=10)
        work()

    threading.Thread(target=start, name="ds500-training", daemon=True).start()


def _job_id(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _base_dir(spec: dict[str, Any]) -> str:
    return (spec.get("baseOutputDirectory") or {}).get("outputUriPrefix", "")


def _run_job_spec(call: Call, name: str, spec: dict[str, Any]) -> runner.Outcome:
    """Run the chief pool of a job spec locally, with Vertex AI's variables."""
    pools = spec["workerPoolSpecs"]
    env = runner.vertex_env(call.project, _job_id(name), _base_dir(spec), pools)
    return runner.run_pool(call.cloud, pools[0], env)


def _start_custom_job(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    """Run the job's package in the background, or mark a container job as simulated."""
    store, name, spec = call.cloud.store, job["name"], job["jobSpec"]
    if not runner.runnable(spec["workerPoolSpecs"]):
        job.update(
            state="JOB_STATE_CANCELLED",
            endTime=now(),
            error=_simulated(f"the container image {_image(spec)}", "custom job"),
        )
        return job

    def work() -> None:
        store.update(name, state="JOB_STATE_RUNNING", startTime=now(), updateTime=now())
        outcome = _run_job_spec(call, name, spec)
        done = (
            {"state": "JOB_STATE_SUCCEEDED"}
            if outcome.returncode == 0
            else {"state": "JOB_STATE_FAILED", "error": _failure(outcome, spec["workerPoolSpecs"])}
        )
        store.update(name, **done, endTime=now(), updateTime=now())

    _in_background(store, name, work)
    return job


def _image(spec: dict[str, Any]) -> str:
    pool = spec["workerPoolSpecs"][0]
    return (pool.get("containerSpec") or {}).get("imageUri") or pool["pythonPackageSpec"]["executorImageUri"]


def _suggest(params: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """Random values in the study's space (the local stand-in does not do Bayesian optimisation)."""
    chosen = []
    for p in params:
        if "doubleValueSpec" in p:
            low, high = p["doubleValueSpec"]["minValue"], p["doubleValueSpec"]["maxValue"]
            value: Any = (
                (low * (high / low) ** rng.random())
                if "LOG" in p.get("scaleType", "") and low > 0
                else rng.uniform(low, high)
            )
        elif "integerValueSpec" in p:
            value = rng.randint(
                int(p["integerValueSpec"]["minValue"]), int(p["integerValueSpec"]["maxValue"])
            )
        elif "discreteValueSpec" in p:
            value = float(rng.choice(p["discreteValueSpec"]["values"]))
        else:
            value = rng.choice(p["categoricalValueSpec"]["values"])
        chosen.append({"parameterId": p["parameterId"], "value": value})
    return chosen


def _flag(param: dict[str, Any]) -> str:
    """``--name=value`` as Vertex AI passes it: discrete values as doubles (``--batch_size=128.0``)."""
    return f"--{param['parameterId']}={param['value']}"


def _measure(
    metrics: list[dict[str, Any]], metric_id: str, goal: str, selection: str
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Measurements from hypertune's reports, and the final one (best or last, as the job asks)."""
    found = [
        {
            "stepCount": str(r.get("global_step", 0)),
            "metrics": [{"metricId": metric_id, "value": float(r[metric_id])}],
        }
        for r in metrics
        if metric_id in r
    ]
    if not found:
        return [], None
    if selection == "LAST_MEASUREMENT":
        return found, found[-1]
    pick = max if goal == "MAXIMIZE" else min
    return found, pick(found, key=lambda m: m["metrics"][0]["value"])


def _start_tuning_job(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    """Run up to :data:`LOCAL_TRIALS` trials of the package, ``parallelTrialCount`` at a time."""
    store, name, spec, study = call.cloud.store, job["name"], job["trialJobSpec"], job["studySpec"]
    if not runner.runnable(spec["workerPoolSpecs"]):
        job.update(
            state="JOB_STATE_CANCELLED",
            endTime=now(),
            error=_simulated(f"the trial's container image {_image(spec)}", "tuning job"),
        )
        return job
    metric = study["metrics"][0]
    rng = random.Random(_job_id(name))

    def run_trial(trial: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        pools = spec["workerPoolSpecs"]
        env = runner.vertex_env(call.project, _job_id(name), _base_dir(spec), pools, trial_id=trial["id"])
        flags = [_flag(p) for p in trial["parameters"]]
        outcome = runner.run_pool(call.cloud, pools[0], env, extra_args=flags)
        measurements, final = _measure(
            outcome.metrics,
            metric["metricId"],
            metric["goal"],
            study.get("measurementSelectionType", "BEST_MEASUREMENT"),
        )
        reason = None
        if outcome.returncode != 0 or final is None:
            reason = (
                _failure(outcome, pools)["message"]
                if outcome.returncode
                else (f"the trial reported no {metric['metricId']!r} through cloudml-hypertune")
            )
            trial.update(state="INFEASIBLE", infeasibleReason=reason)
        else:
            trial.update(state="SUCCEEDED", measurements=measurements, finalMeasurement=final)
        trial["endTime"] = now()
        return trial, reason

    def work() -> None:
        store.update(name, state="JOB_STATE_RUNNING", startTime=now(), updateTime=now())
        count = min(int(job["maxTrialCount"]), LOCAL_TRIALS)
        # Values are drawn first, in order, so a seeded job suggests the same trials however they run.
        pending = [
            {
                "id": str(n),
                "state": "ACTIVE",
                "parameters": _suggest(study["parameters"], rng),
                "startTime": now(),
            }
            for n in range(1, count + 1)
        ]
        # Like Vertex AI, up to parallelTrialCount trials run at the same time.
        workers = max(1, min(int(job.get("parallelTrialCount") or 1), count))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ds500-trial") as pool:
            results = list(pool.map(run_trial, pending))
        trials = [trial for trial, _ in results]
        failures = [reason for _, reason in results if reason]
        store.update(name, trials=trials, updateTime=now())
        allowed = int(job.get("maxFailedTrialCount") or 0)
        if failures and (len(failures) == len(trials) or (allowed and len(failures) >= allowed)):
            store.update(
                name,
                state="JOB_STATE_FAILED",
                endTime=now(),
                updateTime=now(),
                error={
                    "code": 9,
                    "message": f"{len(failures)} of {len(trials)} trials failed. The first: {failures[0]}",
                },
            )
        else:
            store.update(name, state="JOB_STATE_SUCCEEDED", endTime=now(), updateTime=now())

    _in_background(store, name, work)
    return job


def _upload_model(call: Call, pipeline: dict[str, Any], base: str) -> dict[str, Any]:
    """Register the model the script wrote under ``{base}/model/`` (Vertex AI's ``modelToUpload``)."""
    wanted = pipeline["modelToUpload"]
    artifact_uri = f"{base.rstrip('/')}/model"
    files = call.cloud._storage.list(artifact_uri + "/")
    if not files:
        raise failed_precondition(
            f"the training script wrote nothing to AIP_MODEL_DIR ({artifact_uri}/), so there "
            f"is no model to upload (rule: {ARTIFACT_DOCS})"
        )
    check_model_artifacts((wanted.get("containerSpec") or {}).get("imageUri", ""), files)
    from ds500.localcloud import vertex_models  # the Model Registry (its module owns the Model's shape)

    version = vertex_models.register_version(
        call, {**wanted, "artifactUri": artifact_uri, "trainingPipeline": pipeline["name"]}
    )
    return {**wanted, "name": version["name"], "versionId": version["versionId"]}


def _start_pipeline(call: Call, pipeline: dict[str, Any]) -> dict[str, Any]:
    """Custom tasks run locally (then upload the model); AutoML is validated and simulated."""
    store, name = call.cloud.store, pipeline["name"]
    inputs = pipeline.get("trainingTaskInputs") or {}
    if "automl" in pipeline.get("trainingTaskDefinition", ""):
        pipeline.update(
            state="PIPELINE_STATE_CANCELLED",
            endTime=now(),
            error=_simulated("AutoML training", "training pipeline"),
        )
        return pipeline
    if not runner.runnable(inputs["workerPoolSpecs"]):
        pipeline.update(
            state="PIPELINE_STATE_CANCELLED",
            endTime=now(),
            error=_simulated(f"the container image {_image(inputs)}", "training pipeline"),
        )
        return pipeline

    def work() -> None:
        store.update(name, state="PIPELINE_STATE_RUNNING", startTime=now(), updateTime=now())
        outcome = _run_job_spec(call, name, inputs)
        if outcome.returncode != 0:
            store.update(
                name,
                state="PIPELINE_STATE_FAILED",
                error=_failure(outcome, inputs["workerPoolSpecs"]),
                endTime=now(),
                updateTime=now(),
            )
            return
        done: dict[str, Any] = {"state": "PIPELINE_STATE_SUCCEEDED"}
        if pipeline.get("modelToUpload"):
            try:
                done["modelToUpload"] = _upload_model(call, store.get(name), _base_dir(inputs))
            except Exception as error:  # noqa: BLE001 - a failed upload fails the pipeline, as on Vertex AI
                done = {"state": "PIPELINE_STATE_FAILED", "error": {"code": 9, "message": str(error)}}
        store.update(name, **done, endTime=now(), updateTime=now())

    _in_background(store, name, work)
    return pipeline


# -- collections --------------------------------------------------------------------
def check_encryption_spec(body: dict[str, Any], location: str) -> None:
    """A CMEK key is a Cloud KMS key name in the resource's own region (https://cloud.google.com/vertex-ai/docs/general/cmek)."""
    key = (body.get("encryptionSpec") or {}).get("kmsKeyName")
    if key is None:
        return
    found = re.fullmatch(r"projects/[^/]+/locations/([^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+", key)
    if not found:
        raise invalid(
            f"encryptionSpec.kmsKeyName {key!r} is not a key name "
            "projects/P/locations/L/keyRings/R/cryptoKeys/K",
            "https://cloud.google.com/vertex-ai/docs/general/cmek",
        )
    if found.group(1) != location:
        raise invalid(
            f"the Cloud KMS key is in {found.group(1)} but the job runs in {location}: the key must be in "
            "the same region",
            "https://cloud.google.com/vertex-ai/docs/general/cmek",
        )


def _validate_job(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    check_job_spec(body.get("jobSpec") or {})
    check_encryption_spec(body, call.location)


def _validate_tuning(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    check_trial_counts(body)
    check_study_spec(body.get("studySpec") or {})
    check_job_spec(body.get("trialJobSpec") or {})


def _validate_pipeline(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    definition = body.get("trainingTaskDefinition", "")
    if "automl" in definition:
        _check_automl(body)
        dataset = (body.get("inputDataConfig") or {}).get("datasetId", "")
        call.cloud.store.get(f"projects/{call.project}/locations/{call.location}/datasets/{dataset}")
    elif "custom_task" in definition:
        # the SDK writes this Struct in snake_case; read it as the CustomJobSpec it is
        body["trainingTaskInputs"] = normalize(
            f"google.cloud.aiplatform.{call.version}.CustomJobSpec", body.get("trainingTaskInputs") or {}
        )
        check_job_spec(body["trainingTaskInputs"])
    else:
        raise invalid(
            f"trainingTaskDefinition {definition!r}: the local stand-in runs custom tasks and validates "
            "AutoML tabular and forecasting ones",
            "https://cloud.google.com/vertex-ai/docs/training/create-training-pipeline",
        )
    image = ((body.get("modelToUpload") or {}).get("containerSpec") or {}).get("imageUri")
    if image:
        validation.check_image_uri(image, "modelToUpload.containerSpec.imageUri")


def _validate_dataset(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    source = (body.get("metadata") or {}).get("inputConfig") or {}
    uri = (source.get("bigquerySource") or {}).get("uri", "")
    uris = (source.get("gcsSource") or {}).get("uri") or []
    if not uri and not uris:
        raise invalid(
            "a tabular dataset needs metadata.inputConfig with a bigquerySource or gcsSource", DATASET_DOCS
        )
    if uri and (not uri.startswith("bq://") or uri.count(".") != 2):
        raise invalid(f"bigquerySource.uri {uri!r} must be bq://PROJECT.DATASET.TABLE", DATASET_DOCS)


def register(router: Router) -> None:
    version = "google.cloud.aiplatform.{version}."
    router.add(
        Collection(
            "projects/locations/customJobs",
            version + "CustomJob",
            lro_delete=True,
            required=("displayName", "jobSpec"),
            validate=_validate_job,
            on_create=_start_custom_job,
            on_get=jobs.wait_until_done,
            initial_state="JOB_STATE_PENDING",
            verbs={"cancel": jobs.cancel},
        ),
        Collection(
            "projects/locations/hyperparameterTuningJobs",
            version + "HyperparameterTuningJob",
            lro_delete=True,
            required=("displayName", "studySpec", "trialJobSpec"),
            validate=_validate_tuning,
            on_create=_start_tuning_job,
            on_get=jobs.wait_until_done,
            initial_state="JOB_STATE_PENDING",
            verbs={"cancel": jobs.cancel},
        ),
        Collection(
            "projects/locations/trainingPipelines",
            version + "TrainingPipeline",
            lro_delete=True,
            required=("displayName", "trainingTaskDefinition"),
            validate=_validate_pipeline,
            on_create=_start_pipeline,
            on_get=jobs.wait_until_done,
            initial_state="PIPELINE_STATE_PENDING",
            verbs={"cancel": jobs.cancel},
        ),
        Collection(
            "projects/locations/datasets",
            version + "Dataset",
            lro_create=True,
            lro_delete=True,
            required=("displayName", "metadataSchemaUri"),
            validate=_validate_dataset,
        ),
    )
