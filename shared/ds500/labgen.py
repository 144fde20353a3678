"""Generate the student labs in ``labs/`` from the solutions in ``solutions/``.

One source of truth: a lab is written once, as a solution notebook. The student
version is derived from it by replacing every ``### BEGIN SOLUTION`` ...
``### END SOLUTION`` region with a stub that still parses, so the untouched lab
runs top to bottom and each check cell fails with its own message.
"""

from __future__ import annotations

import ast
import copy
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = "ds500-labs/ds500-labs"
"""GitHub ``owner/name`` of the course repository (Colab badges and the setup cell)."""

SETUP_CELL = f"""\
# Setup: the same cell in every lab. On Colab it fetches the course and installs this
# lab's extras (COLAB_EXTRAS) beside Colab's own TensorFlow, torch, numpy and pandas.
import sys

if "google.colab" in sys.modules and "ds500" not in sys.modules:
    import subprocess

    subprocess.run(["git", "clone", "--quiet", "--depth", "1",
                    "https://github.com/{REPO}", "/content/ds500-labs"], check=False)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--editable",
                    f"/content/ds500-labs[{{COLAB_EXTRAS}}]"], check=True)
    sys.path.insert(0, "/content/ds500-labs/shared")

import ds500

ctx = ds500.setup(seed=SEED, run_on_gcp=RUN_ON_GCP, project_id=PROJECT_ID, region=REGION)"""
"""The canonical setup cell, byte for byte; the contract tests compare every lab with it."""

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB_COMMENT = "# YOUR CODE HERE"
_EXERCISE_HEADING = re.compile(r"^#{2,4}\s+Exercise\s+(\d+)\b", re.MULTILINE)
_NOISY_CELL_METADATA = ("execution", "papermill", "collapsed", "scrolled", "jupyter")
_NOISY_NB_METADATA = ("papermill", "widgets", "toc", "varInspector")


