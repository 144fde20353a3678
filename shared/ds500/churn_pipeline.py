"""The churn retraining pipeline (KFP v2): validate data → train → evaluate → gate → register.

Why in the helper package: lab 12 builds and explains it, and lab 14 triggers the
*same* pipeline when its drift alert fires. The components import
:mod:`ds500.churn_model`, so the pipeline, the lab 10 service and batch prediction
share one preprocessing.

Components are KFP *lightweight Python components*: KFP ships each function's source
to the component's container and runs it there. Locally,
``kfp.local.SubprocessRunner(use_venv=False)`` runs them in subprocesses of this
Python, where ``ds500`` is installed. On Vertex AI Pipelines each step runs in
``base_image``, which must therefore contain ``ds500`` and ``kfp``: the lab 10
Dockerfile built with ``EXTRAS=serving,pipelines``.

Example::

    from ds500 import churn_pipeline
    run = churn_pipeline.run_locally("window.csv", workdir="/tmp/retrain")
    run.registered, run.roc_auc, run.model_dir
"""

import contextlib
import json
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from kfp import compiler, dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output

__all__ = [
    "DEFAULT_BASE_IMAGE",
    "LocalRun",
    "build_components",
    "build_pipeline",
    "compile_pipeline",
    "run_locally",
]

DEFAULT_BASE_IMAGE = "us-central1-docker.pkg.dev/PROJECT_ID/ds500/churn-components:v1"
"""Placeholder for the component image (lab 10's Dockerfile, ``EXTRAS=serving,pipelines``)."""


# -- component functions (self-contained: KFP ships their source, imports go inside) ------
def validate_data(
    data_path: str,
    min_rows: int,
    test_size: float,
    seed: int,
    train_data: Output[Dataset],
    test_data: Output[Dataset],
    report: Output[Metrics],
):
    """Refuse unusable data (fail the run), then split it, stratified and seeded."""
    import hashlib
    from pathlib import Path

    import pandas as pd
    from sklearn.model_selection import train_test_split

    from ds500 import churn_model

    frame = pd.read_csv(data_path)
    problems = []
    if len(frame) < min_rows:
        problems.append(f"{len(frame)} rows, fewer than min_rows={min_rows}")
    try:
        churn_model.prepare_features(frame)  # schema, categories, ranges: the serving rules
        labels = churn_model.labels(frame)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        raise ValueError("data validation failed: " + "; ".join(problems))
    if labels.min() == labels.max():
        raise ValueError("data validation failed: the label has a single class")
    train, test = train_test_split(frame, test_size=test_size, stratify=labels, random_state=seed)
    digest = hashlib.sha256(Path(data_path).read_bytes()).hexdigest()
    for artifact, part in ((train_data, train), (test_data, test)):
        part.to_csv(artifact.path, index=False)
        artifact.metadata.update(rows=len(part), churn_rate=float(churn_model.labels(part).mean()))
        artifact.metadata.update(source=data_path, source_sha256=digest)
    report.log_metric("rows", len(frame))
    report.log_metric("churn_rate", float(labels.mean()))
    report.log_metric("blank_total_charges", int(frame["total_charges"].isna().sum()))


def train_model(train_data: Input[Dataset], seed: int, c: float, version: str, model: Output[Model]):
    """Fit the shared pipeline on the training split and write a model directory."""
    import pandas as pd

    from ds500 import churn_model

    frame = pd.read_csv(train_data.path)
    fitted = churn_model.build_pipeline(seed=seed, C=c).fit(
        churn_model.prepare_features(frame), churn_model.labels(frame)
    )
    churn_model.save_model_dir(fitted, model.path, version=version)
    model.metadata.update(framework="scikit-learn", version=version, C=c, training_rows=len(frame))
    model.metadata.update(source_sha256=train_data.metadata.get("source_sha256", ""))


