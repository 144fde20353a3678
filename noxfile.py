"""Sessions for students, maintainers and CI.

    python -m pip install nox uv && nox -s lab      # students: JupyterLab on labs/
    python -m pip install nox uv && nox -s tests colab browser   # maintainers and CI: everything

Every session except ``colab`` shares ONE environment, ``.nox/ds500`` (about 4 GB
with TensorFlow and torch), built from ``pyproject.toml`` with the exact versions of
``constraints.txt``; it is rebuilt only when one of those two files changes. The
``colab`` session builds ``.nox/colab`` from Colab's published core versions.
Both are installed with uv when it is installed beside nox (``pip install nox uv``), else pip.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
ENV = ROOT / ".nox" / "ds500"
COLAB_ENV = ROOT / ".nox" / "colab"
LINTED = ["shared", "tests", "solutions", "labs", "noxfile.py"]
OFFLINE = {"DS500_OFFLINE": "1", "NO_GCE_CHECK": "true", "TF_CPP_MIN_LOG_LEVEL": "2"}

# Colab's runtime as published in googlecolab/backend-info (pip-freeze.txt, Aug 2026).
# Colab runs Python 3.13 and torch 2.11; here the session keeps Python 3.11 and the
# torch 2.13.0 CPU build that this machine holds, and TensorFlow as tensorflow-cpu.
COLAB_CORE = [
    "numpy==2.1.3",
    "pandas==2.2.3",
    "scikit-learn==1.6.1",
    "scipy==1.16.3",
    "matplotlib==3.10.0",
    "tensorflow-cpu==2.20.0",
    "keras==3.13.2",
    "torch==2.13.0",
    "ipykernel==6.17.1",
    "google-cloud-bigquery==3.43.0",
    "ipywidgets==7.7.1",
    "sqlglot==25.20.2",  # older than ds500 asks for: the setup cell upgrades it, as on Colab
    "duckdb==1.3.2",
]

nox.options.default_venv_backend = "none"
nox.options.sessions = ["tests"]


def _stamp(*files: Path) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _bin(env: Path, program: str) -> str:
    """Absolute path of a program in ``env``: nox looks programs up on its own PATH."""
    return str(env / ("Scripts" if os.name == "nt" else "bin") / program)


def _installer(python: str) -> list[str]:
    """The command that installs packages into ``python``'s environment: uv's pip, else pip.

    Why uv: it installs the same pinned set (constraints.txt pins all of it) in parallel;
    measured on the 2-core machine without compiling, ``.nox/ds500`` took 22 s with a cold
    uv cache and 7 s with a warm one, pip 5 min 5 s. Where ranges are left open (the colab
    session) uv's resolver may choose other versions than pip's: pyproject.toml's lower
    bounds must hold what the labs need.

    uv does not read pip's configuration, so what that says about where wheels lie (a
    machine's CPU build of torch) and which versions to cap is passed on: see :func:`_pip_settings`.
    """
    try:
        from uv import find_uv_bin

        uv = find_uv_bin()
    except (ImportError, FileNotFoundError):
        uv = shutil.which("uv")
    if uv is None:
        return [python, "-m", "pip", "install", "--quiet"]
    # No --compile-bytecode: see _env_vars, which lets Python compile what is imported.
    return [uv, "pip", "install", "--quiet", "--python", python, *_pip_settings()]


def _pip_settings() -> list[str]:
    """uv flags for pip's ``find-links`` and ``constraint`` settings (config files and ``PIP_*``)."""
    import re
    import subprocess

    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    flags = []
    for option in ("find-links", "constraint"):
        values = [v for found in re.findall(rf"\b{option}='([^']*)'", listed) for v in found.split()]
        values += os.environ.get(f"PIP_{option.upper().replace('-', '_')}", "").split()
        flags += [f"--{option}={value}" for value in dict.fromkeys(values)]
    return flags


