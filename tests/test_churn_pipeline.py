"""Tests for ds500.churn_pipeline: build, compile, a local run through the gate, bad data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ds500 import churn_model, churn_pipeline, fixtures


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "churn.csv"
    fixtures.load("telco_churn").head(2000).to_csv(path, index=False)
    return path


def test_compile_has_the_gate_and_parameters(tmp_path: Path) -> None:
    spec = yaml.safe_load(
        churn_pipeline.compile_pipeline(tmp_path / "p.yaml", base_image="img:1").read_text()
    )
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert {"data_path", "registry", "min_roc_auc", "seed"} <= set(params)
    tasks = spec["root"]["dag"]["tasks"]
    assert {"validate-data", "train-model", "evaluate-model", "condition-branches-1"} <= set(tasks)
    text = json.dumps(spec)
    assert "min_roc_auc" in text and "img:1" in text and "register-model" in text


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="base_image"):
        churn_pipeline.build_components("")
    with pytest.raises(ValueError, match=".yaml"):
        churn_pipeline.compile_pipeline(tmp_path / "p.txt")
    with pytest.raises(FileNotFoundError):
        churn_pipeline.run_locally(tmp_path / "none.csv", workdir=tmp_path)


def test_local_run_registers_with_lineage(data_csv: Path, tmp_path: Path) -> None:
    run = churn_pipeline.run_locally(data_csv, workdir=tmp_path, min_roc_auc=0.5)
    assert run.registered and run.model_dir is not None and 0.5 < run.roc_auc < 1
    lineage = json.loads((run.model_dir / "lineage.json").read_text())
    assert len(lineage["source_sha256"]) == 64
    model = churn_model.load_model_dir(run.model_dir)
    assert model.predict(fixtures.load("telco_churn").head(3))
    assert {"validate-data", "train-model", "evaluate-model", "register-model"} <= set(run.outputs())


def test_local_run_refuses_bad_data(data_csv: Path, tmp_path: Path) -> None:
    import pandas as pd

    bad = pd.read_csv(data_csv)
    bad.loc[3, "contract"] = "Weekly"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(RuntimeError, match="failed"):
        churn_pipeline.run_locally(tmp_path / "bad.csv", workdir=tmp_path)
    assert "unknown category" in (tmp_path / "kfp-local.log").read_text()
