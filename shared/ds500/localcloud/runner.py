"""Run a Vertex AI worker pool's Python package locally, as ``gcloud ai custom-jobs local-run`` does.

Why: a ``pythonPackageSpec`` (what ``CustomJob.from_local_script`` and
``CustomTrainingJob`` upload) is the lab's own code, so the stand-in can really
run it: it fetches the source tarball from the local bucket, unpacks it, and starts
``python -m <module> <args>`` in a subprocess with the environment variables Vertex
AI sets (https://cloud.google.com/vertex-ai/docs/training/code-requirements#environment-variables).
``STORAGE_EMULATOR_HOST`` is passed on, so the script's google-cloud-storage writes
(to ``AIP_MODEL_DIR``) reach the local bucket. Unlike Vertex AI, nothing is
``pip install``-ed: the package's requirements must already be installed in this
environment (the labs only use what the course installs).

A container image cannot run offline (no Docker here, and a custom image is not
built): :func:`runnable` says which pools this module can run.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ds500.localcloud.server import LocalCloud

__all__ = ["Outcome", "read_metrics", "run_pool", "runnable", "vertex_env"]

ENV_DOCS = "https://cloud.google.com/vertex-ai/docs/training/code-requirements#environment-variables"
_LOG_TAIL_LINES = 20


@dataclass
class Outcome:
    """What a local run left behind.

    Attributes:
        returncode: the script's exit status (0 is success).
        log_tail: the last lines of its stdout and stderr.
        metrics: the cloudml-hypertune reports it wrote, oldest first.
    """

    returncode: int
    log_tail: str
    metrics: list[dict[str, Any]] = field(default_factory=list)


def runnable(pools: list[dict[str, Any]]) -> bool:
    """True when the chief pool ships its code as a Python package (which runs locally)."""
    return bool(pools and pools[0] and pools[0].get("pythonPackageSpec"))


def vertex_env(
    project: str, job_id: str, base_output_dir: str, pools: list[dict[str, Any]], trial_id: str = ""
) -> dict[str, str]:
    """The variables Vertex AI sets in the chief replica (see ``ENV_DOCS``).

    Args:
        project: the project id (``CLOUD_ML_PROJECT_ID``).
        job_id: the job's numeric id (names the replicas in ``CLUSTER_SPEC``).
        base_output_dir: ``baseOutputDirectory.outputUriPrefix``, a ``gs://`` URI
            (or ``""``: then no ``AIP_*_DIR``); a tuning trial's folder adds the trial id.
        pools: the worker pool specs (one host list per non-empty pool).
        trial_id: the tuning trial id, or ``""`` outside a tuning job.
    """
    if base_output_dir and not base_output_dir.startswith("gs://"):
        raise ValueError(f"base_output_dir must be a gs:// URI or empty, got {base_output_dir!r}")
    base = base_output_dir.rstrip("/") + (f"/{trial_id}" if trial_id else "")
    cluster = {
        f"workerpool{i}": [f"workerpool{i}-{job_id}-{r}:2222" for r in range(int(p.get("replicaCount") or 1))]
        for i, p in enumerate(pools)
        if p
    }
    tf_roles = {
        "workerpool0": "chief",
        "workerpool1": "worker",
        "workerpool2": "ps",
        "workerpool3": "evaluator",
    }
    env = {
        "CLOUD_ML_PROJECT_ID": project,
        "CLUSTER_SPEC": json.dumps(
            {"cluster": cluster, "environment": "cloud", "task": {"type": "workerpool0", "index": 0}}
        ),
        "TF_CONFIG": json.dumps(
            {
                "cluster": {tf_roles[k]: v for k, v in cluster.items()},
                "environment": "cloud",
                "task": {"type": "chief", "index": 0},
            }
        ),
    }
    if base_output_dir:  # Vertex AI sets the AIP_*_DIR variables only with a base output directory
        env.update(
            AIP_MODEL_DIR=f"{base}/model/",
            AIP_CHECKPOINT_DIR=f"{base}/checkpoints/",
            AIP_TENSORBOARD_LOG_DIR=f"{base}/logs/",
        )
    if trial_id:
        env["CLOUD_ML_TRIAL_ID"] = trial_id
    return env


def _unpack(cloud: LocalCloud, uris: list[str], into: Path) -> Path:
    """Fetch each package from the local bucket and unpack it; returns the folder to import from."""
    roots = []
    for uri in uris:
        data = cloud._storage.read(uri)
        target = into / f"package{len(roots)}"
        target.mkdir()
        if uri.endswith(".whl"):
            zipfile.ZipFile(io.BytesIO(data)).extractall(target)
            roots.append(target)
            continue
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            archive.extractall(target, filter="data")
        tops = [p for p in target.iterdir() if p.is_dir()]
        roots.append(tops[0] if len(tops) == 1 and (tops[0] / "setup.py").exists() else target)
    return roots[0] if len(roots) == 1 else into


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The JSON lines cloudml-hypertune wrote (one report per line), or ``[]``."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_pool(
    cloud: LocalCloud,
    pool: dict[str, Any],
    env: dict[str, str],
    *,
    extra_args: list[str] | None = None,
    timeout: float = 300,
) -> Outcome:
    """Run the chief replica of ``pool`` (a ``pythonPackageSpec``) in a subprocess.

    Args:
        cloud: the stand-in (its bucket holds the package).
        pool: the worker pool spec (camelCase, as stored).
        env: Vertex AI's variables, from :func:`vertex_env`.
        extra_args: appended after the pool's ``args`` (a tuning trial's ``--name=value``).
        timeout: seconds before the run is stopped and counted as failed.
    """
    spec = pool.get("pythonPackageSpec") or {}
    module = spec.get("pythonModule", "")
    if not module:
        raise ValueError("pythonPackageSpec.pythonModule is required to run a package")
    with tempfile.TemporaryDirectory(prefix="ds500-job-") as tmp:
        root = _unpack(cloud, list(spec.get("packageUris") or []), Path(tmp))
        metric_file = Path(tmp) / "hypertune" / "output.metrics"
        run_env = {
            **os.environ,
            **{e["name"]: e.get("value", "") for e in spec.get("env") or []},
            **env,
            "CLOUD_ML_HP_METRIC_FILE": str(metric_file),
            "STORAGE_EMULATOR_HOST": cloud.storage_url,
            "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
        command = [sys.executable, "-m", module, *(spec.get("args") or []), *(extra_args or [])]
        try:
            done = subprocess.run(
                command, cwd=root, env=run_env, capture_output=True, text=True, timeout=timeout
            )
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            code, output = -9, f"stopped by the local stand-in after {timeout:.0f} s"
        tail = "\n".join(output.strip().splitlines()[-_LOG_TAIL_LINES:])
        return Outcome(code, tail, read_metrics(metric_file))
