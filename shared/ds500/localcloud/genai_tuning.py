"""Gemini supervised fine-tuning: ``projects.locations.tuningJobs`` (create, get, list, cancel).

The Google Gen AI SDK (``google-genai``) with ``vertexai=True`` sends ``client.tunings.tune(...)``
as ``POST /v1beta1/projects/{p}/locations/{l}/tuningJobs`` with a ``TuningJob`` body
(``baseModel``, ``supervisedTuningSpec`` with the Cloud Storage URIs of the JSONL datasets and the
hyperparameters) and ``client.tunings.get(name=...)`` as ``GET`` on the job's name.

What is real and what is not:

- **The request is checked** as the tuning API checks it: a base model that supports supervised
  fine-tuning (:data:`TUNABLE_MODELS`; the retired gemini-2.5 ids answer 404 as in
  :mod:`ds500.localcloud.genai`), a tuning region (:data:`TUNING_REGIONS`), a ``gs://`` JSONL
  training URI, and hyperparameters in their documented ranges (adapter size 1, 2, 4, 8 or 16).
  Such an error is answered at once (HTTP 400 or 404), so ``tunings.tune`` raises.
- **The datasets are read and validated** from the local Cloud Storage emulator, as the service
  does when the job starts: each line a JSON object with ``contents`` of alternating ``user`` and
  ``model`` turns that ends with the model's, no empty part, an optional ``systemInstruction``, at
  most :data:`MAX_EXAMPLE_TOKENS` tokens per example (estimated at four characters a token), and a
  validation set within :data:`MAX_VALIDATION_EXAMPLES`. As on Google Cloud, a bad dataset does
  not fail the create call: the job is created and ends ``JOB_STATE_FAILED`` with an ``error`` whose
  message names the line, the rule and its documentation link.
- **Nothing is trained.** A valid job goes ``JOB_STATE_PENDING`` → ``RUNNING`` → ``SUCCEEDED`` in a
  fraction of a second; its ``tunedModel`` names a placeholder model and endpoint that do not exist
  (nothing can be deployed or called), its ``description`` says so, and ``tuningDataStats`` holds
  the counts the bill would be based on (dataset tokens, and those tokens times the epochs).
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

from ds500.localcloud import jobs
from ds500.localcloud.errors import GoogleError, invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

__all__ = [
    "LOCAL_NOTE",
    "MAX_EXAMPLE_TOKENS",
    "MAX_VALIDATION_EXAMPLES",
    "MIN_TRAINING_EXAMPLES",
    "TUNABLE_MODELS",
    "TUNING_REGIONS",
    "dataset_problems",
    "register",
]

SFT_DOCS = "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/tuning/supervised-tuning"
DATA_DOCS = (
    "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/tuning/supervised-tuning/prepare-data"
)
API_DOCS = "https://docs.cloud.google.com/gemini-enterprise-agent-platform/reference/models/tuning"
MODELS_DOCS = "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/model-versions"

#: base models that support supervised fine-tuning, among those the course names (see SFT_DOCS)
TUNABLE_MODELS = {"gemini-3.5-flash", "gemini-3.5-flash-lite", "gemini-3.1-flash-lite"}
#: retired ids (the gemini-2.5 models retired in October 2026): 404, as for generateContent
RETIRED_MODELS = {
    "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "gemini-1.5-flash", "gemini-1.5-pro"
}
#: where tuning jobs run (SFT_DOCS, "Supported endpoints for model tuning")
TUNING_REGIONS = {"us-central1", "europe-west4"}
ADAPTER_SIZES = {"ADAPTER_SIZE_ONE", "ADAPTER_SIZE_TWO", "ADAPTER_SIZE_FOUR", "ADAPTER_SIZE_EIGHT",
                 "ADAPTER_SIZE_SIXTEEN"}
#: input and output tokens of one training example (SFT_DOCS, "Limitations")
MAX_EXAMPLE_TOKENS = 131_072
#: validation examples (SFT_DOCS): 5000, and no more than 30 % of the training examples above 1000
MAX_VALIDATION_EXAMPLES = 5000
#: Google documents no hard minimum (it recommends starting with 100 examples, DATA_DOCS); the
#: stand-in refuses a training set smaller than this, which no tuning job could learn from.
MIN_TRAINING_EXAMPLES = 10
LOCAL_NOTE = "[local stand-in: nothing was trained; the tuned model and endpoint are placeholders]"
_ROLES = ("user", "model")
_STEP_SECONDS = 0.05  # PENDING -> RUNNING -> SUCCEEDED, each step this long


def _tokens(text: str) -> int:
    """About four characters per token, Google's rule of thumb (as :func:`genai.estimate_tokens`)."""
    return math.ceil(len(text) / 4) if text else 0


