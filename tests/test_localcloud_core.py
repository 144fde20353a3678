"""The stand-in's plumbing: start-up, Google's error body, routing, operations, the log and its view."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ds500.localcloud import LocalCloud, display, validation
from ds500.localcloud.errors import GoogleError
from ds500.localcloud.requestlog import RequestLog, trim
from ds500.localcloud.routing import Router
from ds500.localcloud.store import Store


@pytest.fixture(scope="module")
def cloud():
    started = time.perf_counter()
    local = LocalCloud().start()
    local.start_seconds = time.perf_counter() - started
    yield local
    local.stop()


def request(cloud: LocalCloud, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(
        cloud.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            assert answer.headers["x-ds500-local-stand-in"] == "1"
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_starts_fast_on_loopback_only(cloud):
    assert cloud.url.startswith("http://127.0.0.1:") and cloud.storage_url.startswith("http://127.0.0.1:")
    assert cloud.start_seconds < 5  # about 0.3 s on a 2-core machine; generous for a loaded CI


def test_unknown_call_gets_googles_error_body(cloud):
    status, body = request(cloud, "GET", "/v1/projects/p/locations/us-central1/unknownThings")
    assert status == 501
    assert (
        body["error"]["status"] == "UNIMPLEMENTED"
        and "only the calls the labs make" in body["error"]["message"]
    )


def test_body_that_is_not_json_is_a_400(cloud):
    status, body = request(cloud, "POST", "/v1/projects/p/locations/us-central1/customJobs", b"{not json")
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"


def test_missing_resource_is_a_404(cloud):
    status, body = request(cloud, "GET", "/v1/projects/p/locations/us-central1/customJobs/42")
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"


def test_unknown_field_is_refused_like_google_does(cloud):
    status, body = request(
        cloud, "POST", "/v1/projects/p/locations/us-central1/customJobs", {"displayName": "x", "jobSpek": {}}
    )
    assert status == 400 and "Invalid JSON payload" in body["error"]["message"]


def test_parse_resource_collection_and_verbs():
    def parse(path: str):
        return Router.parse("POST", path, {}, {}, None)  # type: ignore[arg-type]

    job = parse("/v1/projects/p/locations/l/customJobs/7:cancel")
    assert (job.name, job.verb, job.collection_path) == (
        "projects/p/locations/l/customJobs/7",
        "cancel",
        "projects/locations/customJobs",
    )
    assert (job.project, job.location) == ("p", "l")
    upload = parse("/v1/projects/p/locations/l/models:upload")
    assert (upload.name, upload.parent, upload.verb) == ("", "projects/p/locations/l", "upload")
    entries = parse("/v2/entries:list")
    assert (entries.collection_path, entries.verb) == ("entries", "list")


def test_store_names_children_and_finished_operations():
    store = Store()
    first = store.put("projects/p/locations/l/things/1", {"displayName": "a"})
    store.put("projects/p/locations/l/things/1/parts/9", {})
    store.put("projects/p/locations/l/things/2", {"displayName": "b"})
    assert first["name"] == "projects/p/locations/l/things/1"
    assert [r["displayName"] for r in store.children("projects/p/locations/l", "things")] == ["a", "b"]
    op = store.operation("projects/p/locations/l/things/1", None)
    assert op["done"] is True and op["response"]["@type"].endswith("google.protobuf.Empty")
    store.delete("projects/p/locations/l/things/1")
    assert store.names() == ["projects/p/locations/l/things/2"]
    with pytest.raises(GoogleError) as error:
        store.get("projects/p/locations/l/things/1")
    assert error.value.code == 404


def test_wait_for_returns_as_soon_as_the_condition_holds():
    store = Store()
    store.put("jobs/1", {"state": "RUNNING"})
    import threading

    threading.Timer(0.05, lambda: store.update("jobs/1", state="DONE")).start()
    started = time.perf_counter()
    assert store.wait_for("jobs/1", lambda r: r["state"] == "DONE", timeout=5)["state"] == "DONE"
    assert time.perf_counter() - started < 2


def test_log_view_shows_banner_requests_and_only_what_the_answer_adds():
    log = RequestLog()
    log.add("api", "POST", "/v1/x/customJobs", 200, {"displayName": "d"}, {"displayName": "d", "state": "S"})
    text = display.render(log.since(0))
    assert display.BANNER in text and "POST /v1/x/customJobs -> 200" in text
    assert '"state": "S"' in text and text.count('"displayName"') == 1
    assert display.render([]) == ""
    assert trim("x" * 500).endswith("chars)") and len(trim(list(range(20)))) == 7


def test_common_rules_names_and_labels():
    validation.common({"displayName": "x" * 128, "labels": {"course": "ds500", "lab": "00"}})
    for bad in ({"displayName": "x" * 129}, {"labels": {"Course": "x"}}, {"labels": {"k": "Has Space"}}):
        with pytest.raises(GoogleError) as error:
            validation.common(bad)
        assert error.value.code == 400 and "https://" in error.value.message


@pytest.mark.parametrize(
    "spec",
    [
        {"machineType": "n1-standard-5"},
        {"machineType": "n1-standard-4", "acceleratorType": "NVIDIA_TESLA_A100", "acceleratorCount": 1},
        {"machineType": "n1-standard-4", "acceleratorType": "NVIDIA_TESLA_T4", "acceleratorCount": 3},
        {"machineType": "a2-highgpu-2g", "acceleratorType": "NVIDIA_TESLA_A100", "acceleratorCount": 1},
        {"machineType": "ct5lp-hightpu-4t"},
        {"machineType": "ct5lp-hightpu-4t", "tpuTopology": "2x4"},
    ],
)
def test_machine_specs_vertex_ai_refuses(spec):
    with pytest.raises(GoogleError) as error:
        validation.check_machine_spec(spec)
    assert error.value.code == 400


def test_machine_specs_vertex_ai_accepts():
    validation.check_machine_spec(
        {"machineType": "n1-standard-8", "acceleratorType": "NVIDIA_TESLA_T4", "acceleratorCount": 1}
    )
    validation.check_machine_spec({"machineType": "ct5lp-hightpu-4t", "tpuTopology": "2x2"})
    validation.check_machine_spec(
        {"machineType": "a2-highgpu-2g", "acceleratorType": "NVIDIA_TESLA_A100", "acceleratorCount": 2}
    )


def test_images_replicas_traffic_and_regions():
    validation.check_image_uri("us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-6:latest")
    validation.check_replicas({"minReplicaCount": 1, "maxReplicaCount": 3})
    validation.check_traffic_split({"0": 10, "123": 90}, {"0", "123"})
    validation.check_region("europe-west4")
    for call in (
        lambda: validation.check_image_uri("my-image:latest"),
        lambda: validation.check_replicas({"minReplicaCount": 3, "maxReplicaCount": 2}),
        lambda: validation.check_traffic_split({"0": 10, "123": 80}, {"0", "123"}),
        lambda: validation.check_traffic_split({"0": 10, "999": 90}, {"0", "123"}),
        lambda: validation.check_region("us-central1-a"),
    ):
        with pytest.raises(GoogleError):
            call()


def test_leftovers_list_buckets_and_objects(cloud):
    cloud._storage.storage.create_bucket("left-behind", {"name": "left-behind"})
    assert "gs://left-behind" in cloud.leftovers()


def test_prices_come_from_the_table_and_say_when_they_are_missing():
    from ds500.localcloud import pricing

    pool = {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}
    body = {"jobSpec": {"workerPoolSpecs": [pool]}}
    (line,) = pricing.describe([body])
    assert "$0.22 per hour" in line and "2026-10-07" in line and "cloud.google.com/vertex-ai/pricing" in line
    unknown = {"dedicatedResources": {"machineSpec": {"machineType": "n1-standard-2"}, "minReplicaCount": 2}}
    (line,) = pricing.describe([unknown])
    assert line.startswith("2 × n1-standard-2: no list price") and "prediction-prices" in line


def test_stop_removes_its_temporary_folder_and_a_new_one_sweeps_those_of_ended_processes() -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()  # its process id now names no process
    tmp = Path(tempfile.gettempdir())
    stale = Path(tempfile.mkdtemp(prefix=f"ds500-localcloud-{ended.pid}-", dir=tmp))
    live = Path(tempfile.mkdtemp(prefix=f"ds500-localcloud-{os.getppid()}-", dir=tmp))
    mine = Path(tempfile.mkdtemp(prefix="mine-", dir=tmp))
    try:
        local = LocalCloud()
        assert local.workdir.name.startswith(f"ds500-localcloud-{os.getpid()}-") and local.workdir.is_dir()
        assert not stale.exists() and live.is_dir()
        local.start()
        (local.workdir / "gcs" / "x").mkdir(parents=True, exist_ok=True)
        local.stop()
        assert not local.workdir.exists()
        chosen = LocalCloud(mine)
        chosen.stop()
        assert mine.is_dir(), "a folder the caller chose is the caller's to remove"
    finally:
        shutil.rmtree(live, ignore_errors=True)
        shutil.rmtree(mine, ignore_errors=True)
