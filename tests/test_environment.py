"""ds500.setup: seeds, validation, offline guard, versions, and no heavy imports."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ds500
from ds500 import environment, offline
from ds500.cloud import CloudSetupError
from ds500.environment import LabContext, seed_everything, setup

SHARED = Path(__file__).resolve().parents[1] / "shared"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """setup() changes process state: restore env vars and remove the guard afterwards."""
    for name in ("PYTHONHASHSEED", "TF_CPP_MIN_LOG_LEVEL", "NO_GCE_CHECK"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])  # remembered and restored
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(offline, "_we_set_no_gce_check", False)
    offline.uninstall()
    yield
    offline.uninstall()


def _draw() -> tuple[float, float]:
    return random.random(), float(np.random.rand())


def test_same_seed_same_numbers() -> None:
    first = setup(7, quiet=True, offline=False)
    a = (*_draw(), first.rng.random())
    second = setup(7, quiet=True, offline=False)
    b = (*_draw(), second.rng.random())
    assert a == b
    third = setup(8, quiet=True, offline=False)
    assert (*_draw(), third.rng.random()) != a
    assert os.environ["PYTHONHASHSEED"] == "8"


def test_context_fields() -> None:
    ctx = setup(3, quiet=True, offline=False, project_id="my-project-1", region="europe-west4")
    assert isinstance(ctx, LabContext) and ds500.LabContext is LabContext
    assert (ctx.seed, ctx.run_on_gcp, ctx.project_id, ctx.region) == (
        3,
        False,
        "my-project-1",
        "europe-west4",
    )
    assert ctx.offline is False and ctx.on_colab is False
    assert isinstance(ctx.rng, np.random.Generator)
    assert ctx.accelerator.split(" ")[0] in {"CPU", "GPU", "TPU"}
    assert os.environ["NO_GCE_CHECK"] == "true"


def test_versions_dict() -> None:
    ctx = setup(quiet=True, offline=False)
    assert set(ctx.versions) == set(environment.REPORTED_PACKAGES)
    assert ctx.versions["numpy"] == np.__version__
    assert all(isinstance(v, str) and v for v in ctx.versions.values())
    assert environment.package_versions(("no-such-distribution-ds500",)) == {
        "no-such-distribution-ds500": "not installed"
    }
    with pytest.raises(TypeError, match="distribution names"):
        environment.package_versions("numpy")  # type: ignore[arg-type]


def test_report_and_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    setup(42, offline=False)
    out = capsys.readouterr().out
    assert out.startswith(f"ds500 {ds500.__version__} · Python ")
    for needle in ("accelerator:", "offline:", "RUN_ON_GCP=False", "numpy ", "seed:         42"):
        assert needle in out
    setup(42, offline=False, quiet=True)
    assert capsys.readouterr().out == ""


def test_offline_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DS500_OFFLINE", "1")
    assert setup(quiet=True).offline is True and offline.is_installed()
    assert setup(quiet=True, offline=False).offline is False and not offline.is_installed()
    monkeypatch.delenv("DS500_OFFLINE")
    assert setup(quiet=True).offline is False
    assert setup(quiet=True, offline=True).offline is True and offline.is_installed()


def test_run_on_gcp_with_guard_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CloudSetupError, match="offline guard"):
        setup(quiet=True, run_on_gcp=True, project_id="my-project-1", offline=True)
    monkeypatch.setenv("DS500_OFFLINE", "1")
    with pytest.raises(CloudSetupError, match="DS500_OFFLINE=1"):
        setup(quiet=True, run_on_gcp=True, project_id="my-project-1")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": -1}, ValueError, "between 0"),
        ({"seed": 2**32}, ValueError, "between 0"),
        ({"seed": 1.5}, TypeError, "whole number"),
        ({"seed": "42"}, TypeError, "whole number"),
        ({"seed": True}, TypeError, "whole number"),
        ({"run_on_gcp": "False"}, TypeError, "no quotes"),
        ({"run_on_gcp": 1}, TypeError, "True or False"),
        ({"offline": "yes"}, TypeError, "offline"),
        ({"quiet": 1}, TypeError, "quiet"),
        ({"region": "us-central1-a"}, ValueError, "zone"),
        ({"project_id": "My Project"}, ValueError, "PROJECT_ID"),
        ({"project_id": None}, TypeError, "project_id"),
    ],
)
def test_setup_bad_input(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        setup(**kwargs)
    assert not offline.is_installed()


@pytest.mark.parametrize("bad", [-3, "7", 7.0, None, False])
def test_seed_everything_bad_input(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        seed_everything(bad)


def test_seed_everything_accepts_numpy_int() -> None:
    seed_everything(np.int64(5))  # type: ignore[arg-type]
    assert os.environ["PYTHONHASHSEED"] == "5"


def test_seed_everything_seeds_imported_frameworks() -> None:
    torch = pytest.importorskip("torch")
    seed_everything(11)
    a = torch.rand(3)
    seed_everything(11)
    assert torch.equal(a, torch.rand(3))


def test_seed_everything_seeds_tensorflow() -> None:
    tf = pytest.importorskip("tensorflow")
    seed_everything(11)
    a = tf.random.uniform((3,)).numpy()
    seed_everything(11)
    assert np.array_equal(a, tf.random.uniform((3,)).numpy())


def test_plot_style_applied() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    setup(quiet=True, offline=False)
    assert matplotlib.rcParams["axes.grid"] is True
    assert tuple(matplotlib.rcParams["figure.figsize"]) == (7.0, 4.0)


def test_lab_context_cloud_is_a_dry_run() -> None:
    pytest.importorskip("google.cloud.aiplatform")
    ctx = setup(quiet=True, offline=True)  # guard on: building the context sends nothing
    cloud_ctx = ctx.cloud(staging_bucket="gs://ds500-local-bucket")
    assert cloud_ctx.dry_run and cloud_ctx.project_id == "ds500-local"
    assert cloud_ctx.staging_bucket == "gs://ds500-local-bucket"


def test_setup_imports_no_framework() -> None:
    """import ds500; ds500.setup() must not import TensorFlow, torch or the cloud SDK."""
    code = (
        "import sys, ds500; ctx = ds500.setup(); "
        "heavy = [m for m in ('tensorflow', 'torch', 'keras', 'google.cloud.aiplatform', "
        "'google.cloud.bigquery') if m in sys.modules]; "
        "assert not heavy, heavy; assert ctx.offline; print('OK', ctx.accelerator)"
    )
    env = {**os.environ, "PYTHONPATH": str(SHARED), "DS500_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "OK " in result.stdout and "offline:      guard on" in result.stdout