def _env_vars(env: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The variables that activate ``env`` for a session's commands, plus ``extra``.

    ``PYTHONDONTWRITEBYTECODE`` is set empty, which Python reads as unset: every process
    (pytest, each kernel, each job a lab starts) then caches the bytecode of what it
    imports, and the next one loads it. Why: CI sets the variable, and uv installs
    without compiling. Compiling every file at install (uv's ``--compile-bytecode``, what
    pip does) took 83 s per environment on the 2-core machine; the labs import about a
    quarter of the files. With the variable set and nothing compiled, every process
    compiled TensorFlow again and the tests took 35 minutes instead of 16.
    """
    bin_dir = env / ("Scripts" if os.name == "nt" else "bin")
    variables = {
        "VIRTUAL_ENV": str(env),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONDONTWRITEBYTECODE": "",
    }
    variables.update(extra or {})
    return variables


def _shared_env(session: nox.Session) -> dict[str, str]:
    """Create or reuse ``.nox/ds500``; return the variables that activate it."""
    stamp_file = ENV / ".ds500-stamp"
    stamp = _stamp(ROOT / "pyproject.toml", ROOT / "constraints.txt")
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        session.log(f"building {ENV} (pyproject.toml or constraints.txt changed)")
        session.run(sys.executable, "-m", "venv", "--clear", str(ENV), external=True)
        session.run(
            *_installer(_bin(ENV, "python")), "-c", "constraints.txt", "-e", ".[all,dev]", external=True
        )
        stamp_file.write_text(stamp)
    return _env_vars(ENV)


def _jupyter_lab() -> list[str]:
    """The JupyterLab command of the student's session (the browser test starts the same)."""
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers
    return [_bin(ENV, "jupyter"), "lab", *as_root]


@nox.session(python=False)
def lab(session: nox.Session) -> None:
    """Open JupyterLab on labs/ (the student's command)."""
    env = _shared_env(session)
    session.run(*_jupyter_lab(), "--notebook-dir=labs", *session.posargs, env=env, external=True)


@nox.session(python=False)
def browser(session: nox.Session) -> None:
    """Open labs in JupyterLab in headless Chromium and run them as a student does."""
    env = _shared_env(session)
    chromium = os.environ.get("DS500_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        session.error("the browser test drives Debian's Chromium: install it with `apt-get install chromium`")
    env.update(DS500_CHROMIUM=chromium, DS500_JUPYTER_LAB=json.dumps(_jupyter_lab()))
    session.run(
        _bin(ENV, "pytest"), "-m", "browser", "-p", "no:cacheprovider", "tests/browser", *session.posargs,
        env=env, external=True,
    )


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Everything CI checks: generated files in sync, lint, unit and notebook tests."""
    env = _shared_env(session)
    offline = _env_vars(ENV, OFFLINE)
    session.run(_bin(ENV, "ds500"), "build-labs", "--check", env=env, external=True)
    session.run(_bin(ENV, "ds500"), "lab-table", "--check", env=env, external=True)
    session.run(_bin(ENV, "ds500"), "coverage", "--readme", "README.md", "--check", env=env, external=True)
    session.run(_bin(ENV, "ds500"), "cheatsheet", "--check", env=env, external=True)
    session.run(_bin(ENV, "ds500"), "fixtures", "verify", env=env, external=True)
    session.run(_bin(ENV, "ruff"), "check", *LINTED, env=env, external=True)
    workers = session.posargs or ["-n", "2"]
    session.run(_bin(ENV, "pytest"), *workers, "--durations=25", env=offline, external=True)  # the slowest


@nox.session(python=False)
def labs(session: nox.Session) -> None:
    """Regenerate labs/, the README's lab table and coverage matrix, and CHEATSHEET.md."""
    env = _shared_env(session)
    session.run(_bin(ENV, "ds500"), "build-labs", env=env, external=True)
    session.run(_bin(ENV, "ds500"), "lab-table", env=env, external=True)
    session.run(_bin(ENV, "ds500"), "coverage", "--readme", "README.md", env=env, external=True)
    session.run(_bin(ENV, "ds500"), "cheatsheet", env=env, external=True)


def _execute(session: nox.Session, venv: Path, jobs: int, out: str) -> None:
    """Execute the solutions (or the notebooks named after --) with ``ds500 execute``."""
    paths = session.posargs or sorted(str(p) for p in (ROOT / "solutions").glob("*.ipynb"))
    env = _env_vars(venv, OFFLINE)
    session.run(
        _bin(venv, "ds500"), "execute", "--jobs", str(jobs), "--out", out, *paths, env=env, external=True
    )


@nox.session(python=False)
def notebooks(session: nox.Session) -> None:
    """Execute every solution with papermill into build/executed/, two at a time."""
    _shared_env(session)
    _execute(session, ENV, jobs=2, out="build/executed")


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Wall time and peak memory of every solution, one at a time, then the lab 10 service's throughput."""
    _shared_env(session)
    _execute(session, ENV, jobs=1, out="build/bench")
    session.run(_bin(ENV, "python"), "-m", "ds500.loadtest", env=_env_vars(ENV, OFFLINE), external=True)


@nox.session(python=False)
def grade(session: nox.Session) -> None:
    """Grade submitted notebooks: nox -s grade -- submissions/ [--lab N] [--out grades/]."""
    env = _shared_env(session)
    if not session.posargs:
        session.error("name the submissions: nox -s grade -- submissions/ --lab 1 --out grades/")
    session.run(_bin(ENV, "ds500"), "grade", *session.posargs, env=env, external=True)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff on the helper package, the tests and the notebooks."""
    env = _shared_env(session)
    session.run(_bin(ENV, "ruff"), "check", *LINTED, env=env, external=True)


@nox.session(python=False)
def colab(session: nox.Session) -> None:
    """Execute every solution on Colab's library versions, installed as the setup cell does."""
    stamp_file = COLAB_ENV / ".ds500-stamp"
    stamp = _stamp(ROOT / "pyproject.toml", ROOT / "noxfile.py")
    python = _bin(COLAB_ENV, "python")
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        session.run(sys.executable, "-m", "venv", "--clear", str(COLAB_ENV), external=True)
        pip = _installer(python)
        # 1. What Colab has preinstalled.
        session.run(*pip, *COLAB_CORE, external=True)
        # 2. What the labs' setup cells add: ds500 with each lab's COLAB_EXTRAS, no
        #    constraints, so pip keeps Colab's versions wherever the ranges allow.
        extras = _colab_extras(session)
        session.run(*pip, "-e", f".[{','.join(sorted(extras))}]", external=True)
        # 3. The executor (papermill is not on Colab; it only runs the notebooks here).
        session.run(*pip, "papermill", external=True)
        stamp_file.write_text(stamp)
    env = _env_vars(COLAB_ENV, OFFLINE)
    session.run(python, "-c", "import numpy, pandas; print('numpy', numpy.__version__, "
                "'pandas', pandas.__version__)", env=env, external=True)
    _execute(session, COLAB_ENV, jobs=2, out="build/colab")


def _colab_extras(session: nox.Session) -> set[str]:
    """The union of COLAB_EXTRAS over all labs, read from their parameters cells."""
    import re

    extras: set[str] = set()
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                found = re.search(r'^COLAB_EXTRAS\s*=\s*"([^"]*)"', "".join(cell["source"]), re.M)
                if not found:
                    session.error(f"{path.name}: the parameters cell lacks COLAB_EXTRAS")
                extras.update(e.strip() for e in found.group(1).split(",") if e.strip())
    return extras
