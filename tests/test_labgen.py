"""Unit tests of lab generation (ds500.labgen) and the catalogue (ds500.catalog)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest

from ds500 import catalog, labgen
from ds500.cli import main


def region(*lines: str) -> str:
    return "\n".join(lines)


def test_assignments_become_ellipsis_stubs() -> None:
    stub = labgen.stub_region(region("rate = df.churn.mean()", "a, b = 1, 2", "rate += 1"), "Exercise 1")
    assert stub.splitlines() == [
        "rate = ...  # YOUR CODE HERE",
        "a = ...  # YOUR CODE HERE",
        "b = ...  # YOUR CODE HERE",
    ]


def test_function_keeps_signature_and_docstring() -> None:
    source = region(
        "def precision_at_k(y_true, scores,",
        "                   k: int) -> float:",
        '    """Share of churners among the top k."""',
        "    order = scores.argsort()[::-1]",
        "    return y_true[order[:k]].mean()",
    )
    stub = labgen.stub_region(source, "Exercise 3")
    assert "order" not in stub and "return" not in stub
    assert stub.splitlines()[:3] == source.splitlines()[:3]
    assert 'raise NotImplementedError("Exercise 3: write the body of precision_at_k()")' in stub
    ast.parse(stub)


def test_one_line_function_and_statements_only() -> None:
    assert labgen.stub_region("def f(x): return 2 * x", "Exercise 2").startswith("def f(x):")
    only = labgen.stub_region("print('hello')", "Exercise 4")
    assert only == 'raise NotImplementedError("Exercise 4: replace this line with your code")'


def test_indented_region_inside_function_body() -> None:
    cell = region(
        "def score(x):",
        "    ### BEGIN SOLUTION",
        "    y = x * 2",
        "    return y",
        "    ### END SOLUTION",
    )
    out = labgen.strip_solutions(cell, "Exercise 5")
    assert out.splitlines()[1] == "    y = ...  # YOUR CODE HERE"
    ast.parse(out)
    returning = labgen.strip_solutions(
        region("def f():", "    ### BEGIN SOLUTION", "    return 1", "    ### END SOLUTION"), "Exercise 6"
    )
    assert "    raise NotImplementedError" in returning
    ast.parse(returning)


def test_code_outside_regions_is_kept_and_several_regions_work() -> None:
    cell = region(
        "import numpy as np",
        "### BEGIN SOLUTION",
        "a = 1",
        "### END SOLUTION",
        "print('between')",
        "### BEGIN SOLUTION",
        "b = 2",
        "### END SOLUTION",
    )
    assert labgen.strip_solutions(cell, "Exercise 1").splitlines() == [
        "import numpy as np",
        "a = ...  # YOUR CODE HERE",
        "print('between')",
        "b = ...  # YOUR CODE HERE",
    ]


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        (region("### BEGIN SOLUTION", "a = 1"), "never closed"),
        (region("a = 1", "### END SOLUTION"), "without a matching"),
        (region("### BEGIN SOLUTION", "### BEGIN SOLUTION", "### END SOLUTION"), "nested"),
    ],
)
def test_broken_markers_are_reported(cell: str, problem: str) -> None:
    with pytest.raises(labgen.LabgenError, match=problem):
        labgen.strip_solutions(cell, "Exercise 1", "x.ipynb, cell abc")


def _solution_notebook(lab: int = 1, slug: str = "demo") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["ds500"] = {
        "lab": lab, "slug": slug, "title": "Demo", "objectives": ["o"],
        "exam_guide": {"2024-10": ["1.1"], "2026-06": ["1.1"]},
        "exercises": {"1": {"title": "t", "points": 1}},
    }
    md = nbformat.v4.new_markdown_cell("### Exercise 1: answer")
    md.id = "ex1-task"
    code = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION")
    code.id = "ex1-solution"
    code.outputs = [nbformat.v4.new_output("stream", text="42\n")]
    code.execution_count = 3
    check = nbformat.v4.new_code_cell("assert answer == 42")
    check.id = "ex1-check"
    nb.cells = [md, code, check]
    return nb


def test_build_lab_keeps_ids_and_strips_outputs() -> None:
    solution = _solution_notebook()
    lab = labgen.build_lab(solution)
    assert [c.id for c in lab.cells] == [c.id for c in solution.cells]
    assert lab.cells[1].source == "answer = ...  # YOUR CODE HERE"
    assert lab.cells[1].outputs == [] and lab.cells[1].execution_count is None
    assert solution.cells[1].outputs, "the input notebook must not be modified"


def test_solution_before_any_exercise_heading_is_an_error() -> None:
    nb = _solution_notebook()
    nb.cells = nb.cells[1:]
    with pytest.raises(labgen.LabgenError, match="before any"):
        labgen.build_lab(nb, "x.ipynb")


def _repo(tmp_path: Path) -> Path:
    (tmp_path / "solutions").mkdir()
    nbformat.write(_solution_notebook(), tmp_path / "solutions" / "01_demo.ipynb")
    return tmp_path


def test_build_labs_writes_then_check_is_clean_and_deterministic(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    assert labgen.build_labs(root, check=True).stale  # nothing generated yet
    first = labgen.build_labs(root)
    assert set(first.written) == {"solutions/01_demo.ipynb", "labs/01_demo.ipynb"}
    assert labgen.build_labs(root, check=True).stale == ()
    assert labgen.build_labs(root).written == ()  # a second run changes nothing
    stored = json.loads((root / "solutions" / "01_demo.ipynb").read_text())
    assert all(not c.get("outputs") for c in stored["cells"] if c["cell_type"] == "code")


def test_check_reports_edited_lab_and_orphans(tmp_path: Path, capsys) -> None:
    root = _repo(tmp_path)
    labgen.build_labs(root)
    lab = root / "labs" / "01_demo.ipynb"
    lab.write_text(lab.read_text().replace("YOUR CODE HERE", "edited by hand"))
    (root / "labs" / "02_orphan.ipynb").write_text("{}")
    assert main(["--root", str(root), "build-labs", "--check"]) == 1
    out = capsys.readouterr().out
    assert "labs/01_demo.ipynb" in out and "02_orphan.ipynb (no solution)" in out


def test_only_builds_the_matching_labs(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "solutions" / "03_broken.ipynb").write_text("{not json")  # another author's work in progress
    assert main(["--root", str(root), "build-labs", "--only", "01_*"]) == 0
    assert (root / "labs" / "01_demo.ipynb").exists() and not (root / "labs" / "03_broken.ipynb").exists()
    (root / "labs" / "02_orphan.ipynb").write_text("{}")
    assert labgen.build_labs(root, check=True, only="01_*").stale == ()


def test_unreadable_solution_gives_a_clear_cli_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "03_broken.ipynb").write_text("{not json")
    assert main(["--root", str(tmp_path), "build-labs"]) == 2
    assert "03_broken.ipynb is not a readable notebook" in capsys.readouterr().err


def test_catalog_reads_metadata_and_writes_readme_table(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    infos = catalog.labs(root / "solutions")
    assert [i.stem for i in infos] == ["01_demo"]
    assert infos[0].colab_url.endswith("/labs/01_demo.ipynb")
    readme = root / "README.md"
    readme.write_text(f"# T\n{catalog.TABLE_START}\nold\n{catalog.TABLE_END}\nrest\n")
    assert catalog.update_readme(readme, infos, check=True)
    assert "old" in readme.read_text()
    assert catalog.update_readme(readme, infos)
    assert f"| 01 | [Demo](labs/01_demo.ipynb) | 1.1 | {infos[0].minutes} |" in readme.read_text()
    assert "Exam guide (June 2026)" in readme.read_text()
    assert not catalog.update_readme(readme, infos)


def test_catalog_rejects_bad_metadata(tmp_path: Path) -> None:
    nb = _solution_notebook()
    del nb.metadata["ds500"]["objectives"]
    nbformat.write(nb, tmp_path / "01_demo.ipynb")
    with pytest.raises(catalog.CatalogError, match="lacks objectives"):
        catalog.read_lab(tmp_path / "01_demo.ipynb")
    nbformat.write(_solution_notebook(), tmp_path / "01_wrong_name.ipynb")
    with pytest.raises(catalog.CatalogError, match="should be named 01_demo.ipynb"):
        catalog.read_lab(tmp_path / "01_wrong_name.ipynb")
    readme = tmp_path / "README.md"
    readme.write_text("no markers")
    with pytest.raises(catalog.CatalogError, match="markers"):
        catalog.update_readme(readme, [])


def test_study_minutes_measures_reading_code_exercises_and_quiz() -> None:
    prose = {"cell_type": "markdown", "source": "word " * 2000 + "[a link](https://example.com/x/y/z)"}
    code = {"cell_type": "code", "metadata": {}, "source": "\n".join(["x = 1", "# a comment", ""] * 250)}
    check = {"cell_type": "code", "metadata": {"tags": ["check"]}, "source": "assert True\n" * 100}
    setup = {"cell_type": "code", "metadata": {"tags": ["setup"]}, "source": "import os\n" * 500}
    # 2002 words / 200 + 250 lines / 25 + 1 exercise x 8 + 10 questions x 1.5 = 43.0 -> 45
    assert catalog.study_minutes([prose, code, check, setup], questions=10) == 45
    assert catalog.study_minutes([], questions=0) == 5
