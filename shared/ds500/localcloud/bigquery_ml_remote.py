"""BigQuery ML remote models over Gemini, and the generative table functions, in the local stand-in.

What a student writes in BigQuery, and what the stand-in does with it:

- ``CREATE [OR REPLACE] MODEL [IF NOT EXISTS] ds.m REMOTE WITH CONNECTION
  {`project.location.connection` | DEFAULT} OPTIONS (ENDPOINT = 'gemini-3.5-flash')``: the
  connection reference and the endpoint are checked (:func:`parse_create`, :func:`build`)
  and the model is stored as BigQuery's REST ``Model`` with ``remoteModelInfo``. The
  stand-in has no BigQuery Connection API: it checks the reference's form and that its
  location is the dataset's, not that the connection exists or that its service account
  holds the Vertex AI User role (``roles/aiplatform.user``) that Google Cloud requires.
- ``AI.GENERATE_TEXT`` (Google's recommended function since it went GA) and
  ``ML.GENERATE_TEXT`` (the older one, with ``ml_generate_text_*`` column names) over
  ``TABLE t`` or ``(SELECT ... AS prompt ...)``: one row per input row, the generated
  columns first, then the input columns (:func:`generate`). **No model runs**: the text is
  the genai stand-in's labelled placeholder (:func:`ds500.localcloud.genai.placeholder_response`),
  the same for every prompt, deterministic, cut to ``max_output_tokens``; the status
  column is empty on success, and a row whose prompt is NULL or empty gets NULL text and a
  non-empty status while the query succeeds, as a failed row does in BigQuery.

Errors use BigQuery's reasons (``invalidQuery``, ``notFound``) with a link to the page that
documents the rule. The documentation:

- :data:`CREATE_DOCS`, the CREATE MODEL statement for remote models over LLMs;
- :data:`AI_DOCS` and :data:`ML_DOCS`, the two functions' reference pages (arguments, ranges,
  output columns).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ds500.localcloud.bigquery_ml_sql import closing_paren, parse_options, unquote
from ds500.localcloud.bigquery_sql import BigQueryError, invalid_query

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ds500.localcloud.store import Store

__all__ = [
    "AI_DOCS",
    "ARGUMENTS",
    "CREATE_DOCS",
    "FUNCTIONS",
    "ML_DOCS",
    "RemoteModel",
    "RemoteStatement",
    "build",
    "generate",
    "is_remote",
    "mentions_endpoint",
    "missing_connection",
    "parse_create",
    "resource",
]

CREATE_DOCS = (
    "https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-remote-model"
)
AI_DOCS = "https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-ai-generate-text"
ML_DOCS = "https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-generate-text"
CONNECTION_DOCS = "https://cloud.google.com/bigquery/docs/create-cloud-resource-connection"
#: the generative table functions, as :func:`ds500.localcloud.bigquery_ml_sql.find_calls` names them.
FUNCTIONS = {"GENERATE_TEXT", "AI.GENERATE_TEXT"}
NOTE = (
    "no Gemini model runs in the local stand-in: every row's text is the same labelled placeholder "
    "(on Google Cloud each row is a billed Gemini call)"
)

_NAME = r"(`[^`]+`|[A-Za-z_][\w\-]*(?:\.[A-Za-z_][\w\-]*){0,2})"
_HEAD = re.compile(
    r"(?is)^\s*CREATE\s+(OR\s+REPLACE\s+)?MODEL\s+(IF\s+NOT\s+EXISTS\s+)?" + _NAME + r"\s+REMOTE\b"
)
_CONNECTION = re.compile(r"(?is)^\s*WITH\s+CONNECTION\s+(DEFAULT\b|`[^`]*`(?:\.`[^`]*`)*|[\w.\-]+)\s*")
_LOCATION = re.compile(r"^(?:us|eu|[a-z]+-[a-z]+\d+)$", re.IGNORECASE)
_CONNECTION_ID = re.compile(r"^[A-Za-z0-9_\-]{1,1024}$")
_ENDPOINT_URL = re.compile(
    r"^https://(?:(?P<host>[a-z0-9\-]+)-)?aiplatform\.googleapis\.com/v1(?:beta1)?/projects/(?P<project>[^/]+)"
    r"/locations/(?P<location>[^/]+)/publishers/google/models/(?P<model>[^/?#]+)$"
)
_REQUEST_TYPES = {"DEDICATED", "SHARED", "UNSPECIFIED"}
_HARM_CATEGORIES = {
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
}
_THRESHOLDS = {
    "BLOCK_NONE",
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
}
_MODEL_PARAMETERS = (
    "max_output_tokens",
    "top_p",
    "temperature",
    "stop_sequences",
    "ground_with_google_search",
    "safety_settings",
)
#: the STRUCT fields each function takes for a Gemini model (its reference page's syntax).
#: AI.GENERATE_TEXT's syntax has no flatten_json_output, but its documented examples pass it;
#: the stand-in accepts it there and ignores it (the AI columns are always flat).
ARGUMENTS = {
    "GENERATE_TEXT": {*_MODEL_PARAMETERS, "model_params", "flatten_json_output", "request_type"},
    "AI.GENERATE_TEXT": {*_MODEL_PARAMETERS, "model_params", "flatten_json_output", "request_type"},
}


@dataclass(frozen=True)
class RemoteStatement:
    """A ``CREATE MODEL ... REMOTE WITH CONNECTION ... OPTIONS (...)`` statement, read and checked."""

    name: str
    replace: bool
    if_not_exists: bool
    connection: tuple[str | None, str, str] | None  # (project or None, location, id); None: DEFAULT
    endpoint: str
    model_id: str  # the Gemini model the endpoint names


@dataclass
class RemoteModel:
    """A remote model held by the stand-in: what ``ML.GENERATE_TEXT`` and ``AI.GENERATE_TEXT`` read."""

    name: str  # project.dataset.model
    endpoint: str  # as written in OPTIONS
    model_id: str
    connection: str | None  # projects/{p}/locations/{l}/connections/{c}; None for DEFAULT
    location: str  # the dataset's
    model_type: str = "REMOTE"
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))


def is_remote(sql: str) -> bool:
    """Whether ``sql`` is a CREATE MODEL statement for a remote model (``... MODEL name REMOTE ...``)."""
    return bool(_HEAD.match(sql))


def mentions_endpoint(sql: str) -> bool:
    """Whether a CREATE MODEL statement sets ENDPOINT in its OPTIONS (only remote models have one)."""
    return bool(re.search(r"(?is)\bOPTIONS\s*\((?:[^()']|'[^']*')*?\bENDPOINT\s*=", sql))


def missing_connection(sql: str) -> BigQueryError:
    """The error for ``CREATE MODEL ... OPTIONS (ENDPOINT = ...)`` without ``REMOTE WITH CONNECTION``."""
    return invalid_query(
        "The ENDPOINT option is only valid for a remote model: write REMOTE WITH CONNECTION "
        "`project_id.location.connection_id` (or REMOTE WITH CONNECTION DEFAULT) between the model name "
        f"and OPTIONS (see {CREATE_DOCS})"
    )


def _model_of(endpoint: Any) -> str:
    """The Gemini model id an ENDPOINT names (a model id, or a publisher model URL); 400 otherwise."""
    from ds500.localcloud import genai

    if not isinstance(endpoint, str) or not endpoint.strip():
        raise invalid_query(
            f"Invalid value for option ENDPOINT: {endpoint!r} must be a non-empty string (see {CREATE_DOCS})"
        )
    model = endpoint.strip()
    if model.startswith("https://"):
        found = _ENDPOINT_URL.match(model)
        if not found:
            raise invalid_query(
                f"Invalid value for option ENDPOINT: '{endpoint}' is not a publisher model URL such as "
                "https://us-central1-aiplatform.googleapis.com/v1/projects/PROJECT/locations/us-central1/"
                "publishers/google/models/gemini-3.5-flash, and the local stand-in only serves those "
                f"(see {CREATE_DOCS})"
            )
        host, location = found.group("host"), found.group("location")
        if (location == "global") != (host is None) or (host is not None and host != location):
            raise invalid_query(
                f"Invalid value for option ENDPOINT: the host of '{endpoint}' does not match its location "
                f"{location} (the global endpoint is aiplatform.googleapis.com; see {CREATE_DOCS})"
            )
        model = found.group("model")
    if model in genai.RETIRED_MODELS:
        raise invalid_query(
            f"Invalid value for option ENDPOINT: '{model}' is a retired Gemini model; use one of "
            f"{', '.join(sorted(genai.GENERATIVE_MODELS))} (see {genai.MODELS_DOCS})"
        )
    if model in genai.EMBEDDING_MODELS:
        raise invalid_query(
            f"Invalid value for option ENDPOINT: '{model}' is an embedding model; the local stand-in's "
            "remote models answer AI.GENERATE_TEXT and ML.GENERATE_TEXT, which need a Gemini model "
            f"(see {CREATE_DOCS})"
        )
    if model not in genai.GENERATIVE_MODELS:
        raise invalid_query(
            f"Invalid value for option ENDPOINT: '{endpoint}' is not a Gemini model the local stand-in knows "
            f"({', '.join(sorted(genai.GENERATIVE_MODELS))}; see {CREATE_DOCS})"
        )
    return model


def _connection_of(text: str) -> tuple[str | None, str, str] | None:
    """``DEFAULT`` -> None; `` `project.location.id` `` or ``location.id`` -> its parts; 400 otherwise."""
    if text.upper() == "DEFAULT":
        return None
    parts = unquote(text).split(".")
    if len(parts) not in (2, 3) or not all(parts):
        raise invalid_query(
            f"Invalid connection reference {text}: write `project_id.location.connection_id` (for example "
            f"`myproject.us.my_connection`) or DEFAULT (see {CREATE_DOCS})"
        )
    project, location, connection = parts if len(parts) == 3 else (None, *parts)
    if not _LOCATION.match(location):
        raise invalid_query(
            f"Invalid connection reference {text}: {location!r} is not a BigQuery location such as us, eu or "
            f"us-central1 (see {CONNECTION_DOCS})"
        )
    if not _CONNECTION_ID.match(connection):
        raise invalid_query(
            f"Invalid connection reference {text}: the connection ID {connection!r} may hold only letters, "
            f"digits, underscores and hyphens (see {CONNECTION_DOCS})"
        )
    return project, location.lower(), connection


def parse_create(sql: str) -> RemoteStatement:
    """Read and check a remote CREATE MODEL statement; 400 with BigQuery's wording and a link otherwise.

    Raises:
        BigQueryError: no ``WITH CONNECTION``, a malformed connection reference, no OPTIONS or no
            ENDPOINT, an unknown option, an endpoint that is not a Gemini model the stand-in knows
            (retired, an embedding model, an unknown id or URL), or an ``AS SELECT`` clause
            (supervised tuning, which the stand-in does not run).
    """
    head = _HEAD.match(sql)
    if not head:
        raise invalid_query("Syntax error: Expected CREATE [OR REPLACE] MODEL <name> REMOTE WITH CONNECTION")
    rest = sql[head.end() :]
    found = _CONNECTION.match(rest)
    if not found:
        raise invalid_query(
            "Syntax error: Expected keyword WITH CONNECTION after REMOTE: write REMOTE WITH CONNECTION "
            f"`project_id.location.connection_id` or REMOTE WITH CONNECTION DEFAULT (see {CREATE_DOCS})"
        )
    connection = _connection_of(found.group(1))
    rest = rest[found.end() :]
    options_at = re.match(r"(?is)^OPTIONS\s*\(", rest)
    if not options_at:
        if re.match(r"(?is)^AS\b", rest):
            raise _tuning()
        raise invalid_query(
            f"Missing required option: ENDPOINT (write OPTIONS (ENDPOINT = '...'); see {CREATE_DOCS})"
        )
    close = closing_paren(rest, options_at.end() - 1)
    options = parse_options(rest[options_at.end() : close])
    tail = rest[close + 1 :].strip().rstrip(";").strip()
    if tail:
        if re.match(r"(?is)^AS\b", tail):
            raise _tuning()
        raise invalid_query(f"Syntax error: Unexpected {tail[:40]!r} after OPTIONS (see {CREATE_DOCS})")
    unknown = sorted(set(options) - {"ENDPOINT"})
    if unknown:
        raise invalid_query(
            f"Unknown option: {unknown[0]}. A remote model over a Gemini model takes OPTIONS (ENDPOINT = "
            "'...') only (MODEL_TYPE and training options belong to models trained in BigQuery; "
            f"see {CREATE_DOCS})"
        )
    if "ENDPOINT" not in options:
        raise invalid_query(f"Missing required option: ENDPOINT (see {CREATE_DOCS})")
    return RemoteStatement(
        name=unquote(head.group(3)),
        replace=bool(head.group(1)),
        if_not_exists=bool(head.group(2)),
        connection=connection,
        endpoint=str(options["ENDPOINT"]),
        model_id=_model_of(options["ENDPOINT"]),
    )


def _tuning() -> BigQueryError:
    return invalid_query(
        "A remote model over a Gemini model as a service has no AS clause; AS SELECT prompt, label belongs "
        "to supervised tuning, which the local stand-in does not run (see "
        "https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-remote-model-tuned)"
    )


def build(statement: RemoteStatement, full: str, store: Store) -> RemoteModel:
    """The model ``full`` (``project.dataset.model``) for a checked statement: the dataset must exist
    and the connection must be in its location, as BigQuery requires; 404 / 400 otherwise."""
    project, dataset, _ = full.split(".")
    name = f"projects/{project}/datasets/{dataset}"
    if not store.exists(name):
        raise BigQueryError(404, "notFound", f"Not found: Dataset {project}:{dataset}")
    location = str(store.get(name).get("location") or "US")
    connection = None
    if statement.connection is not None:
        conn_project, conn_location, conn_id = statement.connection
        if conn_location != location.lower():
            raise invalid_query(
                f"The connection is in location {conn_location} but dataset {project}:{dataset} is in "
                f"{location}: a remote model's connection must be in the same location as its dataset "
                f"(see {CREATE_DOCS})"
            )
        connection = f"projects/{conn_project or project}/locations/{conn_location}/connections/{conn_id}"
    return RemoteModel(
        name=full,
        endpoint=statement.endpoint,
        model_id=statement.model_id,
        connection=connection,
        location=location,
    )


def resource(model: RemoteModel) -> dict[str, Any]:
    """BigQuery's REST ``Model`` resource for a remote model (``remoteModelInfo``), labelled local."""
    project, dataset, model_id = model.name.split(".")
    stamp = str(model.created_ms)
    info: dict[str, Any] = {"endpoint": model.endpoint, "remoteModelVersion": model.model_id}
    if model.connection is not None:
        info["connection"] = model.connection
    return {
        "modelReference": {"projectId": project, "datasetId": dataset, "modelId": model_id},
        "creationTime": stamp,
        "lastModifiedTime": stamp,
        "etag": model.uid,
        "location": model.location,
        "description": (
            f"Remote model over {model.model_id} in the ds500 local stand-in: AI.GENERATE_TEXT and "
            f"ML.GENERATE_TEXT answer with a labelled placeholder; {NOTE}."
        ),
        "labels": {"ds500-local-approximation": "true"},
        "remoteModelInfo": info,
    }