def evaluate_model(
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    roc: Output[ClassificationMetrics],
) -> float:
    """Score the held-out split; log metrics and the ROC curve; return the ROC-AUC."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    from ds500 import churn_model

    frame = pd.read_csv(test_data.path)
    truth = churn_model.labels(frame)
    scores = churn_model.load_model_dir(model.path).predict_proba(frame)
    auc = float(roc_auc_score(truth, scores))
    metrics.log_metric("roc_auc", auc)
    metrics.log_metric("pr_auc", float(average_precision_score(truth, scores)))
    metrics.log_metric("test_rows", len(frame))
    fpr, tpr, thresholds = roc_curve(truth, scores)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 100)).astype(int))
    roc.log_roc_curve(fpr[keep].tolist(), tpr[keep].tolist(), np.minimum(thresholds[keep], 1.0).tolist())
    return auc


def register_model(
    model: Input[Model], roc_auc: float, registry: str, display_name: str, serving_image: str
) -> str:
    """Register the model: a new version in a local registry folder, or in Vertex AI.

    ``registry`` is a local folder, or ``projects/PROJECT/locations/REGION`` for the
    Vertex AI Model Registry (the new model becomes a version of the existing entry
    with the alias ``challenger``; promotion to default stays a human decision).
    """
    import json
    import shutil
    from pathlib import Path

    lineage = {"roc_auc": roc_auc, "source_model_artifact": model.uri, **dict(model.metadata)}
    if registry.startswith("projects/"):
        from google.cloud import aiplatform

        _, project, _, location = registry.split("/")[:4]
        aiplatform.init(project=project, location=location)
        existing = aiplatform.Model.list(filter=f'display_name="{display_name}"')
        uploaded = aiplatform.Model.upload(
            display_name=display_name,
            artifact_uri=model.uri,
            serving_container_image_uri=serving_image,
            serving_container_predict_route="/predict",
            serving_container_health_route="/health",
            serving_container_ports=[8080],
            parent_model=existing[0].resource_name if existing else None,
            is_default_version=not existing,
            version_aliases=["challenger"],
            labels={"roc_auc": f"{roc_auc:.4f}".replace(".", "_")},
        )
        return f"{uploaded.resource_name}@{uploaded.version_id}"
    root = Path(registry)
    root.mkdir(parents=True, exist_ok=True)
    version = 1 + max((int(p.name) for p in root.iterdir() if p.name.isdigit()), default=0)
    target = root / str(version)
    shutil.copytree(model.path, target)
    (target / "lineage.json").write_text(json.dumps(lineage, indent=2, default=str) + "\n")
    return str(target)


def report_rejection(roc_auc: float, min_roc_auc: float) -> str:
    """The gate's other branch: record why nothing was registered."""
    message = f"not registered: ROC-AUC {roc_auc:.4f} is below the gate {min_roc_auc:.4f}"
    print(message)
    return message


# -- building the pipeline --------------------------------------------------------------
def build_components(base_image: str = DEFAULT_BASE_IMAGE) -> SimpleNamespace:
    """Wrap the component functions as KFP components that run in ``base_image``.

    ``install_kfp_package=False`` and no ``packages_to_install``: nothing is
    installed at run time, so the local run works offline and the Vertex AI run
    depends only on the image (reproducible, and faster to start).

    Returns:
        A namespace with ``validate_data``, ``train_model``, ``evaluate_model``,
        ``register_model`` and ``report_rejection``.
    """
    if not isinstance(base_image, str) or not base_image.strip():
        raise ValueError(f"base_image must name a container image, got {base_image!r}")

    def wrap(func: Callable[..., Any]) -> Any:
        return dsl.component(func=func, base_image=base_image, install_kfp_package=False)

    return SimpleNamespace(
        validate_data=wrap(validate_data),
        train_model=wrap(train_model),
        evaluate_model=wrap(evaluate_model),
        register_model=wrap(register_model),
        report_rejection=wrap(report_rejection),
    )


def build_pipeline(base_image: str = DEFAULT_BASE_IMAGE, name: str = "churn-retraining") -> Any:
    """The retraining pipeline: validate → train → evaluate → ``dsl.If`` gate → register.

    Parameters of the pipeline: ``data_path`` (a CSV path; on Vertex AI a
    ``/gcs/BUCKET/...`` path), ``registry`` (a local folder or
    ``projects/P/locations/R``), ``min_roc_auc`` (the gate), ``min_rows``,
    ``test_size``, ``seed``, ``c``, ``version``, ``display_name``, ``serving_image``.
    """
    parts = build_components(base_image)

    @dsl.pipeline(name=name, description="Validate churn data, train, evaluate, register if good enough.")
    def churn_retraining(
        data_path: str,
        registry: str,
        min_roc_auc: float = 0.80,
        min_rows: int = 1000,
        test_size: float = 0.25,
        seed: int = 42,
        c: float = 1.0,
        version: str = "candidate",
        display_name: str = "churn-predictor",
        serving_image: str = "",
    ):
        data = parts.validate_data(data_path=data_path, min_rows=min_rows, test_size=test_size, seed=seed)
        trained = parts.train_model(train_data=data.outputs["train_data"], seed=seed, c=c, version=version)
        evaluated = parts.evaluate_model(model=trained.outputs["model"], test_data=data.outputs["test_data"])
        with dsl.If(evaluated.outputs["Output"] >= min_roc_auc, name="roc-auc-gate"):
            parts.register_model(
                model=trained.outputs["model"],
                roc_auc=evaluated.outputs["Output"],
                registry=registry,
                display_name=display_name,
                serving_image=serving_image,
            )
        with dsl.Else(name="below-gate"):
            parts.report_rejection(roc_auc=evaluated.outputs["Output"], min_roc_auc=min_roc_auc)

    return churn_retraining


