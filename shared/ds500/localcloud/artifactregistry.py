"""Artifact Registry: ``projects.locations.repositories`` and their ``dockerImages``.

Calls come as REST (``ds500.cloud.CloudContext.rest_session("artifactregistry")``, an authorised
``requests`` session, since the course does not install ``google-cloud-artifact-registry``):

- ``POST /v1/projects/{p}/locations/{l}/repositories?repositoryId=ID`` with a ``Repository``
  (``format``: ``DOCKER`` ...) answers a long-running operation whose response is the repository;
  ``GET`` / ``DELETE`` on its name and ``GET`` on the collection get, delete and list, as on
  Google Cloud (delete answers an operation too, and removes the images in it).
- ``GET .../repositories/{r}/dockerImages`` lists images and ``GET`` on an image's name
  (``.../dockerImages/IMAGE@sha256:DIGEST``) gets one.

What is real and what is not: the repository rules (id, format, location) are checked as the API
checks them. **No image is stored**: the only images are those the stand-in's Cloud Build
(:mod:`ds500.localcloud.cloudbuild`) registered after a build it checked; their digests are
computed from the build's source and image path, and nothing can be pulled.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import quote

from ds500.localcloud import validation
from ds500.localcloud.errors import already_exists, invalid, not_found
from ds500.localcloud.routing import Call, Collection, Router
from ds500.localcloud.store import now

__all__ = ["FORMATS", "REPOSITORIES", "register", "register_image", "repository_name"]

REPO_DOCS = "https://cloud.google.com/artifact-registry/docs/repositories/create-repos"
API_DOCS = "https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories"
LOCATIONS_DOCS = "https://cloud.google.com/artifact-registry/docs/repo-locations"
IMAGES_DOCS = ("https://cloud.google.com/artifact-registry/docs/reference/rest/v1/"
               "projects.locations.repositories.dockerImages")

REPOSITORIES = "projects/locations/repositories"
_IMAGES = "projects/locations/repositories/dockerImages"
#: repository formats of the v1 API (FORMAT_UNSPECIFIED is refused)
FORMATS = frozenset({"DOCKER", "MAVEN", "NPM", "APT", "YUM", "PYTHON", "KFP", "GO", "GENERIC"})
#: multi-regions, besides the regions of ``validation.REGIONS`` ("global" is not a repository location)
_MULTI_REGIONS = frozenset({"us", "europe", "asia"})
_REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_OPERATION_METADATA = "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata"
_REPOSITORY_TYPE = "google.devtools.artifactregistry.v1.Repository"


def repository_name(project: str, location: str, repository: str) -> str:
    """``projects/{project}/locations/{location}/repositories/{repository}``."""
    for label, value in (("project", project), ("location", location), ("repository", repository)):
        if not isinstance(value, str) or not value or "/" in value:
            raise ValueError(f"{label} must be a non-empty name without '/', got {value!r}")
    return f"projects/{project}/locations/{location}/repositories/{repository}"


def _operation(call: Call, response: dict[str, Any] | None, target: str) -> dict[str, Any]:
    """A finished operation ``projects/{p}/locations/{l}/operations/{id}``, as Artifact Registry names it."""
    store = call.cloud.store
    name = f"projects/{call.project}/locations/{call.location}/operations/{store.new_id()}"
    body = {"@type": f"type.googleapis.com/{_REPOSITORY_TYPE}", **response} if response is not None else {
        "@type": "type.googleapis.com/google.protobuf.Empty"}
    return store.put(name, {"name": name, "done": True, "response": body,
                            "metadata": {"@type": _OPERATION_METADATA, "target": target}})


def _create_repository(call: Call) -> dict[str, Any]:
    body = dict(call.body)
    repository_id = call.query.get("repositoryId", "")
    if not _REPOSITORY_ID.match(repository_id):
        raise invalid(f"repositoryId {repository_id!r} must be 1-63 lowercase letters, digits and hyphens, "
                      "starting with a letter and not ending with a hyphen", REPO_DOCS)
    if call.location not in (validation.REGIONS - {"global"}) | _MULTI_REGIONS:
        raise invalid(f"Artifact Registry has no location {call.location!r} (a region such as 'us-central1' "
                      "or a multi-region 'us', 'europe', 'asia')", LOCATIONS_DOCS)
    repo_format = body.get("format", "")
    if repo_format not in FORMATS:
        raise invalid(f"format {repo_format or 'FORMAT_UNSPECIFIED'!r} is not a repository format: use one "
                      f"of {sorted(FORMATS)} (DOCKER for container images)", API_DOCS)
    validation.common(body)
    name = f"{call.parent}/repositories/{repository_id}"
    if call.cloud.store.exists(name):
        raise already_exists(name)
    body.update(name=name, mode=body.get("mode", "STANDARD_REPOSITORY"), createTime=now(), updateTime=now(),
                sizeBytes="0")
    return _operation(call, call.cloud.store.put(name, body), name)


def _delete_repository(call: Call) -> dict[str, Any]:
    call.cloud.store.delete(call.name)  # its images go with it
    return _operation(call, None, call.name)


def register_image(cloud: Any, image: str, tags: list[str], source_digest: str) -> dict[str, Any]:
    """Record an image a checked build would have pushed; move its tags from older digests.

    Args:
        cloud: the running stand-in.
        image: ``LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE`` without tag.
        tags: the tags the build gave it.
        source_digest: a digest of the build's source, so one source gives one image digest.

    Returns:
        The stored ``DockerImage``.
    """
    host, project, repository, path = image.split("/", 3)
    location = host.removesuffix("-docker.pkg.dev")
    parent = repository_name(project, location, repository)
    store = cloud.store
    if not store.exists(parent):
        raise not_found(parent)
    digest = "sha256:" + hashlib.sha256(f"{source_digest}|{image}".encode()).hexdigest()
    for old in store.children(parent, "dockerImages"):  # a tag names one digest of an image at a time
        if old["uri"].split("@")[0] == image and set(old.get("tags", [])) & set(tags):
            kept = [t for t in old.get("tags", []) if t not in tags]
            store.update(old["name"], tags=kept, updateTime=now())
    name = f"{parent}/dockerImages/{quote(path, safe='')}@{digest}"
    previous = store.get(name).get("tags", []) if store.exists(name) else []
    stamp = now()
    return store.put(name, {
        "name": name,
        "uri": f"{image}@{digest}",
        "tags": sorted(set(previous) | set(tags)),
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "buildTime": stamp,
        "uploadTime": stamp,
        "updateTime": stamp,
    })


def _refuse_image_create(call: Call) -> dict[str, Any]:
    raise invalid("images are pushed, not created: push with Docker or list the image in a Cloud Build "
                  "build's `images`", IMAGES_DOCS)


def register(router: Router) -> None:
    router.add(
        Collection(REPOSITORIES, create=_create_repository, methods={"DELETE": _delete_repository}),
        Collection(_IMAGES, create=_refuse_image_create, colon_in_names=True),
        # the operations of Artifact Registry (and of any API that names them so), for polling
        Collection("projects/locations/operations"),
    )
