"""Cloud helpers: contexts, clients and SDK objects as plain dicts, with the offline guard on (no network)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ds500 import cloud, offline
from ds500.cloud import CloudContext, CloudSetupError

pytest.importorskip("google.cloud.aiplatform")
pytest.importorskip("google.cloud.bigquery")



@pytest.fixture(autouse=True)
def _guarded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs with the offline guard installed: any network use would raise."""
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # restored after the test
    offline.install("test_cloud")
    yield
    offline.uninstall()


@pytest.fixture()
def ctx() -> CloudContext:
    return cloud.context(False)


def _custom_job() -> Any:
    from google.cloud import aiplatform

    return aiplatform.CustomJob(
        display_name="ds500-train",
        worker_pool_specs=[
            {
                "machine_spec": {"machine_type": "ct5lp-hightpu-4t", "tpu_topology": "2x2"},
                "replica_count": 1,
                "container_spec": {"image_uri": "us-docker.pkg.dev/ds500/train:latest"},
            }
        ],
        staging_bucket="gs://ds500-local-bucket",
    )


# -- context ------------------------------------------------------------------------
def test_offline_context(ctx: CloudContext) -> None:
    from google.auth.credentials import AnonymousCredentials

    assert ctx.dry_run and not ctx.run_on_gcp
    assert ctx.project_id == cloud.LOCAL_PROJECT == "ds500-local"
    assert ctx.region == "us-central1"
    assert isinstance(ctx.credentials, AnonymousCredentials)
    with pytest.raises(AttributeError):
        ctx.project_id = "other"  # type: ignore[misc]  # frozen


def test_offline_context_keeps_given_project_and_skips_experiment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from google.cloud import aiplatform

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(aiplatform, "init", lambda **kw: calls.append(kw))
    result = cloud.context(
        False, " my-project-1 ", "europe-west4", staging_bucket="gs://b", experiment="exp-1"
    )
    assert (result.project_id, result.region, result.staging_bucket) == (
        "my-project-1",
        "europe-west4",
        "gs://b",
    )
    assert result.experiment == "exp-1"
    assert "experiment" not in calls[0]  # init(experiment=...) would call the service
    assert calls[0]["project"] == "my-project-1" and calls[0]["location"] == "europe-west4"


def test_online_needs_project_id() -> None:
    with pytest.raises(CloudSetupError, match="PROJECT_ID is empty: set PROJECT_ID"):
        cloud.context(True, "")


def test_online_refused_when_offline_requested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DS500_OFFLINE", "1")
    with pytest.raises(CloudSetupError, match="DS500_OFFLINE=1"):
        cloud.context(True, "my-project-1")