class LabgenError(ValueError):
    """A solution notebook breaks the contract in a way the generator cannot repair."""


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_labs` did (or, with ``check=True``, would do)."""

    written: tuple[str, ...]
    stale: tuple[str, ...]


def stub_region(region: str, exercise: str) -> str:
    """Return the parseable stub that replaces one solution region.

    Args:
        region: the code between the BEGIN and END markers, with its indentation.
        exercise: the label used in messages, e.g. ``"Exercise 3"``.

    Returns:
        Every name the region assigns at its own level becomes
        ``name = ...  # YOUR CODE HERE``; a function defined in the region keeps
        its signature (and docstring) and raises ``NotImplementedError``; a region
        that does neither (or that returns from an enclosing function) becomes a
        single ``raise NotImplementedError``.
    """
    indent = _indent_of(region)
    body = textwrap.dedent(region)
    lines = body.splitlines()
    try:
        tree = ast.parse(body)
    except SyntaxError:
        tree = None  # e.g. a region holding `return ...` inside a function body
    stub: list[str] = []
    seen: set[str] = set()
    for node in tree.body if tree is not None else []:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stub.extend(_function_stub(node, lines, exercise))
        else:
            for name in _assigned_names(node):
                if name not in seen:
                    seen.add(name)
                    stub.append(f"{name} = ...  {STUB_COMMENT}")
    if not stub:
        stub = [f'raise NotImplementedError("{exercise}: replace this line with your code")']
    return "\n".join(indent + line if line else line for line in stub)


def strip_solutions(source: str, exercise: str, where: str = "cell") -> str:
    """Replace every BEGIN/END SOLUTION region of a cell's source with its stub."""
    out: list[str] = []
    region: list[str] | None = None
    begin_indent = ""
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN:
            if region is not None:
                raise LabgenError(f"{where}: nested '{BEGIN}' (close the first region first)")
            region, begin_indent = [], _indent_of(line)
        elif marker == END:
            if region is None:
                raise LabgenError(f"{where}: '{END}' without a matching '{BEGIN}'")
            text = "\n".join(region) if any(r.strip() for r in region) else begin_indent + "pass"
            out.append(stub_region(text if region else begin_indent, exercise))
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise LabgenError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip outputs, execution counts and tool noise, in place; return ``nb``.

    Notebooks are stored clean: outputs are build artefacts, and a stored output
    would leak a solution's answer into the student lab.
    """
    for key in _NOISY_NB_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in _NOISY_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def build_lab(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the student lab generated from a solution notebook (ids kept)."""
    lab = normalize(copy.deepcopy(solution))
    exercise = None
    for cell in lab.cells:
        if cell.cell_type == "markdown":
            found = _EXERCISE_HEADING.search(cell.source)
            if found:
                exercise = f"Exercise {found.group(1)}"
        elif cell.cell_type == "code" and BEGIN in cell.source:
            if exercise is None:
                raise LabgenError(
                    f"{name}, cell {cell.get('id')}: a solution region comes before any "
                    "'### Exercise N' heading"
                )
            cell.source = strip_solutions(cell.source, exercise, f"{name}, cell {cell.get('id')}")
    return lab


def build_labs(root: Path | str = ".", *, check: bool = False, only: str = "*") -> BuildResult:
    """Regenerate ``labs/`` from ``solutions/`` (or, with ``check``, only compare).

    Solutions are normalised in place too (outputs stripped). With ``check=True``
    nothing is written; ``stale`` lists every lab or solution that differs from
    what the generator produces, and every lab that has no solution. ``only`` is a
    glob over file stems (``"05_*"``) for authors who work on one lab while others
    edit theirs; orphaned labs are reported only for a full build.
    """
    root = Path(root)
    solutions_dir, labs_dir = root / "solutions", root / "labs"
    if not solutions_dir.is_dir():
        raise LabgenError(f"{solutions_dir} does not exist: run from the repository root")
    written: list[str] = []
    stale: list[str] = []
    expected_labs: set[str] = set()
    for path in sorted(solutions_dir.glob(f"{only}.ipynb")):
        try:
            solution = nbformat.read(path, as_version=4)
        except Exception as err:  # nbformat raises several types for broken JSON
            raise LabgenError(f"{path} is not a readable notebook: {err}") from err
        clean = nbformat.writes(normalize(copy.deepcopy(solution))) + "\n"
        lab_text = nbformat.writes(build_lab(solution, path.name)) + "\n"
        expected_labs.add(path.name)
        for target, text in ((path, clean), (labs_dir / path.name, lab_text)):
            current = target.read_text(encoding="utf-8") if target.exists() else None
            if current == text:
                continue
            rel = str(target.relative_to(root))
            if check:
                stale.append(rel)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                written.append(rel)
    for orphan in sorted(labs_dir.glob("*.ipynb")):
        if only == "*" and orphan.name not in expected_labs:
            stale.append(f"{orphan.relative_to(root)} (no solution)")
    return BuildResult(tuple(written), tuple(stale))


def _indent_of(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return ""


def _assigned_names(node: ast.stmt) -> list[str]:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    names: list[str] = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
    return names


def _function_stub(
    node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str], exercise: str
) -> list[str]:
    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
    body0 = node.body[0]
    if body0.lineno == node.lineno:  # one-line def: rebuild the signature
        bare = copy.deepcopy(node)
        bare.body = [ast.Pass()]
        signature = ast.unparse(bare).splitlines()[:-1]  # drop the `pass`
        body_indent = "    "
    else:
        signature = lines[first - 1 : body0.lineno - 1]
        body_indent = " " * body0.col_offset
    has_doc = (
        isinstance(body0, ast.Expr)
        and isinstance(body0.value, ast.Constant)
        and isinstance(body0.value.value, str)
    )
    doc = lines[body0.lineno - 1 : body0.end_lineno] if has_doc and body0.lineno != node.lineno else []
    message = f"{exercise}: write the body of {node.name}()"
    return [*signature, *doc, f'{body_indent}raise NotImplementedError("{message}")']

