"""Model Armor: templates and ``templates/{id}:sanitizeUserPrompt`` / ``:sanitizeModelResponse``.

Templates are stored as on Google Cloud (create with ``templateId``, get, list, delete).
Screening runs locally, as an approximation of Model Armor's trained classifiers, with a
small documented rule set, and every filter result says so in its ``messageItems``:

- prompt injection and jailbreak: the phrases in :data:`INJECTION_PHRASES`, each with a
  confidence; a match counts when it reaches the template's ``confidenceLevel`` (the
  stand-in reads an unset level as ``HIGH``);
- Sensitive Data Protection (basic): the detectors of :mod:`.dlp` for the infoTypes of
  :data:`SDP_BASIC_INFO_TYPES`;
- malicious URIs: no threat list is available offline, so the heuristics of
  :data:`URI_RULES` (Safe Browsing's test pages, raw IP hosts, executable downloads,
  ``javascript:`` and ``data:`` URIs).

Responsible-AI (``raiSettings``) filters are not screened locally: their result says
``EXECUTION_SKIPPED``. Paraphrased, encoded or foreign-language attacks pass these rules;
the managed classifiers exist for them.
"""

from __future__ import annotations

import re
from typing import Any

from ds500.localcloud import dlp, validation
from ds500.localcloud.errors import invalid
from ds500.localcloud.protos import normalize
from ds500.localcloud.routing import Call, Collection, Router

__all__ = ["INJECTION_PHRASES", "SDP_BASIC_INFO_TYPES", "URI_RULES", "register", "screen"]

TEMPLATE_DOCS = "https://cloud.google.com/security-command-center/docs/manage-model-armor-templates"
SANITIZE_DOCS = "https://cloud.google.com/security-command-center/docs/sanitize-prompts-responses"
LOCAL_NOTE = "local stand-in: a regular-expression approximation of this filter, not Model Armor's classifier"
LEVELS = ["LOW_AND_ABOVE", "MEDIUM_AND_ABOVE", "HIGH"]

#: (pattern, confidence) of prompt-injection and jailbreak phrases.
INJECTION_PHRASES: list[tuple[str, str]] = [
    (
        r"\b(ignore|disregard|forget) (all |any )?(the |your )?(previous|prior|above|earlier) "
        r"(instructions|rules|prompts?)",
        "HIGH",
    ),
    (
        r"\b(reveal|print|show|repeat) (me )?(your|the) (system prompt|hidden instructions|instructions)",
        "HIGH",
    ),
    (r"\byou are now (in )?(developer|dan|unrestricted|jailbreak) mode", "HIGH"),
    (r"\b(act|pretend|behave) as .{0,40}without (any )?(restrictions|filters|rules)", "MEDIUM_AND_ABOVE"),
    (r"\b(jailbreak|do anything now)\b", "MEDIUM_AND_ABOVE"),
    (r"\bnew instructions?:", "LOW_AND_ABOVE"),
]
SDP_BASIC_INFO_TYPES = ["CREDIT_CARD_NUMBER", "US_SOCIAL_SECURITY_NUMBER", "GCP_API_KEY"]
#: why a URI is flagged, and the pattern that flags it.
URI_RULES: dict[str, str] = {
    "Safe Browsing test page": r"https?://testsafebrowsing\.appspot\.com/\S*",
    "raw IP address as host": r"https?://\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?:/\S*)?",
    "executable download": r"https?://\S+\.(?:exe|scr|msi|bat|ps1|apk)\b",
    "script or data URI": r"\b(?:javascript|data):\S+",
}


def _enabled(settings: dict[str, Any], enforcement: str = "filterEnforcement") -> bool:
    return settings.get(enforcement) == "ENABLED"


def _result(match: bool, **extra: Any) -> dict[str, Any]:
    return {
        "executionState": "EXECUTION_SUCCESS",
        "matchState": "MATCH_FOUND" if match else "NO_MATCH_FOUND",
        "messageItems": [{"messageType": "INFO", "message": LOCAL_NOTE}],
        **extra,
    }