def test_online_without_credentials_mocked(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def no_adc(*args: Any, **kwargs: Any) -> Any:
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.delenv("DS500_OFFLINE", raising=False)
    monkeypatch.setattr(google.auth, "default", no_adc)
    with pytest.raises(CloudSetupError) as info:
        cloud.context(True, "my-project-1")
    message = str(info.value)
    assert "gcloud auth application-default login" in message
    assert "auth.authenticate_user()" in message
    assert "service account" in message


def test_online_without_credentials_real_adc_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real google.auth.default(): a missing key file fails at once, before any network."""
    monkeypatch.delenv("DS500_OFFLINE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    start = time.perf_counter()
    with pytest.raises(CloudSetupError, match="gcloud auth application-default login"):
        cloud.context(True, "my-project-1")
    assert time.perf_counter() - start < 5


def test_online_with_credentials_initialises_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    credentials = AnonymousCredentials()
    calls: list[dict[str, Any]] = []
    monkeypatch.delenv("DS500_OFFLINE", raising=False)
    monkeypatch.setattr(google.auth, "default", lambda **kw: (credentials, "adc-project"))
    monkeypatch.setattr(aiplatform, "init", lambda **kw: calls.append(kw))
    result = cloud.context(True, "my-project-1", experiment="churn-exp")
    assert result.run_on_gcp and not result.dry_run
    assert result.credentials is credentials and result.project_id == "my-project-1"
    assert calls == [
        {
            "project": "my-project-1",
            "location": "us-central1",
            "credentials": credentials,
            "staging_bucket": None,
            "experiment": "churn-exp",
        }
    ]


def test_online_without_vertex_ai_skips_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    credentials = AnonymousCredentials()
    calls: list[dict[str, Any]] = []
    monkeypatch.delenv("DS500_OFFLINE", raising=False)
    monkeypatch.setattr(google.auth, "default", lambda **kw: (credentials, "adc-project"))
    monkeypatch.setattr(aiplatform, "init", lambda **kw: calls.append(kw))
    result = cloud.context(True, "my-project-1", vertex_ai=False)
    assert result.run_on_gcp and result.credentials is credentials and calls == []


def test_offline_without_vertex_ai_never_imports_aiplatform(tmp_path: Path) -> None:
    """A BigQuery-only lab skips the Vertex AI SDK's import, the slowest part of ctx.cloud()."""
    import os
    import subprocess

    script = (
        "import sys\n"
        "from ds500 import cloud\n"
        "ctx = cloud.context(False, vertex_ai=False)\n"
        "client = cloud.bigquery_client(ctx)\n"
        "assert client.project == 'ds500-local', client.project\n"
        "assert 'google.cloud.aiplatform' not in sys.modules, 'aiplatform was imported'\n"
        "print('ok')\n"
    )
    src = str(Path(cloud.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": path},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_missing_aiplatform_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.cloud

    monkeypatch.setitem(sys.modules, "google.cloud.aiplatform", None)
    monkeypatch.delattr(google.cloud, "aiplatform", raising=False)
    with pytest.raises(CloudSetupError, match=r'pip install "ds500\[gcp\]"'):
        cloud.context(False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"run_on_gcp": "False"}, TypeError, "without quotes"),
        ({"run_on_gcp": 0}, TypeError, "True or False"),
        ({"run_on_gcp": False, "region": ""}, ValueError, "REGION is empty"),
        ({"run_on_gcp": False, "region": "US-CENTRAL1"}, ValueError, "us-central1"),
        ({"run_on_gcp": False, "region": "us-central1-a"}, ValueError, "zone"),
        ({"run_on_gcp": False, "region": 5}, TypeError, "REGION"),
        ({"run_on_gcp": False, "project_id": "My-Project"}, ValueError, "lowercase"),
        ({"run_on_gcp": False, "project_id": "abc"}, ValueError, "6–30"),
        ({"run_on_gcp": False, "project_id": "1project"}, ValueError, "start with a letter"),
        ({"run_on_gcp": False, "project_id": "project-"}, ValueError, "hyphen"),
        ({"run_on_gcp": False, "project_id": "a" * 31}, ValueError, "6–30"),
        ({"run_on_gcp": False, "project_id": 123456}, TypeError, "PROJECT_ID"),
        ({"run_on_gcp": False, "staging_bucket": "my-bucket"}, ValueError, "gs://"),
        ({"run_on_gcp": False, "experiment": ""}, ValueError, "experiment"),
        ({"run_on_gcp": False, "vertex_ai": "no"}, TypeError, "vertex_ai"),
    ],
)
def test_context_bad_input(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        cloud.context(**kwargs)


def test_validators_accept_real_names() -> None:
    for region in ("us-central1", "europe-west4", "northamerica-northeast1", "asia-southeast1"):
        assert cloud.validate_region(region) == region
    for project in ("my-project-1", "ds500-local", "abcdef"):
        assert cloud.validate_project_id(project) == project


# -- real SDK objects as plain dicts --------------------------------------------------
def test_custom_job_spec(ctx: CloudContext) -> None:
    start = time.perf_counter()
    data = cloud.spec(_custom_job())
    assert time.perf_counter() - start < 2
    pool = data["jobSpec"]["workerPoolSpecs"][0]
    assert data["displayName"] == "ds500-train"
    assert pool["machineSpec"] == {"machineType": "ct5lp-hightpu-4t", "tpuTopology": "2x2"}


def test_custom_training_job_dry_run(ctx: CloudContext, tmp_path: Path) -> None:
    from google.cloud import aiplatform

    script = tmp_path / "task.py"
    script.write_text("print('train')\n")
    job = aiplatform.CustomTrainingJob(
        display_name="ds500-script",
        script_path=str(script),
        container_uri="us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest",
        requirements=["pandas"],
        staging_bucket="gs://ds500-local-bucket",
    )
    data = cloud.spec(job)
    assert data["resourceType"] == "CustomTrainingJob"
    assert data["script_path"] == str(script) and data["requirements"] == ["pandas"]
    assert "not submitted" in data["state"]
    assert "credentials" not in data and "api_client" not in data


def test_bigquery_query_job_config_spec() -> None:
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(dry_run=True, labels={"lab": "ds500"})
    data = cloud.spec(config)
    assert data["dryRun"] is True and data["labels"] == {"lab": "ds500"}


def test_bigquery_client_constructs_offline(ctx: CloudContext) -> None:
    from google.cloud import bigquery

    client = cloud.bigquery_client(ctx)
    assert isinstance(client, bigquery.Client)
    assert (client.project, client.location) == ("ds500-local", "us-central1")
    assert cloud.bigquery_client(ctx, location="US").location == "US"
    with pytest.raises(TypeError, match="CloudContext"):
        cloud.bigquery_client("ds500-local")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="location"):
        cloud.bigquery_client(ctx, location="")


