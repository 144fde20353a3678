"""Execute notebooks with papermill and measure them (``nox -s notebooks``, ``bench``).

Each notebook runs in its own ``papermill`` process, with the kernel's working
directory set to the notebook's folder (as in JupyterLab), so one lab cannot
disturb another. Peak memory is the largest resident set of that process tree,
read from the operating system when the process ends.

The child process is this module (``python -m ds500.execute``), which calls papermill's
``execute_notebook`` with an immediate kernel shutdown; see :func:`_papermill` for why.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunResult:
    """One notebook execution."""

    notebook: str
    ok: bool
    seconds: float
    peak_rss_mb: float
    error: str = ""


def run_notebook(
    path: Path | str,
    out_dir: Path | str,
    parameters: Mapping[str, object] | None = None,
    timeout: float = 900,
) -> RunResult:
    """Execute one notebook into ``out_dir`` and measure wall time and peak RSS.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``timeout`` is not positive, or a parameter is not a JSON value (they
            travel to the papermill process as JSON, which keeps their types).
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such notebook")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    for name, value in (parameters or {}).items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"parameter {name}={value!r}: use a number, string, bool, None or a list/dict of them"
            ) from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = {"input": str(path), "output": str((out_dir / path.name).resolve()), "cwd": str(path.parent),
            "parameters": dict(parameters or {})}
    command = [sys.executable, "-m", "ds500.execute", json.dumps(spec)]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(process.stdout), daemon=True)
    reader.start()
    killer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))  # kernel too
    killer.start()
    # os.wait4 reports the largest resident set of papermill and the kernel it waited for.
    _, status, usage = os.wait4(process.pid, 0)
    killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=10)
    seconds = time.perf_counter() - start
    ok = process.returncode == 0
    error = ""
    if not ok:
        error = _last_error("".join(chunks))
        if seconds >= timeout:
            error += f"\ntimed out after {timeout:.0f} s"
    return RunResult(path.name, ok, seconds, usage.ru_maxrss / 1024, error)


def run_many(
    paths: Iterable[Path | str], out_dir: Path | str, jobs: int = 2
) -> list[RunResult]:
    """Execute notebooks, ``jobs`` at a time; results keep the input order."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    paths = list(paths)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda p: run_notebook(p, out_dir), paths))


def format_table(results: list[RunResult]) -> str:
    """A plain-text table: notebook, status, seconds, peak MB."""
    lines = [f"{'notebook':<40} {'status':<6} {'seconds':>8} {'peak MB':>8}"]
    for r in results:
        lines.append(
            f"{r.notebook:<40} {'ok' if r.ok else 'FAIL':<6} {r.seconds:>8.1f} {r.peak_rss_mb:>8.0f}"
        )
    return "\n".join(lines)


def _last_error(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return "\n".join(lines[-15:])


def _papermill(spec: str) -> None:
    """Execute one notebook as :func:`run_notebook`'s child process describes it (JSON).

    Why not ``python -m papermill``: its command line cannot set nbclient's
    ``shutdown_kernel``, and the default, graceful shutdown waits while a kernel that
    imported TensorFlow, PyTorch and the Google Cloud SDKs tears its interpreter down
    (3.5 s of 20 for a one-cell notebook of those imports, measured 2026-12-03), which
    no notebook needs: it is complete when its last cell ends. ``"immediate"`` sends
    SIGKILL to the kernel's process group at once; a process a lab left running is
    stopped, as with the graceful shutdown (tested).

    Why ``request_save_on_cell_execute=False``: by default papermill writes the whole
    notebook to disk before and after every cell, and the next cell waits for it. For a
    lab of 45 code cells whose outputs hold its plots, that is 90 writes of up to 700 kB
    (28 ms each, measured 2026-12-03): about 2 s of every lab's time, which a student in
    Jupyter never pays. The notebook is written once at the end, also when a cell fails
    (with the error in that cell); a notebook stopped by :func:`run_notebook`'s timeout
    leaves no output file, and its row says it timed out.
    """
    import papermill

    job = json.loads(spec)
    papermill.execute_notebook(
        job["input"], job["output"], parameters=job["parameters"], cwd=job["cwd"], kernel_name="python3",
        progress_bar=False, shutdown_kernel="immediate", request_save_on_cell_execute=False,
    )


if __name__ == "__main__":
    _papermill(sys.argv[1])
