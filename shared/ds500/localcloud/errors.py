"""Google's error body, so the real SDKs raise the exceptions they raise against Google Cloud.

Every Google API answers a failed call with ``{"error": {"code", "message", "status"}}``
(https://cloud.google.com/apis/design/errors#http_mapping). google-api-core maps the
HTTP code to ``google.api_core.exceptions.InvalidArgument`` (400), ``NotFound`` (404),
``AlreadyExists`` (409) ... and shows ``message``; so a rule that fails here reads in
the notebook exactly as it would on Google Cloud, plus the documentation link.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GoogleError", "already_exists", "failed_precondition", "invalid", "not_found", "unimplemented"]

_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    501: "UNIMPLEMENTED",
}


class GoogleError(Exception):
    """An error the stand-in answers with Google's error body.

    Args:
        code: the HTTP status (400, 404, 409 ...).
        message: what is wrong and, where a rule comes from Google's documentation,
            the link to it.
        status: the canonical status name; derived from ``code`` when omitted
            (``FAILED_PRECONDITION`` is sent as HTTP 400, as Google does).
    """

    def __init__(self, code: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS.get(code, "UNKNOWN")

    def body(self) -> dict[str, Any]:
        """The JSON body Google sends for this error."""
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def invalid(message: str, docs: str | None = None) -> GoogleError:
    """400 INVALID_ARGUMENT, with the documentation link that states the rule."""
    return GoogleError(400, f"{message} (rule: {docs})" if docs else message)


def not_found(what: str) -> GoogleError:
    """404 NOT_FOUND for a resource name, bucket or object."""
    return GoogleError(404, f"{what} not found in the local stand-in (create it first, as on Google Cloud)")


def already_exists(name: str) -> GoogleError:
    """409 ALREADY_EXISTS."""
    return GoogleError(409, f"{name} already exists")


def failed_precondition(message: str) -> GoogleError:
    """FAILED_PRECONDITION, which Google sends with HTTP 400."""
    return GoogleError(400, message, "FAILED_PRECONDITION")


def unimplemented(method: str, path: str) -> GoogleError:
    """501 for a call the labs do not make (the stand-in covers only what they call)."""
    return GoogleError(
        501,
        f"the local stand-in does not implement {method} {path}: it covers only the calls the labs "
        "make (see ds500/localcloud/__init__.py). Run with RUN_ON_GCP = True to call Google Cloud.",
    )
