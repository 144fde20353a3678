"""The project's promises: README commands, CI, nox sessions, environment files."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def readme() -> str:
    return (ROOT / "README.md").read_text()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = re.findall(r"```bash\n(.+?)\n```", readme())
    test_command = next(c for c in commands if "nox -s tests" in c)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci, f".ci/run must call the README's test command {test_command!r}"
    assert "python -m pip install nox uv && nox -s lab" in commands


def test_nox_sessions_exist() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nox", "--list", "-f", str(ROOT / "noxfile.py")],
        capture_output=True, text=True, cwd=ROOT,
    )
    if done.returncode != 0 and "No module named nox" in done.stderr:
        listed = (ROOT / "noxfile.py").read_text()
        sessions = set(re.findall(r"^def (\w+)\(session", listed, re.M))
    else:
        sessions = set(re.findall(r"^[*-] (\w+)", done.stdout, re.M))
    assert {"lab", "tests", "labs", "notebooks", "bench", "lint", "colab"} <= sessions


def test_constraints_pin_torch_and_exclude_pipeline_components() -> None:
    pins = (ROOT / "constraints.txt").read_text().lower().replace("_", "-")
    assert re.search(r"^torch==2\.13\.0$", pins, re.M), "torch must stay pinned to the local CPU build"
    assert "google-cloud-pipeline-components" not in pins
    assert re.search(r"^tensorflow-cpu==", pins, re.M) and not re.search(r"^tensorflow==", pins, re.M)


def test_environment_yml_uses_the_constraints() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert "python=3.11" in text and "-c constraints.txt" in text and "conda-forge" in text


def test_console_script_help() -> None:
    done = subprocess.run([sys.executable, "-m", "ds500.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for command in ("build-labs", "lab-table", "coverage", "cheatsheet", "grade", "fixtures", "execute"):
        assert command in done.stdout