def _texts(content: Any) -> list[str]:
    parts = content.get("parts") if isinstance(content, dict) else None
    return [p.get("text", "") for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _example_problems(example: Any) -> list[str]:
    """What is wrong with one JSONL example of a supervised tuning dataset ([] when it is valid)."""
    if not isinstance(example, dict):
        return ["the line is not a JSON object"]
    contents = example.get("contents")
    if not isinstance(contents, list) or not contents:
        return ["'contents' must be a non-empty list of turns"]
    problems = []
    for index, turn in enumerate(contents):
        role = turn.get("role") if isinstance(turn, dict) else None
        if role not in _ROLES:
            problems.append(f"contents[{index}].role is {role!r}; it must be 'user' or 'model'")
        elif role != _ROLES[index % 2]:
            problems.append(f"contents[{index}].role is {role!r}: turns alternate, starting with 'user'")
        texts = _texts(turn)
        if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            problems.append(f"contents[{index}] needs parts with non-empty text")
    last = contents[-1].get("role") if isinstance(contents[-1], dict) else None
    if last == "user":  # (a role that is neither was reported above)
        problems.append("the last turn must be the model's (the answer the model learns to give)")
    system = example.get("systemInstruction")
    if system is not None and not any(isinstance(t, str) and t.strip() for t in _texts(system)):
        problems.append("systemInstruction needs a part with non-empty text")
    tokens = sum(_tokens(t) for c in [*contents, system or {}] for t in _texts(c) if isinstance(t, str))
    if tokens > MAX_EXAMPLE_TOKENS:
        problems.append(f"about {tokens:,} tokens, over the {MAX_EXAMPLE_TOKENS:,} of one example")
    return problems


def dataset_problems(raw: bytes, uri: str) -> tuple[list[str], int, int]:
    """Read a JSONL tuning dataset: its problems (each naming the line), examples and tokens.

    Args:
        raw: the file's bytes.
        uri: its ``gs://`` URI, for the messages.

    Returns:
        ``(problems, examples, tokens)``: problems as ``"{uri} line N: ..."`` (the first three),
        the number of examples and their estimated tokens.
    """
    if not isinstance(raw, bytes | bytearray):
        raise ValueError(f"raw must be bytes, got {type(raw).__name__}")
    problems: list[str] = []
    examples = tokens = 0
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        examples += 1
        try:
            example = json.loads(line)
        except ValueError:
            problems.append(f"{uri} line {number}: not valid JSON (JSONL holds one JSON object per line)")
            continue
        problems += [f"{uri} line {number}: {p}" for p in _example_problems(example)]
        if isinstance(example, dict):
            turns = [*(example.get("contents") or []), example.get("systemInstruction") or {}]
            tokens += sum(_tokens(t) for c in turns for t in _texts(c) if isinstance(t, str))
    return problems[:3], examples, tokens


# -- the request ----------------------------------------------------------------------
def _validate(call: Call, body: dict[str, Any]) -> None:
    model = (body.get("baseModel") or "").rsplit("/", 1)[-1]
    if body.get("preTunedModel") or body.get("distillationSpec"):
        raise invalid(
            "the local stand-in runs supervised fine-tuning only (baseModel + supervisedTuningSpec)", API_DOCS
        )
    if not model:
        raise invalid("baseModel is required: the model to tune, e.g. 'gemini-3.5-flash-lite'", API_DOCS)
    if model in RETIRED_MODELS:
        raise GoogleError(404, f"Publisher Model `{model}` was not found or your project does not have "
                               f"access to it (retired model id; see {MODELS_DOCS})")
    if model not in TUNABLE_MODELS:
        raise invalid(f"base model {model!r} does not support supervised fine-tuning; supported: "
                      f"{sorted(TUNABLE_MODELS)}", SFT_DOCS)
    if call.location not in TUNING_REGIONS:
        raise invalid(f"tuning jobs run in {sorted(TUNING_REGIONS)}, not in {call.location!r} (create the "
                      "client for one of these regions; the global endpoint serves models, not tuning)",
                      SFT_DOCS)
    spec = body.get("supervisedTuningSpec") or {}
    for field in ("trainingDatasetUri", "validationDatasetUri"):
        uri = spec.get(field)
        if uri is None and field == "validationDatasetUri":
            continue
        if not isinstance(uri, str) or not uri.startswith("gs://") or not uri.endswith(".jsonl"):
            raise invalid(f"supervisedTuningSpec.{field} must be the gs:// URI of a JSONL file, got {uri!r}",
                          DATA_DOCS)
    hyper = spec.get("hyperParameters") or {}
    if "epochCount" in hyper and int(hyper["epochCount"]) < 1:
        raise invalid(f"hyperParameters.epochCount must be at least 1, got {hyper['epochCount']}", API_DOCS)
    if "learningRateMultiplier" in hyper and not float(hyper["learningRateMultiplier"]) > 0:
        raise invalid(f"hyperParameters.learningRateMultiplier must be positive, got "
                      f"{hyper['learningRateMultiplier']}", API_DOCS)
    size = hyper.get("adapterSize")
    if size is not None and size not in ADAPTER_SIZES:
        raise invalid(f"hyperParameters.adapterSize {size} is not supported: use 1, 2, 4, 8 or 16", SFT_DOCS)


# -- the job --------------------------------------------------------------------------
def _check_datasets(call: Call, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Read both datasets from the bucket: the first problem (or "") and the data statistics."""
    counts: dict[str, tuple[int, int]] = {}
    for field in ("trainingDatasetUri", "validationDatasetUri"):
        uri = spec.get(field)
        if not uri:
            continue
        try:
            raw = call.cloud.storage.read(uri)
        except GoogleError:
            return f"{field} {uri} cannot be read: no such object in Cloud Storage (upload it first)", {}
        problems, examples, tokens = dataset_problems(raw, uri)
        if problems:
            return "; ".join(problems), {}
        counts[field] = (examples, tokens)
    train, train_tokens = counts["trainingDatasetUri"]
    if train < MIN_TRAINING_EXAMPLES:
        return (f"the training dataset holds {train} examples; the local stand-in needs at least "
                f"{MIN_TRAINING_EXAMPLES}, and Google recommends starting with 100"), {}
    valid = counts.get("validationDatasetUri", (0, 0))[0]
    if valid > MAX_VALIDATION_EXAMPLES or (valid > 1000 and valid > 0.3 * train):
        return (f"the validation dataset holds {valid} examples: at most {MAX_VALIDATION_EXAMPLES}, and no "
                f"more than 30% of the {train} training examples when it holds over 1000"), {}
    stats: dict[str, Any] = {"tuningDatasetExampleCount": str(train)}
    epochs = int((spec.get("hyperParameters") or {}).get("epochCount") or 0)
    if epochs:  # billed: the dataset's tokens, once per epoch (estimated at four characters a token)
        stats["totalBillableTokenCount"] = str(train_tokens * epochs)
    return "", {"supervisedTuningDataStats": stats}


def _finish(call: Call, name: str, problem: str, stats: dict[str, Any]) -> None:
    store = call.cloud.store
    deadline = time.monotonic() + 10
    while not store.exists(name) and time.monotonic() < deadline:  # the router stores it after on_create
        time.sleep(0.005)
    time.sleep(_STEP_SECONDS)
    if store.get(name).get("state") != "JOB_STATE_PENDING":  # cancelled meanwhile
        return
    store.update(name, state="JOB_STATE_RUNNING", startTime=now(), updateTime=now())
    time.sleep(_STEP_SECONDS)
    if store.get(name).get("state") != "JOB_STATE_RUNNING":
        return
    if problem:
        error = {"code": 3, "message": f"Dataset validation failed: {problem} (rule: {DATA_DOCS})"}
        store.update(name, state="JOB_STATE_FAILED", error=error, endTime=now(), updateTime=now())
        return
    project, location = call.project, call.location
    job_id = name.rsplit("/", 1)[-1]
    tuned = {
        "model": f"projects/{project}/locations/{location}/models/{job_id}@1",
        "endpoint": f"projects/{project}/locations/{location}/endpoints/{job_id}",
    }
    store.update(name, state="JOB_STATE_SUCCEEDED", tunedModel=tuned, tuningDataStats=stats, endTime=now(),
                 updateTime=now())


def _start(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    """Mark the job local, read its datasets, and move it to an end state in the background."""
    job["description"] = f"{job.get('description', '')} {LOCAL_NOTE}".strip()
    job.setdefault("tunedModelDisplayName", f"{job['baseModel'].rsplit('/', 1)[-1]}-tuned")
    problem, stats = _check_datasets(call, job.get("supervisedTuningSpec") or {})
    threading.Thread(target=_finish, args=(call, job["name"], problem, stats), name="ds500-tuning",
                     daemon=True).start()
    return job


def register(router: Router) -> None:
    router.add(
        Collection(
            "projects/locations/tuningJobs",
            resource_type="google.cloud.aiplatform.{version}.TuningJob",
            validate=_validate,
            on_create=_start,
            on_get=jobs.wait_until_done,
            verbs={"cancel": jobs.cancel},
            initial_state="JOB_STATE_PENDING",
        )
    )
