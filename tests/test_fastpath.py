"""Tests for the service's fast path: same answers as scikit-learn, same checks as pandas."""

from __future__ import annotations

import logging
import math
import socket
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


def test_service_falls_back_to_sklearn_with_the_same_answers(frame: pd.DataFrame, fitted: Any) -> None:
    other = churn_model.build_pipeline().set_params(columns__numbers=MinMaxScaler())
    other.fit(churn_model.prepare_features(frame.head(400)), churn_model.labels(frame.head(400)))
    rows, log = frame.iloc[10:15], logging.getLogger("test-fastpath")
    for pipeline, engine in ((other, "sklearn"), (fitted, "compiled")):  # another scaler is not compiled
        model = churn_model.LoadedModel(pipeline, version="x", threshold=0.5)
        score, name = serving._scorer(model, "compiled", log)
        assert name == engine
        np.testing.assert_allclose(score(records(rows)), model.predict_proba(rows), rtol=0, atol=1e-12)
    assert serving._scorer(churn_model.LoadedModel(fitted, "x", 0.5), "sklearn", log)[1] == "sklearn"
    with pytest.raises(ValueError, match="inference must be one of"):
        serving.ServiceConfig("unused", inference="onnx")


def test_workers_share_a_socket_named_tcp() -> None:
    config = serving.ServiceConfig("unused", port=serving.free_port(), host="127.0.0.1")
    with serving._tcp_socket(config) as sock:
        assert sock.proto == socket.IPPROTO_TCP  # so asyncio sets TCP_NODELAY on accepted connections
        assert sock.get_inheritable()