def compile_pipeline(path: str | Path, base_image: str = DEFAULT_BASE_IMAGE) -> Path:
    """Compile the pipeline to the YAML that ``aiplatform.PipelineJob`` submits."""
    target = Path(path)
    if target.suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(f"compile to a .yaml file, got {target.name!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(build_pipeline(base_image), str(target))
    return target


# -- running it locally --------------------------------------------------------------------
@dataclass(frozen=True)
class LocalRun:
    """The outcome of :func:`run_locally`.

    Attributes:
        run_dir: the run's folder under the pipeline root (one sub-folder per task).
        registered: True if the gate passed and a new version was registered.
        roc_auc: the evaluated ROC-AUC.
        model_dir: the registered version's folder, or None.
        log_path: the file holding KFP's (verbose) local-run log.
    """

    run_dir: Path
    registered: bool
    roc_auc: float
    model_dir: Path | None
    log_path: Path

    def outputs(self) -> dict[str, Any]:
        """Each task's recorded outputs: ``{task: executor_output.json content}``."""
        result = {}
        for path in sorted(self.run_dir.glob("*/executor_output.json")):
            result[path.parent.name] = json.loads(path.read_text())
        return result


def run_locally(
    data_path: str | Path,
    *,
    workdir: str | Path,
    min_roc_auc: float = 0.80,
    quiet: bool = True,
    **parameters: Any,
) -> LocalRun:
    """Run the retraining pipeline on this machine with KFP's SubprocessRunner.

    Args:
        data_path: a CSV of customer records with the ``churn`` label.
        workdir: holds ``pipeline_root/`` (artifacts) and ``registry/`` (versions).
        min_roc_auc: the gate.
        quiet: send KFP's step-by-step log to ``workdir/kfp-local.log`` instead of stdout.
        **parameters: other pipeline parameters (``seed``, ``c``, ``min_rows``, ...).

    Raises:
        FileNotFoundError: if ``data_path`` does not exist.
        RuntimeError: if a step fails (e.g. data validation); the log says why.
    """
    from kfp import local

    data_path = Path(data_path).resolve()
    if not data_path.is_file():
        raise FileNotFoundError(f"training data {data_path} not found")
    workdir = Path(workdir).resolve()
    root, registry = workdir / "pipeline_root", workdir / "registry"
    root.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "kfp-local.log"
    before = set(root.iterdir())
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)
    pipeline = build_pipeline()
    src = str(Path(__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    with log_path.open("a", encoding="utf-8") as log, contextlib.ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        # the local runner ignores base_image; its warning about custom images is noise here
        warnings.filterwarnings("ignore", message=".*custom or non-Python base image.*")
        if quiet:
            stack.enter_context(contextlib.redirect_stdout(log))
            stack.enter_context(contextlib.redirect_stderr(log))
        try:
            pipeline(data_path=str(data_path), registry=str(registry), min_roc_auc=min_roc_auc, **parameters)
        except Exception as error:  # KFP raises RuntimeError naming the failed task
            plain = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # KFP colours its messages
            raise RuntimeError(f"the local pipeline run failed: {plain} (details in {log_path})") from error
    run_dir = max(set(root.iterdir()) - before, key=lambda p: p.stat().st_mtime)
    evaluated = json.loads((run_dir / "evaluate-model" / "executor_output.json").read_text())
    auc = float(evaluated["parameterValues"]["Output"])
    register_out = run_dir / "register-model" / "executor_output.json"
    model_dir = (
        Path(json.loads(register_out.read_text())["parameterValues"]["Output"])
        if register_out.exists()
        else None
    )
    return LocalRun(run_dir, model_dir is not None, auc, model_dir, log_path)
