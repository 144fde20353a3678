"""Unit tests of ds500.execute: papermill runs, timings, peak memory, failures."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from ds500 import execute


def notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("SIZE = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nbformat.write(nb, path)
    return path


def test_runs_in_the_notebook_folder_with_parameters(tmp_path: Path) -> None:
    nb = notebook(
        tmp_path / "a.ipynb",
        "import os, pathlib\npathlib.Path('where.txt').write_text(os.getcwd() + ' ' + str(SIZE))",
    )
    [result] = execute.run_many([nb], tmp_path / "out", jobs=1)
    assert result.ok and result.error == ""
    assert 0 < result.seconds < 120 and result.peak_rss_mb > 20
    assert (tmp_path / "out" / "a.ipynb").exists()
    assert (tmp_path / "where.txt").read_text() == f"{tmp_path} 1"
    again = execute.run_notebook(nb, tmp_path / "out", parameters={"SIZE": 7})
    assert again.ok and (tmp_path / "where.txt").read_text().endswith(" 7")


def test_failure_and_timeout_are_reported_not_raised(tmp_path: Path) -> None:
    broken = notebook(tmp_path / "broken.ipynb", "raise ValueError('no churn column')")
    slow = notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(60)")
    failed = execute.run_notebook(broken, tmp_path / "out")
    assert not failed.ok and "no churn column" in failed.error
    assert "no churn column" in (tmp_path / "out" / "broken.ipynb").read_text()  # written with the error
    late = execute.run_notebook(slow, tmp_path / "out", timeout=8)
    assert not late.ok and "timed out after 8 s" in late.error and late.seconds < 30
    table = execute.format_table([failed, late])
    assert table.splitlines()[1].split()[:2] == ["broken.ipynb", "FAIL"]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such notebook"):
        execute.run_notebook(tmp_path / "missing.ipynb", tmp_path)
    with pytest.raises(ValueError, match=r"parameter WORK=PosixPath\('/tmp'\): use a number"):
        execute.run_notebook(notebook(tmp_path / "p.ipynb", "1"), tmp_path, parameters={"WORK": Path("/tmp")})
    with pytest.raises(ValueError, match="timeout must be positive"):
        execute.run_notebook(notebook(tmp_path / "n.ipynb", "1"), tmp_path, timeout=0)
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        execute.run_many([], tmp_path, jobs=0)


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its reaper counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_kernel_and_what_it_left_running_are_stopped(tmp_path: Path) -> None:
    nb = notebook(
        tmp_path / "leaves.ipynb",
        "import os, subprocess, pathlib\nchild = subprocess.Popen(['sleep', '300'])\n"
        "pathlib.Path('pids').write_text(f'{os.getpid()} {child.pid}')",
    )
    result = execute.run_notebook(nb, tmp_path / "out")
    assert result.ok, result.error
    assert not any(_alive(int(pid)) for pid in (tmp_path / "pids").read_text().split())