# -- spec ---------------------------------------------------------------------------
def test_rest_session_offline_points_at_the_stand_in(ctx: CloudContext) -> None:
    from google.auth.transport.requests import AuthorizedSession

    for service in cloud.REST_SERVICES:
        session, base_url = ctx.rest_session(service)
        assert isinstance(session, AuthorizedSession) and session.credentials is ctx.credentials
        assert base_url == ctx.local.url
    session, base_url = ctx.rest_session("cloudbuild")
    answer = session.get(f"{base_url}/v1/projects/{ctx.project_id}/locations/us-central1/builds")
    assert answer.status_code == 200 and answer.headers["x-ds500-local-stand-in"] == "1"


def test_rest_session_online_uses_googleapis_and_the_credentials() -> None:
    from google.auth.credentials import AnonymousCredentials

    online = CloudContext(True, "my-project-1", "us-central1", AnonymousCredentials())
    session, base_url = online.rest_session("artifactregistry")
    assert base_url == "https://artifactregistry.googleapis.com" and session.credentials is online.credentials
    assert online.rest_session("cloudbuild")[1] == "https://cloudbuild.googleapis.com"


@pytest.mark.parametrize("bad", ["aiplatform", "CloudBuild", "", None, 3])
def test_rest_session_rejects_other_services(ctx: CloudContext, bad: object) -> None:
    with pytest.raises(ValueError, match="rest_session serves"):
        ctx.rest_session(bad)  # type: ignore[arg-type]


def test_spec_supported_types() -> None:
    from google.cloud.aiplatform_v1.types import MachineSpec

    plain = {"a": 1}
    assert cloud.spec(plain) is plain
    message = MachineSpec(machine_type="n1-standard-4", accelerator_type="NVIDIA_TESLA_T4")
    expected = {"machineType": "n1-standard-4", "acceleratorType": "NVIDIA_TESLA_T4"}
    assert cloud.spec(message) == expected
    assert cloud.spec(type(message).pb(message)) == expected  # raw protobuf

    class WithToDict:
        def to_dict(self) -> dict[str, int]:
            return {"x": 1}

    assert cloud.spec(WithToDict()) == {"x": 1}


@pytest.mark.parametrize("bad", [42, "text", object(), [1, 2], None])
def test_spec_rejects_unknown_types(bad: object) -> None:
    with pytest.raises(TypeError, match="cannot turn"):
        cloud.spec(bad)
