"""Sensitive Data Protection (DLP): ``projects.locations.content:deidentify``.

Runs locally, as an approximation: the request is checked as the API checks it, then
findings come from the small detectors below, not from Google's detectors, and each
finding is replaced with ``[INFO_TYPE]`` as ``replaceWithInfoTypeConfig`` does. What
regular expressions can and cannot find:

- ``EMAIL_ADDRESS`` (VERY_LIKELY), ``PHONE_NUMBER`` (North American formats and ``+``
  international numbers, LIKELY), ``CREDIT_CARD_NUMBER`` (13-19 digits that pass the
  Luhn checksum, VERY_LIKELY), ``US_SOCIAL_SECURITY_NUMBER`` (LIKELY), ``GCP_API_KEY``
  (VERY_LIKELY): formats, found reliably.
- ``DATE_OF_BIRTH``: only a date right after ``DOB``, ``date of birth`` or ``born``
  (LIKELY); Google's detector also weighs other context.
- ``PERSON_NAME``: names have no format. The stand-in only flags a sign-off, two or three
  capitalised words that end the text or follow "my name is", as POSSIBLE; it misses
  names elsewhere and names in capitals, which Google's model-based detector finds.

Model Armor's Sensitive Data Protection filter (:mod:`.modelarmor`) uses the same detectors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ds500.localcloud.errors import invalid
from ds500.localcloud.protos import normalize
from ds500.localcloud.routing import Call, Collection, Router

__all__ = ["LIKELIHOODS", "Finding", "find", "luhn_valid", "register"]

DEIDENTIFY_DOCS = "https://cloud.google.com/sensitive-data-protection/docs/deidentify-sensitive-data"
TABLE_DOCS = "https://cloud.google.com/sensitive-data-protection/docs/inspecting-structured-text"
INFOTYPES_DOCS = "https://cloud.google.com/sensitive-data-protection/docs/infotypes-reference"
LIKELIHOOD_DOCS = "https://cloud.google.com/sensitive-data-protection/docs/likelihood"
LIKELIHOODS = ["VERY_UNLIKELY", "UNLIKELY", "POSSIBLE", "LIKELY", "VERY_LIKELY"]

_DETECTORS: dict[str, tuple[re.Pattern[str], str]] = {
    "EMAIL_ADDRESS": (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"), "VERY_LIKELY"),
    "CREDIT_CARD_NUMBER": (re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"), "VERY_LIKELY"),
    "US_SOCIAL_SECURITY_NUMBER": (
        re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
        "LIKELY",
    ),
    "PHONE_NUMBER": (
        re.compile(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\) ?|\b\d{3}[ .-])\d{3}[ .-]\d{4}\b"),
        "LIKELY",
    ),
    "DATE_OF_BIRTH": (
        re.compile(
            r"(?i)(?<=\bdob )\d{4}-\d{2}-\d{2}|(?<=\bdob )\d{2}/\d{2}/\d{4}"
            r"|(?<=\bdate of birth )(?:\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4})"
            r"|(?<=\bborn )(?:\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4})"
        ),
        "LIKELY",
    ),
    "PERSON_NAME": (
        re.compile(
            r"(?<=[.!?] )[A-Z][a-z]+(?: [A-Z][a-z'-]+){1,2}(?=\.?\s*$)"
            r"|(?<=[Mm]y name is )[A-Z][a-z]+(?: [A-Z][a-z'-]+){0,2}"
        ),
        "POSSIBLE",
    ),
    "GCP_API_KEY": (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "VERY_LIKELY"),
}


@dataclass(frozen=True)
class Finding:
    """One detected value: its infoType, likelihood and character span."""

    info_type: str
    likelihood: str
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of card numbers (separators ignored)."""
    numbers = [int(d) for d in re.sub(r"\D", "", digits)][::-1]
    total = sum(n if i % 2 == 0 else (2 * n - 9 if n > 4 else 2 * n) for i, n in enumerate(numbers))
    return bool(numbers) and total % 10 == 0


def find(text: str, info_types: list[str], min_likelihood: str = "POSSIBLE") -> list[Finding]:
    """Findings of ``info_types`` in ``text`` at ``min_likelihood`` or above, without overlaps.

    Earlier types in :data:`_DETECTORS` win an overlap (a card number is not also a phone).
    """
    floor = LIKELIHOODS.index(min_likelihood)
    found: list[Finding] = []
    for info_type, (pattern, likelihood) in _DETECTORS.items():
        if info_type not in info_types or LIKELIHOODS.index(likelihood) < floor:
            continue
        for match in pattern.finditer(text):
            if info_type == "CREDIT_CARD_NUMBER" and not luhn_valid(match.group()):
                continue
            if not any(f.start < match.end() and match.start() < f.end for f in found):
                found.append(Finding(info_type, likelihood, match.start(), match.end()))
    return sorted(found, key=lambda f: f.start)


