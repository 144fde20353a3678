"""The registry of dated facts, and the whole course agreeing with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ds500 import facts

from conftest import ROOT, read

REGISTRY = facts.load()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def course_texts() -> Iterator[tuple[str, str]]:
    """Every place the course states facts: solutions (labs are generated from them), the question
    bank, the service cards (lab 03's RAG corpus), the README and the contributing guide."""
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for number, cell in enumerate(read(path).cells):
            yield f"{path.name} cell {number} ({cell.id})", cell.source
    for path in sorted((ROOT / "shared" / "ds500" / "questions").rglob("*.yaml")):
        for question in yaml.safe_load(path.read_text(encoding="utf-8")).get("questions", []):
            yield f"{path.name} {question.get('id')}", "\n".join(_strings(question))
    cards = yaml.safe_load((ROOT / "shared" / "ds500" / "service_cards.yaml").read_text(encoding="utf-8"))
    for card in cards["cards"]:
        yield f"service card {card['id']}", "\n".join(_strings(card))
    for name in ("README.md", "CONTRIBUTING.md"):
        yield name, (ROOT / name).read_text(encoding="utf-8")


def test_the_course_states_only_registered_dates() -> None:
    problems = facts.conflicts(course_texts(), REGISTRY)
    assert not problems, "dates that disagree with shared/ds500/facts.yaml:\n" + "\n".join(problems)


def test_registry_entries_are_complete_and_checked() -> None:
    assert REGISTRY
    products = [fact.product for fact in REGISTRY]
    assert len(products) == len(set(products)), "two entries share a product name"
    for fact in REGISTRY:
        assert fact.checked <= "2026-12-31" and fact.reference_url.startswith("https://")
        if fact.ends:
            assert fact.ends > fact.date, f"{fact.product}: it ends before it was deprecated"
        if fact.deprecated:
            assert fact.deprecated < fact.date, f"{fact.product}: deprecated after it was shut down"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("shut down on 2025-04-14.", [(2025, 4, 14)]),
        ("deprecated on 16 March 2026 and gone on March 16, 2027", [(2026, 3, 16), (2027, 3, 16)]),
        ("retired in Sept. 2024", [(2024, 9, None)]),
        ("the June 2026 guide and the October 2024 exam guide", []),
        ("| October 2024 | 1.2 Building AI solutions | the Video Intelligence API |", []),
        ("no date here, only 2026", []),
    ],
)
def test_dates_in(text: str, expected: list[tuple[int, int, int | None]]) -> None:
    assert facts.dates_in(text) == expected


def test_conflicts_flag_a_wrong_date_and_accept_the_right_ones() -> None:
    wrong = facts.conflicts([("lab", "User-managed notebooks reached end of support in January 2025.")])
    assert len(wrong) == 1 and "Workbench user-managed notebooks" in wrong[0] and "2025-1" in wrong[0]
    right = [
        ("a", "User-managed notebooks were shut down on 14 April 2025."),
        ("b", "They were deprecated in January 2024. Container Registry stopped on 2025-03-18."),
        ("c", "Nothing about products in March 2020."),
    ]
    assert facts.conflicts(right) == []


def test_a_date_may_belong_to_any_product_the_sentence_names() -> None:
    text = (
        "AutoML Video was shut down in July 2025 and the Video Intelligence API deprecated in September 2026."
    )
    assert facts.conflicts([("x", text)]) == []


def test_lifecycle_table() -> None:
    table = facts.lifecycle()
    assert list(table.columns) == ["product", "deprecated", "retired", "use_instead"]
    row = table.set_index("product").loc["Workbench user-managed notebooks"]
    assert str(row["retired"].date()) == "2025-04-14" and str(row["deprecated"].date()) == "2024-01-16"
    assert "Vertex AI" not in set(table["product"]), "a rename is not a lifecycle end"
    assert table["retired"].notna().all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "gone"}, "status 'gone'"),
        ({"date": "April 2026"}, "must be an ISO date"),
        ({"checked": None}, "checked None must be an ISO date"),
        ({"ends": "2027-01-01"}, "only fits status deprecated"),
        ({"events": {"soon": "x"}}, "events date"),
        ({"reference": {"title": "x", "url": "http://x"}}, "https URL"),
        ({"match": []}, "'match' must list"),
        ({"now": ""}, "'now' must be a non-empty string"),
    ],
)
def test_entry_validation(change: dict[str, Any], message: str) -> None:
    raw = {
        "term": "X",
        "product": "X",
        "status": "renamed",
        "date": "2026-04-22",
        "now": "Y",
        "use_instead": "Y",
        "reference": {"title": "T", "url": "https://cloud.google.com"},
        "checked": "2026-12-02",
        "match": ["X"],
        **change,
    }
    with pytest.raises(ValueError, match=message):
        facts._fact(raw, 0)


def test_registry_file_is_package_data() -> None:
    assert (Path(facts.__file__).parent / "facts.yaml").is_file()
