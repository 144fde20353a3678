"""Accelerator choice: cheap description, and TPU -> GPU -> CPU fall-backs on a CPU machine."""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from ds500 import accelerators


def _has_real_accelerator() -> bool:
    return shutil.which("nvidia-smi") is not None or accelerators._tpu_hint() is not None


requires_cpu_only = pytest.mark.skipif(
    _has_real_accelerator(), reason="these checks describe a CPU-only machine"
)


def _fake_nvidia_smi(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return tmp_path


@pytest.fixture()
def no_tpu_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)


@requires_cpu_only
@pytest.mark.usefixtures("no_tpu_env")
def test_describe_on_cpu() -> None:
    text = accelerators.describe()
    assert text.startswith("CPU (") and "core" in text


def test_describe_tpu_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert accelerators.describe() == "TPU (Colab/Cloud TPU VM)"


@pytest.mark.usefixtures("no_tpu_env")
def test_describe_gpu_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if accelerators._tpu_hint() is not None:
        pytest.skip("a TPU device is present")
    folder = _fake_nvidia_smi(
        tmp_path,
        'echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)"\n'
        'echo "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2)"',
    )
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    assert accelerators.describe() == "GPU (NVIDIA H100 80GB HBM3 × 2)"


@pytest.mark.usefixtures("no_tpu_env")
def test_broken_or_slow_nvidia_smi_means_no_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _fake_nvidia_smi(tmp_path, "echo 'NVIDIA-SMI has failed' >&2; exit 9")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    assert accelerators._nvidia_gpus() == []
    _fake_nvidia_smi(tmp_path, "sleep 5")
    start = time.perf_counter()
    assert accelerators._nvidia_gpus(timeout_s=0.3) == []
    assert time.perf_counter() - start < 3


def test_missing_nvidia_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert accelerators._nvidia_gpus() == []


@requires_cpu_only
def test_tf_strategy_falls_back_to_default_on_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    tf = pytest.importorskip("tensorflow")  # the import (seconds) is not what is timed
    start = time.perf_counter()
    strategy = accelerators.tf_strategy()
    elapsed = time.perf_counter() - start
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert elapsed < 5  # the failed TPU probe takes about 0.3 s
    out = capsys.readouterr().out
    assert "default strategy" in out and "no TPU" in out and "no GPU" in out
    accelerators.tf_strategy(verbose=False)
    assert capsys.readouterr().out == ""


@requires_cpu_only
@pytest.mark.usefixtures("no_tpu_env")
def test_tf_strategy_without_tpu_name() -> None:
    tf = pytest.importorskip("tensorflow")
    assert accelerators.tf_strategy(None, verbose=False) is tf.distribute.get_strategy()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tpu": 3}, TypeError, "TPU name"),
        ({"tpu": ""}, ValueError, "must not be empty"),
        ({"tpu": "  "}, ValueError, "must not be empty"),
        ({"verbose": "yes"}, TypeError, "True or False"),
    ],
)
def test_tf_strategy_bad_input(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        accelerators.tf_strategy(**kwargs)


@requires_cpu_only
def test_torch_device_is_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    device = accelerators.torch_device()
    assert device == torch.device("cpu")
    assert "Using the CPU" in capsys.readouterr().out


def test_torch_device_bad_input() -> None:
    with pytest.raises(TypeError, match="True or False"):
        accelerators.torch_device(verbose=1)  # type: ignore[arg-type]


def test_missing_framework_names_the_extra_to_install() -> None:
    from ds500.accelerators import _import_framework

    with pytest.raises(ImportError, match=r'tf_strategy needs TensorFlow: pip install "ds500\[tf\]"'):
        _import_framework("ds500_no_such_framework", "tf_strategy needs TensorFlow", "tf")
