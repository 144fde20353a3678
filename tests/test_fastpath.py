"""Tests for the service's fast path: same answers as scikit-learn, same checks as pandas."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler

from ds500 import churn_model, fixtures, serving
from ds500.fastpath import CompiledPipeline


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return fixtures.load("telco_churn")


@pytest.fixture(scope="module")
def fitted(frame: pd.DataFrame) -> Any:
    return churn_model.train_model(frame, seed=3)[0]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as a service receives them: plain Python values, blanks as None."""
    rows = frame[list(churn_model.FEATURES)].astype(object).to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]


def test_compiled_path_matches_predict_proba_on_every_row(frame: pd.DataFrame, fitted: Any) -> None:
    expected = fitted.predict_proba(churn_model.prepare_features(frame))[:, 1]
    got = CompiledPipeline.from_pipeline(fitted).predict_proba(churn_model.prepare_records(records(frame)))
    assert got.shape == (len(frame),) == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert frame["total_charges"].isna().any()  # the blank bills are among the rows checked


def test_prepare_records_is_prepare_features(frame: pd.DataFrame) -> None:
    table = churn_model.prepare_features(frame)
    columns = churn_model.prepare_records(records(frame))
    assert list(columns) == list(table.columns)
    assert table["tenure"].dtype == float and table["n_add_ons"].dtype == int  # numbers stay numbers
    for name, values in columns.items():
        assert (np.asarray(values) == table[name].to_numpy()).all(), name


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"contract": "Monthly"}, ValueError, r"column 'contract' has an unknown category.*row 1"),
        ({"tenure": -1}, ValueError, "finite numbers >= 0"),
        ({"female": "1"}, ValueError, "must be 0 or 1"),
        ({"monthly_charges": float("nan")}, ValueError, "monthly_charges"),
    ],
)
def test_prepare_records_refuses_bad_values(
    frame: pd.DataFrame, change: dict[str, Any], error: type, match: str
) -> None:
    rows = records(frame.head(2))
    rows[1] = rows[1] | change
    with pytest.raises(error, match=match):
        churn_model.prepare_records(rows)


def test_prepare_records_bad_input(frame: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="list of records"):
        churn_model.prepare_records("tenure")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no records"):
        churn_model.prepare_records([])
    with pytest.raises(TypeError, match="record 0"):
        churn_model.prepare_records([1])  # type: ignore[list-item]
    row = records(frame.head(1))[0]
    row.pop("tenure")
    with pytest.raises(ValueError, match=r"misses feature columns: \['tenure'\]"):
        churn_model.prepare_records([row])


def test_other_pipelines_are_refused(frame: pd.DataFrame, fitted: Any) -> None:
    with pytest.raises(ValueError, match="Pipeline"):
        CompiledPipeline.from_pipeline(fitted.steps[-1][1])
    with pytest.raises(ValueError, match="fitted ColumnTransformer"):
        CompiledPipeline.from_pipeline(churn_model.build_pipeline())
    other = churn_model.build_pipeline().set_params(columns__numbers=MinMaxScaler())
    other.fit(churn_model.prepare_features(frame.head(500)), churn_model.labels(frame.head(500)))
    with pytest.raises(ValueError, match="MinMaxScaler"):
        CompiledPipeline.from_pipeline(other)


def test_stored_formula_answers_exactly_as_the_pipeline(
    frame: pd.DataFrame, fitted: Any, tmp_path: Path
) -> None:
    folder = churn_model.save_model_dir(fitted, tmp_path / "m")
    stored = json.loads((folder / churn_model.METADATA_FILE).read_text())["compiled"]
    loaded = churn_model.load_compiled_model(folder)
    assert loaded.version == "1" and loaded.threshold == 0.5
    got = loaded.formula.predict_proba(churn_model.prepare_records(records(frame)))
    expected = fitted.predict_proba(churn_model.prepare_features(frame))[:, 1]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    columns = churn_model.prepare_records(records(frame))
    computed = CompiledPipeline.from_pipeline(fitted).predict_proba(columns)
    assert np.array_equal(got, computed)  # JSON keeps every float64 bit
    model_bytes = (folder / churn_model.MODEL_FILE).read_bytes()
    assert stored["model_sha256"] == hashlib.sha256(model_bytes).hexdigest()


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda f: f.pop("blocks"), "not a compiled churn formula"),
        (lambda f: f["weights"].pop(), "model columns but"),
        (lambda f: f["blocks"][1].update(center=[0.0]), "center has 1 values"),
        (lambda f: f["blocks"][0].update(kind="bucketize"), "kind 'bucketize'"),
    ],
)
def test_from_dict_refuses_a_damaged_formula(fitted: Any, damage: Any, match: str) -> None:
    formula = CompiledPipeline.from_pipeline(fitted).to_dict()
    damage(formula)
    with pytest.raises(ValueError, match=match):
        CompiledPipeline.from_dict(formula)