# -- generation --------------------------------------------------------------------------------
def _number(name: str, value: Any, low: float, high: float, docs: str, *, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "an INT64" if integer else "a FLOAT64"
        raise invalid_query(
            f"{name} must be {what} in the range [{low:g},{high:g}], got {value!r} (see {docs})"
        )


def _check_arguments(function: str, options: dict[str, Any], docs: str) -> dict[str, Any]:
    """The generationConfig the arguments ask for; 400 for a value out of its documented range."""
    shown = "ML.GENERATE_TEXT" if function == "GENERATE_TEXT" else function
    if "model_params" in options and set(options) & set(_MODEL_PARAMETERS):
        raise invalid_query(
            f"{shown}: model_params cannot be combined with "
            f"{', '.join(sorted(set(options) & set(_MODEL_PARAMETERS)))}; "
            f"give every model parameter in model_params or none there (see {docs})"
        )
    config: dict[str, Any] = {}
    if "max_output_tokens" in options:
        _number("max_output_tokens", options["max_output_tokens"], 1, 8192, docs, integer=True)
        config["maxOutputTokens"] = options["max_output_tokens"]
    for name in ("top_p", "temperature"):
        if name in options:
            _number(name, options[name], 0.0, 1.0, docs)
    for name in ("flatten_json_output", "ground_with_google_search"):
        if name in options and not isinstance(options[name], bool):
            raise invalid_query(f"{name} must be a BOOL, got {options[name]!r} (see {docs})")
    if options.get("ground_with_google_search"):
        raise invalid_query(
            f"{shown}: ground_with_google_search = TRUE needs Google Search, which the local stand-in cannot "
            f"reach offline (on Google Cloud it adds a grounding result column; see {docs})"
        )
    stops = options.get("stop_sequences", [])
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise invalid_query(f"stop_sequences must be an ARRAY<STRING>, got {stops!r} (see {docs})")
    seen: set[str] = set()
    for setting in options.get("safety_settings", []) or []:
        pairs = dict(setting) if isinstance(setting, list) else {}
        category, threshold = pairs.get("category"), pairs.get("threshold")
        if category not in _HARM_CATEGORIES or threshold not in _THRESHOLDS:
            raise invalid_query(
                f"safety_settings: each element is STRUCT('HARM_CATEGORY_...' AS category, 'BLOCK_...' AS "
                f"threshold) with a supported category and threshold, got {setting!r} (see {docs})"
            )
        if category in seen:
            raise invalid_query(f"safety_settings: category {category} is given twice (see {docs})")
        seen.add(category)
    request_type = options.get("request_type", "UNSPECIFIED")
    if request_type not in _REQUEST_TYPES:
        raise invalid_query(
            f"request_type must be one of {', '.join(sorted(_REQUEST_TYPES))}, got {request_type!r} "
            f"(see {docs})"
        )
    if request_type == "DEDICATED":
        raise invalid_query(
            "Provisioned throughput is not purchased or is not active (the local stand-in has none: use "
            f"SHARED or UNSPECIFIED; see {docs})"
        )
    if "model_params" in options:
        try:
            params = json.loads(options["model_params"])
        except (TypeError, ValueError) as error:
            raise invalid_query(
                f"model_params must be a JSON-formatted string literal: {error} (see {docs})"
            ) from error
        if not isinstance(params, dict) or "contents" in params:
            raise invalid_query(
                "model_params must be a JSON object with the fields of a generateContent request body "
                f"except contents (see {docs})"
            )
        generation = params.get("generation_config") or params.get("generationConfig") or {}
        limit = generation.get("max_output_tokens", generation.get("maxOutputTokens"))
        if limit is not None:
            _number("model_params max_output_tokens", limit, 1, 8192, docs, integer=True)
            config["maxOutputTokens"] = limit
    return config


def _prompt_text(value: Any, docs: str) -> str | None:
    """A prompt cell as text: a STRING, or a STRUCT / ARRAY of strings joined as CONCAT does; None: NULL."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        parts = [_prompt_text(v, docs) for v in items]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)
    raise invalid_query(
        f"the prompt column must be a STRING (or a STRUCT of STRING values), got {value!r} (see {docs})"
    )


def generate(function: str, model: RemoteModel, rows: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """The table ``ML.GENERATE_TEXT`` or ``AI.GENERATE_TEXT`` returns: generated columns, then the input.

    Args:
        function: ``GENERATE_TEXT`` (ML.) or ``AI.GENERATE_TEXT``.
        model: the remote model of the call's ``MODEL`` argument.
        rows: the input rows; a column named ``prompt`` (any case) holds the text to send.
        options: the STRUCT argument's values (names in lower case), not yet range-checked.

    Raises:
        BigQueryError: 400 for an unknown function, no ``prompt`` column, or an argument out of range.
    """
    import pandas as pd

    from ds500.localcloud import genai

    if function not in FUNCTIONS:
        raise invalid_query(
            f"Function not found: {function} (the local stand-in generates with {sorted(FUNCTIONS)})"
        )
    docs = ML_DOCS if function == "GENERATE_TEXT" else AI_DOCS
    shown = "ML.GENERATE_TEXT" if function == "GENERATE_TEXT" else function
    config = _check_arguments(function, options, docs)
    column = next((c for c in rows.columns if str(c).lower() == "prompt"), None)
    if column is None:
        found = ", ".join(map(str, rows.columns)) or "none"
        raise invalid_query(
            f"Invalid table-valued function {shown}: the input must have a column named prompt, and it has "
            f"{found}; alias the text to send, e.g. (SELECT CONCAT('Summarize: ', notes) AS prompt FROM ...) "
            f"(see {docs})"
        )
    texts, responses, statuses = [], [], []
    for value in rows[column]:
        prompt = _prompt_text(value, docs)
        if prompt is None or not prompt.strip():
            texts.append(None)
            responses.append(None)
            statuses.append("The prompt is NULL or empty: nothing was sent to the model for this row.")
            continue
        response = genai.placeholder_response(model.model_id, prompt, config)
        texts.append(response["candidates"][0]["content"]["parts"][0]["text"])
        responses.append(response)
        statuses.append("")

    def as_json(pick: Any) -> pd.Series:
        return pd.Series([None if r is None else json.dumps(pick(r)) for r in responses], dtype="string")

    out: dict[str, Any] = {}
    if function == "GENERATE_TEXT" and not options.get("flatten_json_output", False):
        out["ml_generate_text_result"] = as_json(lambda r: r)
        out["ml_generate_text_status"] = pd.Series(statuses, dtype="string")
    elif function == "GENERATE_TEXT":
        out["ml_generate_text_llm_result"] = pd.Series(texts, dtype="string")
        if options.get("safety_settings"):
            out["ml_generate_text_rai_result"] = as_json(
                lambda r: r["candidates"][0].get("safetyRatings", [])
            )
        out["ml_generate_text_status"] = pd.Series(statuses, dtype="string")
    else:
        out["result"] = pd.Series(texts, dtype="string")
        out["rai_result"] = as_json(lambda r: r["candidates"][0].get("safetyRatings", []))
        out["statistics"] = as_json(lambda r: r["usageMetadata"])
        out["full_response"] = as_json(lambda r: r)
        out["status"] = pd.Series(statuses, dtype="string")
    generated = pd.DataFrame(out)
    inputs = rows.reset_index(drop=True)
    clash = [c for c in inputs.columns if c in generated.columns]
    if clash:
        raise invalid_query(
            f"{shown}: the input already has a column named {clash[0]}, which the function returns; "
            f"rename it (see {docs})"
        )
    return pd.concat([generated, inputs], axis=1)
