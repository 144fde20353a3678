"""The notebook contract of CONTRIBUTING.md, one test per point, for every lab."""

from __future__ import annotations

import ast
import re

import pytest
import tomllib

from ds500 import catalog, cheatsheet, examguide, labgen, quiz

from conftest import ROOT, SOLUTIONS, read, tags


def test_there_are_labs() -> None:
    assert [p.name for p in SOLUTIONS][:2] == ["00_start_here.ipynb", "01_problem_framing.ipynb"]


# 1. Metadata -----------------------------------------------------------------
def test_metadata(solution_path) -> None:
    info = catalog.read_lab(solution_path)
    nb = read(solution_path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert 30 <= info.minutes <= 100, f"{info.stem} measures {info.minutes} minutes of study: split it"
    assert info.objectives and all(isinstance(o, str) and o for o in info.objectives)
    for version in examguide.VERSIONS:
        known = set(examguide.load(version).subsection_ids())
        ids = info.exam_guide.get(version)
        assert ids, f"no exam-guide sections for version {version}"
        assert set(ids) <= known, f"unknown subsection ids {set(ids) - known}"
    assert list(info.exercises) == [str(n) for n in range(1, len(info.exercises) + 1)]
    assert all(int(e["points"]) > 0 and e["title"] for e in info.exercises.values())


# 2. Opening cells ------------------------------------------------------------
def test_opening_cells(solution_path) -> None:
    nb = read(solution_path)
    info = catalog.read_lab(solution_path)
    title = nb.cells[0]
    assert title.cell_type == "markdown"
    assert title.source.startswith(f"# Lab {info.number:02d}: {info.title}\n")
    assert info.colab_url in title.source
    code = [c for c in nb.cells if c.cell_type == "code"]
    intro = "\n".join(c.source for c in nb.cells[: nb.cells.index(code[0])] if c.cell_type == "markdown")
    for heading in ("## Overview", "## Learning objectives", "## Exam guide sections", "## Costs"):
        assert re.search(rf"^{heading}\s*$", intro, re.M), f"missing {heading!r} before the code"
    for objective in info.objectives:
        assert objective in intro, f"objective not shown in the notebook: {objective!r}"
    for version in examguide.VERSIONS:
        for sub in info.exam_guide[version]:
            assert sub in intro, f"subsection {sub} ({version}) not named under Exam guide sections"
    assert tags(code[0]) == ["parameters"]
    assert tags(code[1]) == ["setup"]
    assert code[1].source == labgen.SETUP_CELL


def test_parameters_cell(solution_path) -> None:
    params = next(c for c in read(solution_path).cells if "parameters" in tags(c))
    values = {}
    for node in ast.parse(params.source).body:
        assert isinstance(node, ast.Assign), "the parameters cell holds only assignments"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values["RUN_ON_GCP"] is False
    assert values["PROJECT_ID"] == ""
    assert values["REGION"] == "us-central1"
    assert isinstance(values["SEED"], int)
    extras = {e.strip() for e in values["COLAB_EXTRAS"].split(",") if e.strip()}
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras <= set(declared) - {"tf", "torch", "all", "dev"}, (
        "COLAB_EXTRAS names extras of ds500 other than what Colab already has"
    )


# 3. Exercises ----------------------------------------------------------------
def test_exercises_are_task_solution_check(solution_path) -> None:
    nb = read(solution_path)
    info = catalog.read_lab(solution_path)
    found = []
    for i, cell in enumerate(nb.cells):
        heading = re.match(r"### Exercise (\d+): \S", cell.source) if cell.cell_type == "markdown" else None
        if not heading:
            continue
        n = int(heading.group(1))
        found.append(n)
        task, answer, check = nb.cells[i], nb.cells[i + 1], nb.cells[i + 2]
        for part in ("Hint", "Docs"):
            assert re.search(rf"\*\*{part}:?\*\*", task.source), f"Exercise {n}: no **{part}**"
        assert answer.cell_type == "code" and tags(answer) == ["solution"]
        assert labgen.BEGIN in answer.source and labgen.END in answer.source
        assert check.cell_type == "code" and tags(check) == ["check"]
        assert check.metadata["ds500"]["exercise"] == n
        assert f'ds500.Check("Exercise {n}"' in check.source
        assert labgen.BEGIN not in check.source
    assert found == list(range(1, len(info.exercises) + 1)), "exercises must run 1, 2, 3 ... as in metadata"
    assert len(found) >= (2 if info.number == 0 else 4)
    regions = [c for c in nb.cells if c.cell_type == "code" and labgen.BEGIN in c.source]
    assert all(tags(c) == ["solution"] for c in regions)


# 4. Cloud cells --------------------------------------------------------------
#: A second, dry-run branch: what a cloud cell must not have (one code path; RUN_ON_GCP
#: only decides where ctx.cloud() points).
TWO_BRANCHES = re.compile(
    r"\bif\s+(not\s+)?[\w.]*(RUN_ON_GCP|run_on_gcp|dry_run)\b|show_dry_run|aiplatform\.gapic\."
)


def test_cloud_cells_have_one_code_path(solution_path) -> None:
    nb = read(solution_path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "gcp" in tags(cell):
            assert not TWO_BRANCHES.search(cell.source) and "show_sql" not in cell.source, (
                f"gcp cell {cell.id} keeps a second (dry-run) branch: call the SDK once; offline "
                "ctx.cloud() points it at the local stand-in"
            )
        elif cell.id != "setup":
            assert "from google.cloud" not in cell.source and "import vertexai" not in cell.source, (
                f"cell {cell.id} uses a Google Cloud SDK but is not tagged gcp"
            )
    if not nb.metadata["ds500"].get("practice_exam"):  # the practice exam has nothing to run in the cloud
        assert any("gcp" in tags(c) for c in nb.cells), "every lab has a cloud path"


# 5. Closing sections, 6. plots -----------------------------------------------
def test_closing_sections_and_plots(solution_path) -> None:
    nb = read(solution_path)
    info = catalog.read_lab(solution_path)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert re.search(r"^## Exam practice\s*$", markdown, re.M)
    assert f"ds500.quiz.show({info.number})" in code and f"ds500.quiz.check({info.number}," in code
    assert len(quiz.load(info.number)) >= 6
    creates = re.search(r"CREATE |load_table|\.submit\(|\.deploy\(|\.run\(sync", code)
    if creates:
        assert re.search(r"^## Clean up\s*$", markdown, re.M), "a lab that creates resources cleans up"
    assert re.search(r"\bplt\.|\.plot\(|\bax\.", code), "at least one plot"


# Generated labs and storage -------------------------------------------------
def test_cell_ids_are_unique_and_valid(solution_path) -> None:
    ids = [c.id for c in read(solution_path).cells]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", i) for i in ids)


def test_generated_lab_matches_and_parses(solution_path) -> None:
    lab_path = ROOT / "labs" / solution_path.name
    assert lab_path.exists(), "run `nox -s labs`"
    solution, lab = read(solution_path), read(lab_path)
    assert [c.id for c in lab.cells] == [c.id for c in solution.cells]
    assert lab.metadata == solution.metadata
    for cell in lab.cells:
        if cell.cell_type == "code":
            assert labgen.BEGIN not in cell.source
            ast.parse(cell.source)  # stubs parse
    stubs = [c for c in lab.cells if "solution" in tags(c)]
    assert stubs and all("YOUR CODE HERE" in c.source or "NotImplementedError" in c.source for c in stubs)


@pytest.mark.parametrize("folder", ["solutions", "labs"])
def test_stored_without_outputs(folder: str) -> None:
    for path in sorted((ROOT / folder).glob("*.ipynb")):
        for cell in read(path).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: {cell.id}"


def test_labs_are_in_sync_with_solutions() -> None:
    assert labgen.build_labs(ROOT, check=True).stale == ()


def test_readme_lab_table_is_current() -> None:
    assert not catalog.update_readme(ROOT / "README.md", catalog.labs(ROOT / "solutions"), check=True)


def test_readme_coverage_matrix_and_cheat_sheet_are_current() -> None:
    matrix = examguide.coverage(SOLUTIONS, "2024-10")
    counts = examguide.question_counts(quiz.all_questions(), "2024-10")
    markdown = examguide.coverage_markdown(matrix, counts)
    assert not catalog.replace_block(
        ROOT / "README.md", examguide.COVERAGE_START, examguide.COVERAGE_END, markdown, check=True
    ), "run `nox -s labs` to regenerate the README's coverage matrix"
    sheet = (ROOT / "CHEATSHEET.md").read_text(encoding="utf-8")
    expected = cheatsheet.render(quiz.all_questions(), cheatsheet.glossary())
    assert sheet == expected, "run `nox -s labs` (CHEATSHEET.md)"


def test_every_glossary_entry_is_tested_by_a_question() -> None:
    assert cheatsheet.untested_entries(cheatsheet.glossary(), quiz.all_questions()) == []


@pytest.mark.parametrize("version", ["2024-10"])
def test_every_subsection_has_a_lab_and_three_questions(version: str) -> None:
    matrix = examguide.coverage(SOLUTIONS, version)
    counts = examguide.question_counts(quiz.all_questions(), version)
    without_lab = [c for c in matrix.columns if not matrix[c].any()]
    few_questions = {sub: n for sub, n in counts.items() if n < 3}
    assert not without_lab, f"exam guide {version} subsections no lab covers: {without_lab}"
    assert not few_questions, f"exam guide {version} subsections with fewer than 3 questions: {few_questions}"
