"""Cloud Build: ``projects.locations.builds`` (create, get, list), checked but never run.

Calls come as REST (``ds500.cloud.CloudContext.rest_session("cloudbuild")``; the course does not
install ``google-cloud-build``): ``POST /v1/projects/{p}/locations/{l}/builds`` with a ``Build``
answers a long-running operation whose ``metadata.build`` is the queued build; ``GET`` on
``.../builds/{id}`` polls it to ``SUCCESS`` or ``FAILURE``.

What is real and what is not:

- **The request is checked** as Cloud Build checks it (HTTP 400 at once): a ``source.storageSource``
  object that exists in the local Cloud Storage emulator, at least one step with a builder ``name``,
  substitutions that resolve, and every ``images`` entry in Artifact Registry form
  ``LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG]`` in a repository that exists
  (``gcr.io`` is refused: Container Registry is shut down).
- **The source is checked** as the build would find it: a gzipped tarball that holds the Dockerfile
  named by ``-f`` (or ``Dockerfile``) of each ``docker build`` step and every file its ``COPY`` lines
  name, and an image for each ``images`` entry tagged by a step. A problem ends the build
  ``FAILURE`` with a ``statusDetail`` that says which, as Docker would fail the step.
- **Docker is not run and no image is built.** A valid build ends ``SUCCESS`` with
  :data:`LOCAL_NOTE` in its ``statusDetail``, and its ``images`` are registered in the Artifact
  Registry repository (:func:`ds500.localcloud.artifactregistry.register_image`) so that a pre-flight
  check that lists them finds them. Offline, an endpoint serves ``ds500.serving`` from the bucket,
  the code the image would contain.
"""

from __future__ import annotations

import hashlib
import io
import re
import shlex
import tarfile
import threading
import time
import uuid
from typing import Any

from ds500.localcloud import artifactregistry
from ds500.localcloud.errors import GoogleError, invalid
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

__all__ = ["DONE_STATUSES", "LOCAL_NOTE", "register", "source_problems"]

BUILD_DOCS = "https://cloud.google.com/build/docs/build-config-file-schema"
SOURCE_DOCS = "https://cloud.google.com/build/docs/api/reference/rest/v1/projects.builds#StorageSource"
SUBSTITUTION_DOCS = "https://cloud.google.com/build/docs/configuring-builds/substitute-variable-values"
AR_DOCS = "https://cloud.google.com/build/docs/building/store-artifacts-in-artifact-registry"
GCR_DOCS = "https://cloud.google.com/artifact-registry/docs/transition/transition-from-gcr"
DOCKERFILE_DOCS = "https://docs.docker.com/reference/dockerfile/#copy"

LOCAL_NOTE = ("local stand-in: the build request, the source and the Dockerfile were checked; no image was "
              "built; offline the endpoint serves ds500.serving, the code this image would contain")
#: statuses a build never leaves
DONE_STATUSES = frozenset({"SUCCESS", "FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED", "EXPIRED"})
_BUILDS = "projects/locations/builds"
_METADATA = "type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata"
_AR_IMAGE = re.compile(
    r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[a-z0-9-]+)/(?P<repository>[a-z0-9-]+)/"
    r"(?P<path>[a-z0-9._-]+(?:/[a-z0-9._-]+)*)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?$"
)
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_STEP_SECONDS = 0.02  # QUEUED -> WORKING -> an end status, each step this long


# -- the request ----------------------------------------------------------------------
def _substitute(text: str, values: dict[str, str]) -> str:
    def one(found: re.Match[str]) -> str:
        key = found.group(1) or found.group(2)
        if key not in values:
            raise invalid(f"key in the template {key!r} is not a valid built-in substitution nor given in "
                          "`substitutions` (user-defined keys start with '_'; SHORT_SHA and COMMIT_SHA are "
                          "set by triggers, or passed for a manual build)", SUBSTITUTION_DOCS)
        return values[key]

    return _VARIABLE.sub(one, text.replace("$$", "\0")).replace("\0", "$")