def screen(text: str, filters: dict[str, Any]) -> dict[str, Any]:
    """A ``SanitizationResult`` for ``text`` under a template's ``filterConfig``."""
    results: dict[str, Any] = {}
    pi = filters.get("piAndJailbreakFilterSettings") or {}
    if _enabled(pi):
        floor = LEVELS.index(pi.get("confidenceLevel", "HIGH")) if pi.get("confidenceLevel") in LEVELS else 2
        hits = [level for pattern, level in INJECTION_PHRASES if re.search(pattern, text, re.IGNORECASE)]
        best = max(hits, key=LEVELS.index) if hits else None
        extra = {"confidenceLevel": best} if best else {}
        results["pi_and_jailbreak"] = {
            "piAndJailbreakFilterResult": _result(bool(best) and LEVELS.index(best) >= floor, **extra)
        }
    sdp = ((filters.get("sdpSettings") or {}).get("basicConfig")) or {}
    if _enabled(sdp):
        findings = dlp.find(text, SDP_BASIC_INFO_TYPES)
        extra = (
            {
                "findings": [
                    {
                        "infoType": f.info_type,
                        "likelihood": f.likelihood,
                        "location": {"codepointRange": {"start": str(f.start), "end": str(f.end)}},
                    }
                    for f in findings
                ]
            }
            if findings
            else {}
        )
        results["sdp"] = {"sdpFilterResult": {"inspectResult": _result(bool(findings), **extra)}}
    uri = filters.get("maliciousUriFilterSettings") or {}
    if _enabled(uri):
        items = [
            {"uri": m.group(), "locations": [{"start": str(m.start()), "end": str(m.end())}]}
            for pattern in URI_RULES.values()
            for m in re.finditer(pattern, text, re.IGNORECASE)
        ]
        extra = {"maliciousUriMatchedItems": items} if items else {}
        results["malicious_uris"] = {"maliciousUriFilterResult": _result(bool(items), **extra)}
    if filters.get("raiSettings"):
        results["rai"] = {
            "raiFilterResult": {
                "executionState": "EXECUTION_SKIPPED",
                "messageItems": [
                    {
                        "messageType": "INFO",
                        "message": "local stand-in: responsible-AI filters are not screened offline",
                    }
                ],
            }
        }
    matched = any(_match_states(r) for r in results.values())
    return {
        "filterMatchState": "MATCH_FOUND" if matched else "NO_MATCH_FOUND",
        "filterResults": results,
        "invocationResult": "SUCCESS",
    }


def _match_states(result: dict[str, Any]) -> bool:
    inner = next(iter(result.values()))
    inner = inner.get("inspectResult", inner)
    return inner.get("matchState") == "MATCH_FOUND"


def _validate(call: Call, body: dict[str, Any]) -> None:
    validation.check_region(call.location)
    if not call.query.get("templateId"):
        raise invalid("templateId is required to create a template", TEMPLATE_DOCS)
    filters = body.get("filterConfig") or {}
    if not filters:
        raise invalid("template.filterConfig must enable at least one filter", TEMPLATE_DOCS)


def _sanitize(field: str, response_type: str) -> Any:
    def handler(call: Call) -> dict[str, Any]:
        body = call.parsed(f"google.cloud.modelarmor.{{version}}.{response_type}Request")
        template = call.cloud.store.get(call.name)
        text = (body.get(field) or {}).get("text", "")
        if not text:
            raise invalid(f"{field}.text is required", SANITIZE_DOCS)
        result = screen(text, template.get("filterConfig") or {})
        return normalize(
            f"google.cloud.modelarmor.{call.version}.{response_type}Response", {"sanitizationResult": result}
        )

    return handler


def register(router: Router) -> None:
    router.add(
        Collection(
            "projects/locations/templates",
            "google.cloud.modelarmor.{version}.Template",
            id_param="templateId",
            validate=_validate,
            verbs={
                "sanitizeUserPrompt": _sanitize("userPromptData", "SanitizeUserPrompt"),
                "sanitizeModelResponse": _sanitize("modelResponseData", "SanitizeModelResponse"),
            },
        )
    )