def test_a_formula_is_not_served_for_another_model_file(
    frame: pd.DataFrame, fitted: Any, tmp_path: Path
) -> None:
    folder = churn_model.save_model_dir(fitted, tmp_path / "m")
    other = churn_model.train_model(frame.head(600), seed=4)[0]
    meta = (folder / churn_model.METADATA_FILE).read_text()
    churn_model.save_model_dir(other, folder)
    (folder / churn_model.METADATA_FILE).write_text(meta)  # the old formula beside the new model file
    with pytest.raises(ValueError, match="written for another model.skops"):
        churn_model.load_compiled_model(folder)
    with pytest.raises(ValueError, match="written for another model.skops"):
        serving.create_app(serving.ServiceConfig(str(folder)))


def test_service_loads_each_kind_of_folder_with_the_same_answers(
    frame: pd.DataFrame, fitted: Any, tmp_path: Path
) -> None:
    other = churn_model.build_pipeline().set_params(columns__numbers=MinMaxScaler())
    other.fit(churn_model.prepare_features(frame.head(400)), churn_model.labels(frame.head(400)))
    old = churn_model.save_model_dir(fitted, tmp_path / "old")  # written before formulas were stored
    meta = json.loads((old / churn_model.METADATA_FILE).read_text())
    del meta["compiled"]
    (old / churn_model.METADATA_FILE).write_text(json.dumps(meta))
    cases = [  # (folder, inference asked, engine expected)
        (churn_model.save_model_dir(other, tmp_path / "other"), "compiled", "sklearn"),  # not compiled
        (churn_model.save_model_dir(fitted, tmp_path / "new"), "compiled", "compiled"),
        (old, "compiled", "compiled"),
        (old, "sklearn", "sklearn"),
    ]
    rows, log = frame.iloc[10:15], logging.getLogger("test-fastpath")
    for folder, inference, engine in cases:
        loaded = serving._load_scorer(folder, inference, log)
        assert loaded.engine == engine, folder
        expected = churn_model.load_model_dir(folder).predict_proba(rows)
        np.testing.assert_allclose(loaded.score(records(rows)), expected, rtol=0, atol=1e-12)
    with pytest.raises(LookupError, match="no compiled formula"):
        churn_model.load_compiled_model(tmp_path / "other")
    with pytest.raises(ValueError, match="inference must be one of"):
        serving.ServiceConfig("unused", inference="onnx")


def test_fast_path_starts_and_answers_without_scikit_learn_or_pandas(
    fitted: Any, frame: pd.DataFrame, tmp_path: Path
) -> None:
    """A worker that serves the stored formula never imports scikit-learn (most of its start-up),
    nor pandas when it answers a JSON request (about 0.7 s at its first request)."""
    folder = churn_model.save_model_dir(fitted, tmp_path / "m")
    blank = records(frame[frame["total_charges"].isna()].head(1)) + records(frame.head(2))
    code = (
        "import json, sys; from ds500 import serving; from fastapi.testclient import TestClient; "
        f"app = serving.create_app(serving.ServiceConfig({str(folder)!r})); "
        f"answer = TestClient(app).post('/predict', json={{'instances': {blank!r}}}); "
        "heavy = {m.split('.')[0] for m in sys.modules} & {'sklearn', 'skops', 'pandas'}; "
        "print(app.state.inference, answer.status_code, len(answer.json()['predictions']), sorted(heavy))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(serving.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    last = out.stdout.splitlines()[-1].split()  # the lines before are the request log
    assert last == ["compiled", "200", "3", "[]"], out.stdout[-2000:] + out.stderr[-2000:]


@pytest.mark.parametrize(
    "values",
    [
        [1, 2.5, None, 0], [29.85, float("nan"), np.float64(3.5)],  # plain numbers, and nulls
        ["29.85", " ", 3], [True, 1, 0.5], [np.int64(7)],  # through pandas
    ],
)
def test_numbers_convert_as_pandas_does(values: list[Any]) -> None:
    """Plain numbers skip pandas; text, booleans and NumPy integers go through it: same floats."""
    expected = np.asarray(pd.to_numeric(np.asarray(values, dtype=object), errors="coerce"), dtype=float)
    np.testing.assert_array_equal(churn_model._numbers(values), expected)


def test_workers_share_a_socket_named_tcp() -> None:
    config = serving.ServiceConfig("unused", port=serving.free_port(), host="127.0.0.1")
    with serving._tcp_socket(config) as sock:
        assert sock.proto == socket.IPPROTO_TCP  # so asyncio sets TCP_NODELAY on accepted connections
        assert sock.get_inheritable()