def check_info_types(names: list[str], where: str) -> None:
    """Every name must be a detector the stand-in has (a typo fails the same way on Google Cloud)."""
    unknown = [n for n in names if n not in _DETECTORS]
    if unknown:
        raise invalid(
            f"{where}: {unknown} is not a built-in infoType the local stand-in detects "
            f"({sorted(_DETECTORS)}); check the spelling",
            INFOTYPES_DOCS,
        )


def _replace(text: str, findings: list[Finding]) -> str:
    for f in reversed(findings):
        text = text[: f.start] + f"[{f.info_type}]" + text[f.end :]
    return text


def _field_columns(config: dict[str, Any], headers: list[str]) -> list[int]:
    """The columns a ``recordTransformations`` config transforms (it must name real headers)."""
    columns: list[int] = []
    for transformation in (config.get("recordTransformations") or {}).get("fieldTransformations", []):
        if not (transformation.get("infoTypeTransformations") or {}).get("transformations"):
            raise invalid("each fieldTransformation here needs infoTypeTransformations", DEIDENTIFY_DOCS)
        for field in transformation.get("fields", []):
            if field.get("name") not in headers:
                raise invalid(
                    f"fieldTransformations names the field {field.get('name')!r}, which is not a "
                    f"header of the table ({headers})",
                    TABLE_DOCS,
                )
            columns.append(headers.index(field["name"]))
    return columns


def _check_replace_only(config: dict[str, Any]) -> None:
    """The stand-in applies ``replaceWithInfoTypeConfig`` only (the transformation the labs use)."""
    blocks = [config.get("infoTypeTransformations") or {}]
    blocks += [
        t.get("infoTypeTransformations") or {}
        for t in (config.get("recordTransformations") or {}).get("fieldTransformations", [])
    ]
    for block in blocks:
        for transformation in block.get("transformations", []):
            if "replaceWithInfoTypeConfig" not in (transformation.get("primitiveTransformation") or {}):
                raise invalid(
                    "the local stand-in applies only replaceWithInfoTypeConfig; other "
                    "transformations run on Google Cloud",
                    DEIDENTIFY_DOCS,
                )


def _deidentify(call: Call) -> dict[str, Any]:
    """De-identify a value or a table item with the local detectors."""
    body = call.parsed("google.privacy.dlp.{version}.DeidentifyContentRequest")
    inspect = body.get("inspectConfig") or {}
    info_types = [t["name"] for t in inspect.get("infoTypes", [])]
    if not info_types:
        raise invalid("inspectConfig.infoTypes must name the infoTypes to look for", DEIDENTIFY_DOCS)
    check_info_types(info_types, "inspectConfig.infoTypes")
    min_likelihood = inspect.get("minLikelihood", "POSSIBLE")
    if min_likelihood == "LIKELIHOOD_UNSPECIFIED":
        min_likelihood = "POSSIBLE"  # the API's default
    config = body.get("deidentifyConfig") or {}
    if not config.get("infoTypeTransformations") and not config.get("recordTransformations"):
        raise invalid(
            "deidentifyConfig needs infoTypeTransformations or recordTransformations", DEIDENTIFY_DOCS
        )
    _check_replace_only(config)
    item = body.get("item") or {}
    counts: dict[str, int] = {}

    def scrub(text: str) -> str:
        findings = find(text, info_types, min_likelihood)
        for f in findings:
            counts[f.info_type] = counts.get(f.info_type, 0) + 1
        return _replace(text, findings)

    if "table" in item:
        table = item["table"]
        headers = [h.get("name", "") for h in table.get("headers", [])]
        if config.get("infoTypeTransformations"):
            columns = list(range(len(headers)))
        else:
            columns = _field_columns(config, headers)
        for index, row in enumerate(table.get("rows", [])):
            if len(row.get("values", [])) != len(headers):
                raise invalid(
                    f"table row {index} has {len(row.get('values', []))} values for {len(headers)} headers",
                    TABLE_DOCS,
                )
            for column in columns:
                value = row["values"][column]
                if "stringValue" in value:
                    value["stringValue"] = scrub(value["stringValue"])
    elif "value" in item:
        if config.get("recordTransformations"):
            raise invalid("recordTransformations apply to a table item, not to a value", TABLE_DOCS)
        item["value"] = scrub(item["value"])
    else:
        raise invalid("item must hold a value or a table", DEIDENTIFY_DOCS)
    summaries = [
        {
            "infoType": {"name": name},
            "transformation": {"replaceWithInfoTypeConfig": {}},
            "results": [
                {
                    "count": str(count),
                    "code": "SUCCESS",
                    "details": "local stand-in: regular-expression detectors, not Google's",
                }
            ],
        }
        for name, count in sorted(counts.items())
    ]
    return normalize(
        "google.privacy.dlp.v2.DeidentifyContentResponse",
        {"item": item, "overview": {"transformationSummaries": summaries}},
    )


def register(router: Router) -> None:
    router.add(Collection("projects/locations/content", verbs={":deidentify": _deidentify}))
