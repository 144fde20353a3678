"""Tests for ds500.churn_model and ds500.serving: contract, bad requests, subprocess server."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ds500 import churn_model, fixtures, serving


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return fixtures.load("telco_churn").head(1500)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> Path:
    return churn_model.build_reference_model_dir(tmp_path_factory.mktemp("model"), frame=frame, version="7")


@pytest.fixture(scope="module")
def client(model_dir: Path) -> TestClient:
    config = serving.ServiceConfig(str(model_dir), predict_route="/v1/predict", max_instances=50)
    return TestClient(serving.create_app(config))


def record(frame: pd.DataFrame, i: int = 0) -> dict[str, Any]:
    row = frame[list(churn_model.FEATURES)].iloc[i].to_dict()
    out = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


# -- churn_model -------------------------------------------------------------------------
def test_prepare_features_fills_blanks_and_derives(frame: pd.DataFrame) -> None:
    prepared = churn_model.prepare_features(frame)
    assert list(prepared.columns) == list(churn_model.FEATURES + churn_model.DERIVED_FEATURES)
    assert prepared["total_charges"].notna().all()
    assert prepared.index.equals(frame.index)


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("contract", "Monthly", "unknown category"),
        ("tenure", -1, "finite numbers >= 0"),
        ("monthly_charges", float("inf"), "finite numbers >= 0"),
        ("female", 2, "must be 0 or 1"),
    ],
)
def test_prepare_features_refuses_bad_values(
    frame: pd.DataFrame, column: str, value: Any, match: str
) -> None:
    bad = frame.head(3).astype({column: object}).copy()
    bad.loc[bad.index[1], column] = value
    with pytest.raises(ValueError, match=match):
        churn_model.prepare_features(bad)


def test_prepare_features_bad_input(frame: pd.DataFrame) -> None:
    with pytest.raises(TypeError):
        churn_model.prepare_features([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing feature columns"):
        churn_model.prepare_features(frame.drop(columns=["tenure"]))
    with pytest.raises(ValueError, match="empty"):
        churn_model.prepare_features(frame.head(0))


def test_postprocess_and_threshold() -> None:
    assert churn_model.postprocess([0.2, 0.7]) == [
        {"churn_probability": 0.2, "churn": False},
        {"churn_probability": 0.7, "churn": True},
    ]
    with pytest.raises(ValueError, match="threshold"):
        churn_model.postprocess([0.5], threshold=1.0)


def test_model_dir_round_trip(model_dir: Path, frame: pd.DataFrame) -> None:
    model = churn_model.load_model_dir(model_dir)
    assert model.version == "7"
    assert model.metadata["format"] == "skops"
    assert model.metadata["metrics"]["roc_auc"] > 0.7
    preds = model.predict(frame.head(5))
    assert len(preds) == 5 and all(0 <= p["churn_probability"] <= 1 for p in preds)
    with pytest.raises(FileNotFoundError, match="model.skops"):
        churn_model.load_model_dir(model_dir.parent / "nowhere")


def test_loading_a_model_does_not_import_torch(model_dir: Path) -> None:
    """A serving worker or a pipeline step that loads the model starts without torch (1-10 s)."""
    script = (
        "import sys; from ds500 import churn_model; "
        f"model = churn_model.load_model_dir({str(model_dir)!r}); "
        "import skops.io._trusted_types as t; "
        "print('torch' in sys.modules, len(t.SKLEARN_ESTIMATOR_TYPE_NAMES))"
    )
    plain = "import skops.io._trusted_types as t; print(len(t.SKLEARN_ESTIMATOR_TYPE_NAMES))"  # torch and all

    def run(code: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return done.stdout.split()

    assert run(script) == ["False", *run(plain)]  # no torch, and the same list of trusted types


def test_batch_predict_matches_the_model(model_dir: Path, frame: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    frame.head(20).to_csv(source, index=False)
    scored = churn_model.batch_predict(model_dir, source, tmp_path / "out.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(lines) == 20 and set(lines[0]) == {"instance", "prediction"}
    expected = churn_model.load_model_dir(model_dir).predict(frame.head(20))
    assert [line["prediction"] for line in lines] == expected
    assert scored["churn_probability"].tolist() == [p["churn_probability"] for p in expected]
    with pytest.raises(ValueError, match=".csv or .jsonl"):
        churn_model.batch_predict(model_dir, source.rename(tmp_path / "in.txt"), tmp_path / "x")


# -- the service contract -------------------------------------------------------------------
def test_health_and_predict_contract(client: TestClient, frame: pd.DataFrame, model_dir: Path) -> None:
    assert client.get("/health").json() == {"status": "ok", "model_version": "7", "inference": "compiled"}
    body = {"instances": [record(frame, i) for i in range(4)], "parameters": {"threshold": 0.3}}
    response = client.post("/v1/predict", json=body)
    assert response.status_code == 200
    assert set(response.json()) == {"predictions"}
    expected = churn_model.load_model_dir(model_dir).predict(frame.head(4), threshold=0.3)
    assert response.json()["predictions"] == expected
    assert response.headers["x-model-version"] == "7" and response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("inference", "instances", "on_the_loop"),
    [("compiled", 1, True), ("compiled", 60, False), ("sklearn", 1, False)],
)
def test_small_requests_score_on_the_loop_and_large_ones_in_the_pool(
    model_dir: Path, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, inference: str, instances: int,
    on_the_loop: bool,
) -> None:
    """A fast-path request under INLINE_MAX_BYTES is scored on the event loop's thread; a larger one, and
    every scikit-learn request (milliseconds each), in the thread pool, so the loop keeps answering."""
    scored_on: list[int] = []
    real_load = serving._load_scorer

    def recording_load(*args: Any) -> Any:
        loaded = real_load(*args)

        def score_and_record(records: Any) -> Any:
            scored_on.append(threading.get_ident())
            return loaded.score(records)

        return dataclasses.replace(loaded, score=score_and_record)

    monkeypatch.setattr(serving, "_load_scorer", recording_load)
    app = serving.create_app(serving.ServiceConfig(str(model_dir), inference=inference))

    @app.get("/loop-thread")
    async def loop_thread() -> int:
        return threading.get_ident()

    body = json.dumps({"instances": [record(frame, i) for i in range(instances)]})
    assert (len(body) <= serving.INLINE_MAX_BYTES) == (instances == 1)
    with TestClient(app) as client:
        response = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 200 and len(response.json()["predictions"]) == instances
        assert (scored_on == [client.get("/loop-thread").json()]) is on_the_loop


def test_blank_total_charges_is_accepted(client: TestClient, frame: pd.DataFrame) -> None:
    instance = record(frame) | {"tenure": 0, "total_charges": None}
    assert client.post("/v1/predict", json={"instances": [instance]}).status_code == 200


def _post(client: TestClient, body: Any) -> httpx.Response:
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/v1/predict", content=content, headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (lambda r: r.pop("tenure"), 422, "instances[0].tenure: Field required"),
        (lambda r: r.update(shoe_size=42), 422, "instances[0].shoe_size: Extra inputs are not permitted"),
        (lambda r: r.update(tenure="12"), 422, "instances[0].tenure: Input should be a valid integer"),
        (lambda r: r.update(female=True), 422, "instances[0].female"),
        (lambda r: r.update(partner=3), 422, "instances[0].partner"),
        (lambda r: r.update(monthly_charges=-5.0), 422, "greater than or equal to 0"),
        (
            lambda r: r.update(contract="Monthly"),
            422,
            "instances[0].contract: Input should be 'Month-to-month'",
        ),
    ],
)
def test_bad_instances_get_422(
    client: TestClient, frame: pd.DataFrame, change: Any, status: int, message: str
) -> None:
    instance = record(frame)
    change(instance)
    response = _post(client, {"instances": [instance]})
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_inf_get_422(client: TestClient, frame: pd.DataFrame, value: str) -> None:
    text = json.dumps({"instances": [record(frame) | {"monthly_charges": 1.5}]}).replace("1.5", value)
    response = _post(client, text)
    assert response.status_code == 422
    assert "finite number" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("{not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid JSON"),
        ("[1, 2]", 400, '{"instances"'),
        ({"rows": []}, 400, '{"instances"'),
        ({"instances": []}, 422, "at least 1 item"),
        ({"instances": "all"}, 422, "valid list"),
        ({"instances": [1]}, 422, "instances[0]"),
        ({"instances": [], "extra": 1}, 422, "extra"),
        ({"instances": [{}] * 51}, 413, "limit is 50"),
    ],
)
def test_bad_bodies(client: TestClient, body: Any, status: int, message: str) -> None:
    response = _post(client, body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


def test_bad_parameters_and_huge_body(client: TestClient, frame: pd.DataFrame) -> None:
    bad = _post(client, {"instances": [record(frame)], "parameters": {"threshold": 2}})
    assert bad.status_code == 422 and "parameters.threshold" in bad.json()["error"]["message"]
    huge = _post(client, b'{"instances": [' + b" " * serving.MAX_BODY_BYTES + b"]}")
    assert huge.status_code == 413


def test_metrics_route(client: TestClient, frame: pd.DataFrame) -> None:
    client.post("/v1/predict", json={"instances": [record(frame, i) for i in range(3)]})
    text = client.get("/metrics").text
    assert 'churn_requests_total{code="200",route="predict"}' in text
    assert "churn_request_latency_seconds_bucket" in text
    assert "churn_prediction_probability_bucket" in text
    assert "churn_instances_total" in text


def test_config_from_env_and_validation(model_dir: Path) -> None:
    config = serving.ServiceConfig.from_env({"AIP_STORAGE_URI": str(model_dir), "AIP_HTTP_PORT": "9000"})
    assert (config.port, config.health_route, config.predict_route) == (9000, "/health", "/predict")
    with pytest.raises(ValueError, match="AIP_STORAGE_URI"):
        serving.ServiceConfig.from_env({})
    with pytest.raises(ValueError, match="integers"):
        serving.ServiceConfig.from_env({"AIP_STORAGE_URI": "x", "AIP_HTTP_PORT": "http"})
    with pytest.raises(ValueError, match="starting with '/'"):
        serving.ServiceConfig(str(model_dir), predict_route="predict")
    with pytest.raises(TypeError):
        serving.create_app("not a config")  # type: ignore[arg-type]


# -- the real server in a subprocess ----------------------------------------------------------
def test_serve_subprocess_start_predict_logs_stop(model_dir: Path, frame: pd.DataFrame) -> None:
    with serving.serve(model_dir, predict_route="/v1/predict") as server:
        assert 0 < server.startup_s < 180
        assert server.url.startswith("http://127.0.0.1:")
        ok = httpx.post(
            server.predict_url, json={"instances": [record(frame)]}, headers={"x-request-id": "r1"}
        )
        assert ok.status_code == 200 and len(ok.json()["predictions"]) == 1
        assert httpx.post(server.predict_url, content=b"{").status_code == 400
        assert "churn_requests_total" in httpx.get(server.metrics_url).text
        process = server.process
    assert process.poll() is not None  # stopped on exit
    entries = server.logs()
    first = next(e for e in entries if e.get("request_id") == "r1")
    assert first["severity"] == "INFO" and first["model_version"] == "7"
    assert first["httpRequest"]["status"] == 200 and first["latency_ms"] > 0
    assert any(e["severity"] == "WARNING" and e["status"] == 400 for e in entries)


def test_serve_refuses_a_missing_model(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a churn model directory"):
        with serving.serve(tmp_path):
            pass
    with pytest.raises(ValueError, match="workers"):
        with serving.serve(tmp_path, workers=0):
            pass