def _check_image(call: Call, image: str) -> re.Match[str]:
    if image.startswith(("gcr.io/", "us.gcr.io/", "eu.gcr.io/", "asia.gcr.io/")):
        raise invalid(f"images entry {image!r} is in Container Registry, which was shut down on 2025-03-18: "
                      "push to an Artifact Registry Docker repository, "
                      "LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG", GCR_DOCS)
    found = _AR_IMAGE.match(image)
    if not found:
        raise invalid(f"images entry {image!r} is not an Artifact Registry image "
                      "LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG]", AR_DOCS)
    name = artifactregistry.repository_name(found["project"], found["location"], found["repository"])
    if not call.cloud.store.exists(name):
        raise invalid(f"images entry {image!r} names the repository {name}, which does not exist: create the "
                      "Docker repository first (the push after the build would fail)", AR_DOCS)
    return found


def _resolved(call: Call, build_id: str) -> tuple[list[dict[str, Any]], list[str], str]:
    """Check the request; return the steps and images with substitutions applied, and the source URI."""
    body = call.body
    storage = (body.get("source") or {}).get("storageSource") or {}
    if not storage.get("bucket") or not storage.get("object"):
        raise invalid("source.storageSource needs the bucket and object of a gzipped tarball of the build "
                      "context (upload it to Cloud Storage first)", SOURCE_DOCS)
    uri = f"gs://{storage['bucket']}/{storage['object']}"
    try:
        call.cloud.storage.read(uri)
    except GoogleError as error:
        raise invalid(f"source.storageSource {uri} cannot be read: no such object in Cloud Storage "
                      "(upload the build context first)", SOURCE_DOCS) from error
    steps = body.get("steps")
    if not isinstance(steps, list) or not steps:
        raise invalid("a build needs at least one step in `steps`", BUILD_DOCS)
    given = body.get("substitutions") or {}
    if not isinstance(given, dict):
        raise invalid("substitutions must be a map of names to strings", SUBSTITUTION_DOCS)
    values = {"PROJECT_ID": call.project, "BUILD_ID": build_id, "LOCATION": call.location,
              "PROJECT_NUMBER": "000000000000", **{str(k): str(v) for k, v in given.items()}}
    resolved = []
    for index, step in enumerate(steps):
        if not isinstance(step, dict) or not step.get("name"):
            raise invalid(f"steps[{index}] needs `name`, the builder image the step runs", BUILD_DOCS)
        args = step.get("args") or []
        if not isinstance(args, list):
            raise invalid(f"steps[{index}].args must be a list of strings", BUILD_DOCS)
        resolved.append({**step, "name": _substitute(step["name"], values),
                         "args": [_substitute(str(a), values) for a in args]})
    images = [_substitute(str(i), values) for i in body.get("images") or []]
    for image in images:
        _check_image(call, image)
    return resolved, images, uri


# -- the source -----------------------------------------------------------------------
def _option(args: list[str], *flags: str) -> list[str]:
    """The values of ``-t X`` / ``--tag=X`` style options in docker arguments."""
    values = []
    for index, arg in enumerate(args):
        for flag in flags:
            if arg == flag and index + 1 < len(args):
                values.append(args[index + 1])
            elif flag.startswith("--") and arg.startswith(flag + "="):
                values.append(arg.split("=", 1)[1])
    return values


def _copy_sources(dockerfile: str) -> list[str]:
    """The sources of each ``COPY`` line without ``--from`` (line continuations joined)."""
    sources = []
    for line in dockerfile.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True) if line.strip() else []
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        flags = [w for w in words[1:] if w.startswith("--")]
        if any(f.startswith("--from") for f in flags):
            continue
        paths = [w for w in words[1:] if not w.startswith("--")]
        sources += [p for p in paths[:-1] if "://" not in p]
    return sources


