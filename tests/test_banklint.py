"""The bank linter: each rule on a small bank written to a temporary folder, then the shipped bank."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from ds500 import banklint, cli, quiz

ROOT = Path(__file__).resolve().parents[1]

def _text(seed: str) -> str:
    """40 characters of random words: options of equal length that share no wording."""
    rng = random.Random(seed)
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 7))) for _ in range(9)]
    return " ".join(words)[:40].ljust(40, ".")


def _question(qid: str, key: str = "B", kind: str = "single", stem: str | None = None) -> dict[str, Any]:
    words = f"scenario {qid} " + " ".join(f"w{qid}{i}" for i in range(12))
    options = [
        {"key": k, "text": _text(f"{qid}{k}"), "correct": k in key,
         "why": f"Explains why option {k} is right or wrong here."}
        for k in "ABCD"
    ]
    return {
        "id": qid, "kind": kind,
        "sections": {"2024-10": ["1.1"], "2026-06": ["1.1"]},
        "question": stem if stem is not None else f"A team faces {words}. What should it do?",
        "options": options,
        "reference": {"title": "Docs", "url": "https://cloud.google.com/bigquery/docs"},
        "tags": ["scenario"],
    }


def _write(folder: Path, name: str, questions: list[dict[str, Any]], **top: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    body = {**top, "questions": questions}
    (folder / name).write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")


def _rules(findings: list[banklint.Finding]) -> list[str]:
    return sorted(f.rule for f in findings)


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    """A lab bank of 8 and a pool of 8 balanced questions: no finding."""
    _write(tmp_path, "05_test.yaml", [_question(f"05-{i + 1:02d}", "ABCD"[i % 4]) for i in range(8)], lab=5)
    pool = [_question(f"mock-a{i + 1:03d}", "ABCD"[(i + 1) % 4]) for i in range(8)]
    _write(tmp_path / "pool", "a_test.yaml", pool, pool="mock")
    return tmp_path


def test_clean_bank_has_no_finding(clean: Path) -> None:
    assert banklint.lint(clean) == []
    questions, files, findings = banklint.load_bank(clean)
    assert len(questions) == 16 and findings == []
    assert files["mock-a001"] == "pool/a_test.yaml" and files["05-01"] == "05_test.yaml"
    assert [q.pool for q in quiz.pool_questions(directory=clean)] == ["mock"] * 8


def _lint_with(clean: Path, *changed: dict[str, Any], pool: bool = False) -> list[banklint.Finding]:
    """Replace the first questions of the lab bank (or the pool) and lint."""
    if pool:
        rest = [_question(f"mock-a{i + 1:03d}", "ABCD"[(i + 1) % 4]) for i in range(len(changed), 8)]
        _write(clean / "pool", "a_test.yaml", [*changed, *rest], pool="mock")
    else:
        rest = [_question(f"05-{i + 1:02d}", "ABCD"[i % 4]) for i in range(len(changed), 8)]
        _write(clean, "05_test.yaml", [*changed, *rest], lab=5)
    return banklint.lint(clean)


def test_longest_key_rate_and_single_long_key(clean: Path) -> None:
    changed = []
    for i in range(4):  # 4 of 16 singles is fine (25 %), 6 of 16 is not (37.5 %)
        q = _question(f"05-{i + 1:02d}", "ABCD"[i % 4])
        q["options"][i % 4]["text"] += " plus five"
        changed.append(q)
    assert banklint.lint(clean) == [] and _lint_with(clean, *changed) == []
    for i in range(4, 6):
        q = _question(f"05-{i + 1:02d}", "ABCD"[i % 4])
        q["options"][i % 4]["text"] += " plus five"
        changed.append(q)
    findings = _lint_with(clean, *changed)
    assert _rules(findings) == ["longest-key-rate"]
    assert findings[0].where == "bank" and "6 of 16" in findings[0].message
    assert "05_test.yaml (6)" in str(findings[0])
    # one key far longer than every distractor: 1.5x and +40 characters
    q = _question("05-01", "A")
    q["options"][0]["text"] = "x" * 81
    assert _rules(_lint_with(clean, q)) == ["key-much-longer"]
    q["options"][0]["text"] = "x" * 80  # exactly 2x of 40 but only +40: not flagged
    assert _lint_with(clean, q) == []


def test_multiple_select_long_keys_count(clean: Path) -> None:
    q = _question("05-01", "AC", kind="multiple", stem="A team must pick two things. Choose two.")
    assert _lint_with(clean, q) == []
    for opt in q["options"][::2]:
        opt["text"] = opt["key"] * 90
    findings = _lint_with(clean, q)
    assert _rules(findings) == ["key-much-longer"] and "90 characters" in findings[0].message


def test_qualifier_only_in_key(clean: Path) -> None:
    q = _question("05-01", "C")
    q["options"][2]["text"] = "Retrain weekly while keeping the old model"
    findings = _lint_with(clean, q)
    assert _rules(findings) == ["qualifier-in-key"] and "'while keeping'" in findings[0].message
    q["options"][0]["text"] = "Retrain daily while keeping no old models"
    assert _lint_with(clean, q) == []


def test_letter_distribution(clean: Path) -> None:
    skewed = [_question(f"05-{i + 1:02d}", "A") for i in range(8)]
    findings = _lint_with(clean, *skewed)
    assert _rules(findings) == ["letter-distribution"]
    assert "A 10" in findings[0].message and "move some keys away from A" in findings[0].message
    assert banklint.letter_p_value([10, 10, 10, 10]) == pytest.approx(1.0)
    assert banklint.letter_p_value([40, 0, 0, 0]) < 1e-6
    with pytest.raises(ValueError, match="two non-negative counts"):
        banklint.letter_p_value([3])


@pytest.mark.parametrize(
    ("stem", "kind", "key", "expected"),
    [
        ("Pick the right ones.", "multiple", "AC", "does not say how many"),
        ("Pick the right ones. Choose three.", "multiple", "AC", "says choose 3"),
        ("Choose two. Or choose three.", "multiple", "AC", "names several counts"),
        ("Which one fits? Choose two.", "single", "A", "single-choice stem asks"),
    ],
)
def test_choose_n(clean: Path, stem: str, kind: str, key: str, expected: str) -> None:
    findings = _lint_with(clean, _question("05-01", key, kind=kind, stem=stem))
    assert _rules(findings) == ["choose-n"] and expected in findings[0].message
    assert banklint.choose_count("x (Choose 2.)") == 2 and banklint.choose_count("no count") is None


@pytest.mark.parametrize(
    "stem",
    ["In this lab, the study runs longer. What now?", "As in lab 7, the job fails. Why?",
     "The notebook's variables hold the data. What now?", "The team sets PRUNING_TRIALS to 9. Why?"],
)
def test_lab_references_in_the_pool_only(clean: Path, stem: str) -> None:
    variables = banklint.notebook_variables(ROOT / "solutions")
    assert {"SEED", "RUN_ON_GCP"} <= variables
    _lint_with(clean, _question("05-01", "A", stem=stem))
    assert banklint.lint(clean, solutions=ROOT / "solutions") == []  # a lab may say "in this lab"
    _lint_with(clean, _question("05-01", "A"))
    _lint_with(clean, _question("mock-a001", "B", stem=stem), pool=True)
    findings = banklint.lint(clean, solutions=ROOT / "solutions")
    assert _rules(findings) == ["lab-reference"] and findings[0].where == "pool/a_test.yaml mock-a001"


def test_notebook_variables(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ["SEED = 1\nsmall = 2\n"]}
    (tmp_path / "01_x.ipynb").write_text(json.dumps({"cells": [cell]}), encoding="utf-8")
    assert banklint.notebook_variables(tmp_path) == {"SEED"}
    with pytest.raises(ValueError, match="does not exist"):
        banklint.notebook_variables(tmp_path / "nope")


def test_short_why_and_duplicate_option(clean: Path) -> None:
    q = _question("05-01", "A")
    q["options"][3]["why"] = "Wrong."
    q["options"][2]["text"] = q["options"][1]["text"]
    findings = _lint_with(clean, q)
    assert _rules(findings) == ["duplicate-option", "why-too-short"]


def test_near_duplicate_stems(clean: Path) -> None:
    stem = ("A retailer trains a demand model on two years of sales in BigQuery and must explain each "
            "forecast to store managers who distrust black boxes. What should it use?")
    near = stem.replace("retailer", "grocer")
    findings = _lint_with(clean, _question("05-01", "A", stem=stem), _question("05-02", "B", stem=near))
    assert _rules(findings) == ["near-duplicate"] and "05-01" in findings[0].message
    # a shared closing sentence alone is not a duplicate
    closing = "What should the team do to meet these requirements?"
    a = "A bank scores loans nightly in BigQuery. " + closing
    b = "A clinic labels scans with three doctors each. " + closing
    assert _lint_with(clean, _question("05-01", "A", stem=a), _question("05-02", "B", stem=b)) == []


def test_pool_key_repeating_a_lab_key(clean: Path) -> None:
    lab_q = _question("05-01", "A")
    lab_q["options"][0]["text"] = "Customer-managed encryption keys in Cloud KMS on every resource"
    pool_q = _question("mock-a001", "B")
    pool_q["options"][1]["text"] = "Customer-managed encryption keys in Cloud KMS on each resource"
    _lint_with(clean, lab_q)
    findings = _lint_with(clean, pool_q, pool=True)
    assert _rules(findings) == ["repeats-lab-key"] and "05_test.yaml 05-01" in findings[0].message
    pool_q["options"][1]["text"] = "Default encryption, and VPC Service Controls around the project"
    assert _lint_with(clean, pool_q, pool=True) == []


def test_schema_errors_become_findings(clean: Path) -> None:
    bad = _question("mock-b001", "A")
    del bad["options"][0]["why"]
    _write(clean / "pool", "b_bad.yaml", [bad], pool="mock")
    _write(clean / "pool", "c_wrong_letter.yaml", [_question("mock-a009", "A")], pool="mock")
    _write(clean / "pool", "d_lab.yaml", [_question("mock-d001", "A")], lab=3)
    findings = banklint.lint(clean)
    assert _rules(findings) == ["schema"] * 3
    text = "\n".join(map(str, findings))
    assert "mock-b001 option A: missing 'why'" in text
    assert "ids in this file start with 'mock-c'" in text
    assert "a pool file says 'pool: mock'" in text


def test_cli_bank_lint(clean: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bank", "lint", "--questions", str(clean)]) == 0
    out = capsys.readouterr().out
    assert "0 finding(s)" in out and "labs: 8 questions" in out and "pool: 8 questions" in out
    assert "by first section (2026-06): 1: 8" in out
    _lint_with(clean, *[_question(f"05-{i + 1:02d}", "A") for i in range(8)])
    assert cli.main(["--root", str(ROOT), "bank", "lint", "--questions", str(clean)]) == 1
    assert "[letter-distribution]" in capsys.readouterr().out


def test_shipped_bank_passes_the_linter() -> None:
    findings = banklint.lint(solutions=ROOT / "solutions")
    assert not findings, banklint.format_findings(findings)
