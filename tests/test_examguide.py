"""Unit tests for ds500.examguide: the guide outline and the coverage matrix."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from ds500 import examguide

WEIGHTS = {
    "2024-10": [13, 14, 18, 20, 22, 13],
    "2026-06": [13, 16, 21, 20, 18, 13],
}


def _package_yaml() -> dict[str, Any]:
    text = (resources.files("ds500") / "exam_guide.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _write_guide(tmp_path: Path, data: dict[str, Any], name: str = "guide.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# -- the shipped outline ----------------------------------------------------------


def test_versions_and_default() -> None:
    assert examguide.VERSIONS == ("2024-10", "2026-06")
    assert examguide.DEFAULT_VERSION == "2026-06"
    assert examguide.load().version == "2026-06"


@pytest.mark.parametrize("version", examguide.VERSIONS)
def test_weights_match_the_guide(version: str) -> None:
    guide = examguide.load(version)
    assert list(guide.weights()) == ["1", "2", "3", "4", "5", "6"]
    assert list(guide.weights().values()) == WEIGHTS[version]
    total = sum(guide.weights().values())
    assert abs(total - 100) <= examguide.WEIGHT_TOLERANCE


def test_weight_sums() -> None:
    assert sum(examguide.load("2024-10").weights().values()) == 100
    # The June 2026 transcriptions round to 101 %; kept as transcribed.
    assert sum(examguide.load("2026-06").weights().values()) == 101


@pytest.mark.parametrize("version", examguide.VERSIONS)
def test_subsections(version: str) -> None:
    guide = examguide.load(version)
    ids = guide.subsection_ids()
    assert ids == [
        "1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3",
        "4.1", "4.2", "5.1", "5.2", "5.3", "6.1", "6.2",
    ]  # fmt: skip
    for sec in guide.sections:
        assert sec.title and sec.subsections
        for sub in sec.subsections:
            assert sub.id.startswith(f"{sec.id}.")
            assert sub.title and sub.topics
            assert all(isinstance(t, str) and t for t in sub.topics)


def test_section_titles_and_lookups() -> None:
    guide = examguide.load("2024-10")
    assert guide.section("1").title == "Architecting low-code AI solutions"
    assert guide.subsection("1.1").title == "Developing ML models by using BigQuery ML"
    assert guide.section_of("5.2").title == "Automating and orchestrating ML pipelines"
    assert guide.section_of("5.2").weight == 22
    assert guide.subsection("6.2").title.startswith("Monitoring, testing")


def test_verified_flags_and_sources() -> None:
    official = examguide.load("2024-10")
    june = examguide.load("2026-06")
    assert official.verified is True
    assert "cloud.google.com" in official.source
    assert june.verified is False
    assert "third-party" in june.source
    topics = " ".join(t for sec in june.sections for sub in sec.subsections for t in sub.topics)
    for addition in ("Model Armor", "LLM as a judge", "Ray", "canary", "concept drift"):
        assert addition in topics


def test_load_is_cached() -> None:
    assert examguide.load("2026-06") is examguide.load("2026-06")


@pytest.mark.parametrize("version", ["2023-01", "", "2024", None, 2024])
def test_unknown_version(version: Any) -> None:
    with pytest.raises(ValueError, match="unknown exam guide version"):
        examguide.load(version)


def test_unknown_ids() -> None:
    guide = examguide.load()
    with pytest.raises(ValueError, match="no subsection '7.1'"):
        guide.subsection("7.1")
    with pytest.raises(ValueError, match="no subsection '1.9'"):
        guide.section_of("1.9")
    with pytest.raises(ValueError, match="no section '9'"):
        guide.section("9")


# -- validation of a broken YAML ---------------------------------------------------


def _broken(tmp_path: Path, mutate: Any) -> Path:
    data = copy.deepcopy(_package_yaml())
    mutate(data["versions"]["2024-10"])
    return _write_guide(tmp_path, data)


def test_custom_path_loads(tmp_path: Path) -> None:
    path = _write_guide(tmp_path, _package_yaml())
    assert examguide.load("2024-10", path=path).weights()["5"] == 22


def test_weights_must_sum_to_100(tmp_path: Path) -> None:
    def mutate(v: dict[str, Any]) -> None:
        v["sections"][0]["weight"] = 5

    with pytest.raises(ValueError, match="weights sum to 92"):
        examguide.load("2024-10", path=_broken(tmp_path, mutate))


def test_duplicate_subsection(tmp_path: Path) -> None:
    def mutate(v: dict[str, Any]) -> None:
        v["sections"][0]["subsections"][1]["id"] = "1.1"

    with pytest.raises(ValueError, match="duplicate subsection id '1.1'"):
        examguide.load("2024-10", path=_broken(tmp_path, mutate))


def test_duplicate_section(tmp_path: Path) -> None:
    def mutate(v: dict[str, Any]) -> None:
        v["sections"][1]["id"] = "1"

    with pytest.raises(ValueError, match="duplicate section id '1'"):
        examguide.load("2024-10", path=_broken(tmp_path, mutate))


def test_malformed_subsection_id(tmp_path: Path) -> None:
    def mutate(v: dict[str, Any]) -> None:
        v["sections"][0]["subsections"][0]["id"] = "1.a"

    with pytest.raises(ValueError, match="'1.a' is not like"):
        examguide.load("2024-10", path=_broken(tmp_path, mutate))


def test_subsection_in_wrong_section(tmp_path: Path) -> None:
    def mutate(v: dict[str, Any]) -> None:
        v["sections"][0]["subsections"][0]["id"] = "2.9"

    with pytest.raises(ValueError, match="does not belong to section 1"):
        examguide.load("2024-10", path=_broken(tmp_path, mutate))


def _no_title(v: dict[str, Any]) -> None:
    del v["title"]


def _bool_weight(v: dict[str, Any]) -> None:
    v["sections"][0]["weight"] = True


def _empty_topics(v: dict[str, Any]) -> None:
    v["sections"][0]["subsections"][0]["topics"] = []


def _no_sections(v: dict[str, Any]) -> None:
    v["sections"] = []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_no_title, "missing key 'title'"),
        (_bool_weight, "'weight' must be int"),
        (_empty_topics, "topics must be non-empty"),
        (_no_sections, "no sections"),
    ],
)
def test_missing_key_and_bad_types(tmp_path: Path, mutate: Any, message: str) -> None:
    path = _broken(tmp_path, mutate)
    with pytest.raises(ValueError, match=message) as err:
        examguide.load("2024-10", path=path)
    assert "guide.yaml [2024-10]" in str(err.value)


def test_missing_version_in_file(tmp_path: Path) -> None:
    data = _package_yaml()
    del data["versions"]["2026-06"]
    with pytest.raises(ValueError, match="version '2026-06' is missing"):
        examguide.load("2026-06", path=_write_guide(tmp_path, data))


def test_not_a_guide_file(tmp_path: Path) -> None:
    path = tmp_path / "guide.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'versions' key"):
        examguide.load("2024-10", path=path)


# -- coverage ------------------------------------------------------------------------


def _notebook(path: Path, ds500: dict[str, Any] | None) -> Path:
    metadata: dict[str, Any] = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    if ds500 is not None:
        metadata["ds500"] = ds500
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": metadata,
        "cells": [{"cell_type": "markdown", "id": "a1", "metadata": {}, "source": "# Lab"}],
    }
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _meta(lab: int, title: str, ids_2024: list[str], ids_2026: list[str] | None = None) -> dict:
    return {
        "lab": lab,
        "slug": title.lower().replace(" ", "_"),
        "title": title,
        "exam_guide": {"2024-10": ids_2024, "2026-06": ids_2026 or ids_2024},
        "minutes": 30,
        "objectives": ["an objective"],
        "exercises": {"1": {"title": "an exercise", "points": 1}},
    }


def test_coverage_matrix(tmp_path: Path) -> None:
    nb1 = _notebook(tmp_path / "01_problem_framing.ipynb", _meta(1, "Problem framing", ["1.1", "3.1"]))
    nb0 = _notebook(tmp_path / "00_start_here.ipynb", _meta(0, "Start here", ["2.2"]))
    df = examguide.coverage([nb1, str(nb0)], "2024-10")
    assert list(df.index) == ["00 Start here", "01 Problem framing"]
    assert list(df.columns) == examguide.load("2024-10").subsection_ids()
    assert all(str(t) == "bool" for t in df.dtypes)
    assert df.loc["01 Problem framing", "1.1"]
    assert df.loc["01 Problem framing", "3.1"]
    assert not df.loc["01 Problem framing", "2.2"]
    assert df.loc["00 Start here", "2.2"]
    assert int(df.to_numpy().sum()) == 3


def test_coverage_uses_the_requested_version(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "01_x.ipynb", _meta(1, "X", ["1.1"], ["6.1"]))
    df = examguide.coverage([nb], "2026-06")
    assert df.loc["01 X", "6.1"] and not df.loc["01 X", "1.1"]


def test_coverage_empty(tmp_path: Path) -> None:
    df = examguide.coverage([], "2024-10")
    assert df.shape == (0, 16)
    text = examguide.format_coverage(df)
    assert text.splitlines()[-1].split()[-1] == "0"


def test_question_counts_and_markdown(tmp_path: Path) -> None:
    from ds500 import quiz

    questions = quiz.load(1)
    counts = examguide.question_counts(questions, "2024-10")
    assert list(counts) == examguide.load("2024-10").subsection_ids()
    assert sum(counts.values()) == sum(len(q.sections["2024-10"]) for q in questions)
    nb = _notebook(tmp_path / "01_x.ipynb", _meta(1, "X", ["1.1"]))
    markdown = examguide.coverage_markdown(examguide.coverage([nb], "2024-10"), counts)
    lines = markdown.splitlines()
    assert lines[0].startswith("| Lab | 1.1 | 1.2 |") and lines[2].startswith("| 01 X | ✓ |")
    assert lines[-1] == "| **questions** | " + " | ".join(map(str, counts.values())) + " |"
    assert "questions" in examguide.format_coverage(examguide.coverage([nb], "2024-10"), counts)


def test_coverage_missing_metadata(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "05_no_meta.ipynb", None)
    with pytest.raises(ValueError, match=r"05_no_meta\.ipynb: cannot read metadata\.ds500"):
        examguide.coverage([nb], "2024-10")


def test_coverage_unknown_subsection(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "03_bad.ipynb", _meta(3, "Bad", ["1.1", "9.9"]))
    with pytest.raises(ValueError, match=r"03_bad\.ipynb.*'9\.9'"):
        examguide.coverage([nb], "2024-10")


def test_coverage_missing_version_entry(tmp_path: Path) -> None:
    meta = _meta(2, "Two", ["1.1"])
    del meta["exam_guide"]["2026-06"]
    nb = _notebook(tmp_path / "02_two.ipynb", meta)
    with pytest.raises(ValueError, match=r"02_two\.ipynb.*no entry for '2026-06'"):
        examguide.coverage([nb], "2026-06")


def test_coverage_bad_lab_and_title(tmp_path: Path) -> None:
    meta = _meta(2, "Two", ["1.1"])
    meta["lab"] = "2"
    nb = _notebook(tmp_path / "02_two.ipynb", meta)
    with pytest.raises(ValueError, match="lab must be an integer 0-17"):
        examguide.coverage([nb], "2024-10")
    meta = _meta(2, "Two", ["1.1"])
    meta["title"] = ""
    nb = _notebook(tmp_path / "02_two.ipynb", meta)
    with pytest.raises(ValueError, match="title is missing"):
        examguide.coverage([nb], "2024-10")


def test_coverage_duplicate_lab(tmp_path: Path) -> None:
    a = _notebook(tmp_path / "01_a.ipynb", _meta(1, "A", ["1.1"]))
    b = _notebook(tmp_path / "01_b.ipynb", _meta(1, "B", ["1.2"]))
    with pytest.raises(ValueError, match="lab number 1 is also used"):
        examguide.coverage([a, b], "2024-10")


def test_coverage_unreadable(tmp_path: Path) -> None:
    bad = tmp_path / "07_broken.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="07_broken.ipynb: cannot read metadata.ds500"):
        examguide.coverage([bad], "2024-10")
    with pytest.raises(ValueError, match="cannot read"):
        examguide.coverage([tmp_path / "missing.ipynb"], "2024-10")


def test_coverage_unknown_version(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown exam guide version"):
        examguide.coverage([], "1999-01")


def test_format_coverage(tmp_path: Path) -> None:
    nb0 = _notebook(tmp_path / "00_start_here.ipynb", _meta(0, "Start here", ["2.2"]))
    nb1 = _notebook(tmp_path / "01_problem_framing.ipynb", _meta(1, "Problem framing", ["1.1", "2.2"]))
    text = examguide.format_coverage(examguide.coverage([nb0, nb1], "2024-10"))
    lines = text.splitlines()
    assert len(lines) == 4  # header, two labs, counts
    assert lines[0].split() == examguide.load().subsection_ids()
    assert lines[1].startswith("00 Start here")
    assert lines[2].startswith("01 Problem framing")
    assert "✓" in lines[2] and "·" in lines[2]
    assert lines[2].count("✓") == 2
    counts = lines[3].removeprefix("labs per subsection").split()
    assert counts[0] == "1"  # 1.1
    assert counts[4] == "2"  # 2.2
    assert len(counts) == 16


def test_format_coverage_bad_input() -> None:
    import pandas as pd

    with pytest.raises(ValueError, match="DataFrame"):
        examguide.format_coverage([[True]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="boolean"):
        examguide.format_coverage(pd.DataFrame({"1.1": [1, 0]}))