def source_problems(raw: bytes, steps: list[dict[str, Any]], images: list[str]) -> str:
    """What would make the build fail with this source, or ``""``.

    Args:
        raw: the bytes of the build context (a gzipped tarball).
        steps: the build steps, substitutions applied.
        images: the ``images`` entries, substitutions applied.

    Returns:
        The first problem, worded as the failing step would report it; ``""`` when none.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            names = {m.name.removeprefix("./").rstrip("/") for m in tar.getmembers()}
            files = {m.name.removeprefix("./"): m for m in tar.getmembers() if m.isfile()}
            tagged: set[str] = set()
            for index, step in enumerate(steps):
                args = step.get("args") or []
                if not step["name"].endswith("cloud-builders/docker") or not args or args[0] != "build":
                    continue
                context = (step.get("dir") or "").strip("/")
                dockerfile = (_option(args, "-f", "--file") or ["Dockerfile"])[-1].removeprefix("./")
                path = f"{context}/{dockerfile}" if context else dockerfile
                if path not in files:
                    return (f"step {index}: unable to prepare context: the Dockerfile {path!r} is not in the "
                            f"source tarball (it holds {sorted(names)[:8]})")
                text = tar.extractfile(files[path]).read().decode("utf-8", errors="replace")  # type: ignore[union-attr]
                for source in _copy_sources(text):
                    wanted = source.removeprefix("./").rstrip("/") or "."
                    present = wanted in names or any(n.startswith(wanted + "/") for n in names)
                    if wanted != "." and not present:
                        return (f"step {index}: COPY failed: {source!r} not found in the build context "
                                f"(add it to the source tarball; see {DOCKERFILE_DOCS})")
                tagged.update(_option(args, "-t", "--tag"))
    except (tarfile.TarError, OSError, EOFError) as error:
        return f"the source is not a gzipped tarball ({error}); upload a .tgz of the build context"
    missing = [i for i in images if i not in tagged and f"{i}:latest" not in tagged]
    if missing:
        return f"failed to find one or more images after execution of build steps: {missing}"
    return ""


# -- the build ------------------------------------------------------------------------
def _finish(
    call: Call, name: str, op_name: str, uri: str, steps: list[dict[str, Any]], images: list[str]
) -> None:
    store = call.cloud.store
    try:
        _run(call, name, uri, steps, images)
    finally:  # the operation ends with the build, its response the final build
        build = store.get(name)
        store.update(op_name, done=True, metadata={"@type": _METADATA, "build": build},
                     response={"@type": "type.googleapis.com/google.devtools.cloudbuild.v1.Build", **build})


def _run(call: Call, name: str, uri: str, steps: list[dict[str, Any]], images: list[str]) -> None:
    store = call.cloud.store
    time.sleep(_STEP_SECONDS)
    store.update(name, status="WORKING", startTime=now(), updateTime=now())
    time.sleep(_STEP_SECONDS)
    raw = call.cloud.storage.read(uri)
    problem = source_problems(raw, steps, images)
    if problem:
        store.update(name, status="FAILURE", statusDetail=f"local stand-in: {problem}", finishTime=now(),
                     failureInfo={"type": "USER_BUILD_STEP", "detail": problem})
        return
    source_digest = hashlib.sha256(raw).hexdigest()
    by_image: dict[str, list[str]] = {}
    for image in images:
        tag = _AR_IMAGE.match(image)["tag"]  # type: ignore[index]  # checked at create
        by_image.setdefault(image.rsplit(":", 1)[0] if tag else image, []).append(tag or "latest")
    built = []
    for path, tags in by_image.items():
        registered = artifactregistry.register_image(call.cloud, path, tags, source_digest)
        digest = registered["uri"].split("@", 1)[1]
        built += [{"name": f"{path}:{tag}", "digest": digest} for tag in tags]
    store.update(name, status="SUCCESS", statusDetail=LOCAL_NOTE, finishTime=now(),
                 results={"images": built, "buildStepImages": ["" for _ in steps]})


def _create_build(call: Call) -> dict[str, Any]:
    build_id = str(uuid.uuid4())
    steps, images, uri = _resolved(call, build_id)
    name = f"{call.parent}/builds/{build_id}"
    body = dict(call.body)
    storage = body["source"]["storageSource"]
    body.update(
        id=build_id, name=name, projectId=call.project, status="QUEUED", statusDetail=(
            "local stand-in: queued; the source and the Dockerfile are checked next; nothing is built"),
        createTime=now(), timeout=body.get("timeout", "600s"), logsBucket=f"gs://{call.project}_cloudbuild/logs",
        sourceProvenance={"resolvedStorageSource": storage},
    )
    store = call.cloud.store
    build = store.put(name, body)
    op_name = f"projects/{call.project}/locations/{call.location}/operations/{store.new_id()}"
    operation = store.put(op_name, {"name": op_name, "metadata": {"@type": _METADATA, "build": build}})
    threading.Thread(target=_finish, args=(call, name, op_name, uri, steps, images), name="ds500-cloudbuild",
                     daemon=True).start()
    return operation


def _wait(call: Call, build: dict[str, Any]) -> dict[str, Any]:
    """Answer a poll as soon as the (local, sub-second) build has ended, at most 30 s later."""
    return call.cloud.store.wait_for(build["name"], lambda b: b.get("status") in DONE_STATUSES, timeout=30)


def register(router: Router) -> None:
    router.add(Collection(_BUILDS, create=_create_build, on_get=_wait))
