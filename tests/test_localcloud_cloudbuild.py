"""The stand-in's Cloud Build builds and Artifact Registry repositories, through ``ctx.rest_session``."""

from __future__ import annotations

import io
import os
import tarfile
import time

import pytest

os.environ.setdefault("NO_GCE_CHECK", "true")

from ds500.localcloud import cloudbuild  # noqa: E402

DOCKERFILE = "FROM python:3.11-slim\nWORKDIR /app\nCOPY pyproject.toml ./\nCOPY shared/ ./shared/\n"
REPO = "ds500-tests"


def _tgz(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


GOOD = {"Dockerfile": DOCKERFILE, "pyproject.toml": "[project]\n", "shared/ds500/__init__.py": ""}


@pytest.fixture(scope="module")
def registry(ctx):
    session, url = ctx.rest_session("artifactregistry")
    parent = f"projects/{ctx.project_id}/locations/us-central1"
    op = session.post(f"{url}/v1/{parent}/repositories", params={"repositoryId": REPO},
                      json={"format": "DOCKER"})
    assert op.status_code == 200 and op.json()["done"], op.text
    yield session, url, f"{parent}/repositories/{REPO}"
    session.delete(f"{url}/v1/{parent}/repositories/{REPO}")


@pytest.fixture(scope="module")
def bucket(ctx):
    bucket = ctx.storage_client().create_bucket(f"{ctx.project_id}-build-tests", location="us-central1")
    bucket.blob("good.tgz").upload_from_string(_tgz(GOOD))
    bucket.blob("no-dockerfile.tgz").upload_from_string(_tgz({"pyproject.toml": ""}))
    bucket.blob("no-shared.tgz").upload_from_string(_tgz({"Dockerfile": DOCKERFILE, "pyproject.toml": ""}))
    yield bucket
    bucket.delete(force=True)


def _image(ctx, tag: str = "v1") -> str:
    return f"us-central1-docker.pkg.dev/{ctx.project_id}/{REPO}/churn-predictor:{tag}"


def _submit(ctx, bucket, source: str = "good.tgz", images=None, steps=None, substitutions=None):
    session, url = ctx.rest_session("cloudbuild")
    image = _image(ctx, "$SHORT_SHA")
    body = {
        "source": {"storageSource": {"bucket": bucket.name, "object": source}},
        "steps": steps if steps is not None else [
            {"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", image, "-t", _image(ctx), "-f",
                                                              "Dockerfile", "."]}],
        "images": images if images is not None else [image, _image(ctx)],
        "substitutions": {"SHORT_SHA": "abc1234"} if substitutions is None else substitutions,
    }
    return session, url, session.post(f"{url}/v1/projects/{ctx.project_id}/locations/us-central1/builds",
                                      params={"projectId": ctx.project_id}, json=body)


def _final(session, url, answer):
    build = answer.json()["metadata"]["build"]
    for _ in range(50):
        build = session.get(f"{url}/v1/{build['name']}").json()
        if build["status"] in cloudbuild.DONE_STATUSES:
            return build
        time.sleep(0.1)
    raise AssertionError(build)


def test_rest_session_points_at_the_stand_in(ctx) -> None:
    from google.auth.transport.requests import AuthorizedSession

    session, url = ctx.rest_session("cloudbuild")
    assert isinstance(session, AuthorizedSession) and url == ctx.local.url


def test_repository_rules(ctx, registry) -> None:
    session, url, name = registry
    got = session.get(f"{url}/v1/{name}").json()
    assert got["format"] == "DOCKER" and got["name"] == name
    listed = session.get(f"{url}/v1/{name.rsplit('/', 2)[0]}/repositories").json()["repositories"]
    assert name in [r["name"] for r in listed]
    parent = name.rsplit("/", 2)[0]
    again = session.post(f"{url}/v1/{parent}/repositories", params={"repositoryId": REPO},
                         json={"format": "DOCKER"})
    assert again.status_code == 409
    for query, body in (({"repositoryId": "Bad_Name"}, {"format": "DOCKER"}), ({"repositoryId": "x1"}, {})):
        refused = session.post(f"{url}/v1/{parent}/repositories", params=query, json=body)
        assert refused.status_code == 400
        assert "(rule: https://cloud.google.com/artifact-registry" in refused.text
    nowhere = session.post(f"{url}/v1/projects/{ctx.project_id}/locations/mars-north1/repositories",
                           params={"repositoryId": "x1"}, json={"format": "DOCKER"})
    assert nowhere.status_code == 400 and "repo-locations" in nowhere.text


def test_a_valid_build_succeeds_without_building_and_registers_its_tags(ctx, registry, bucket) -> None:
    session, url, repository = registry
    builds, builds_url, answer = _submit(ctx, bucket)
    assert answer.status_code == 200, answer.text
    queued = answer.json()["metadata"]["build"]
    assert queued["status"] == "QUEUED" and queued["name"].endswith(queued["id"])
    build = _final(builds, builds_url, answer)
    assert build["status"] == "SUCCESS" and build["statusDetail"] == cloudbuild.LOCAL_NOTE
    assert {i["name"] for i in build["results"]["images"]} == {_image(ctx, "abc1234"), _image(ctx)}
    images = session.get(f"{url}/v1/{repository}/dockerImages").json()["dockerImages"]
    assert len(images) == 1 and set(images[0]["tags"]) == {"abc1234", "v1"}
    assert images[0]["uri"].startswith(_image(ctx).rsplit(":", 1)[0] + "@sha256:")
    assert session.get(f"{url}/v1/{images[0]['name']}").json()["uri"] == images[0]["uri"]
    listed = builds.get(f"{builds_url}/v1/projects/{ctx.project_id}/locations/us-central1/builds").json()
    assert build["name"] in [b["name"] for b in listed["builds"]]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"source": "missing.tgz"}, "cannot be read"),
        ({"steps": []}, "at least one step"),
        ({"steps": [{"args": ["build", "."]}]}, "needs `name`"),
        ({"images": ["gcr.io/ds500-local/churn-predictor:v1"]}, "shut down"),
        ({"images": ["docker.io/library/churn:v1"]}, "not an Artifact Registry image"),
        ({"images": ["us-central1-docker.pkg.dev/ds500-local/no-such-repo/churn:v1"]}, "does not exist"),
        ({"images": ["europe-west4-docker.pkg.dev/ds500-local/ds500-tests/churn:v1"]}, "does not exist"),
        ({"substitutions": {}}, "not a valid built-in substitution"),
    ],
)
def test_bad_requests_are_refused_with_the_rule(ctx, registry, bucket, change, words) -> None:
    _, _, answer = _submit(ctx, bucket, **change)
    assert answer.status_code == 400 and words in answer.text, answer.text
    assert "(rule: https://" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("source", "words"),
    [("no-dockerfile.tgz", "the Dockerfile 'Dockerfile' is not in the source"),
     ("no-shared.tgz", "COPY failed: 'shared/' not found")],
)
def test_a_bad_source_fails_the_build_and_registers_nothing(ctx, registry, bucket, source, words) -> None:
    session, url, repository = registry
    before = session.get(f"{url}/v1/{repository}/dockerImages").json().get("dockerImages", [])
    builds, builds_url, answer = _submit(ctx, bucket, source=source, images=[_image(ctx, "broken")],
                                         steps=[{"name": "gcr.io/cloud-builders/docker",
                                                 "args": ["build", "-t", _image(ctx, "broken"), "."]}])
    build = _final(builds, builds_url, answer)
    assert build["status"] == "FAILURE" and words in build["statusDetail"], build["statusDetail"]
    after = session.get(f"{url}/v1/{repository}/dockerImages").json().get("dockerImages", [])
    assert all("broken" not in i["tags"] for i in after) and len(after) == len(before)


def test_an_image_no_step_tagged_fails_the_build(ctx, registry, bucket) -> None:
    builds, builds_url, answer = _submit(ctx, bucket, images=[_image(ctx, "untagged")])
    build = _final(builds, builds_url, answer)
    assert build["status"] == "FAILURE" and "failed to find one or more images" in build["statusDetail"]


def test_deleting_the_repository_removes_its_images(ctx, bucket) -> None:
    session, url = ctx.rest_session("artifactregistry")
    parent = f"projects/{ctx.project_id}/locations/us-central1"
    session.post(f"{url}/v1/{parent}/repositories", params={"repositoryId": "short-lived"},
                 json={"format": "DOCKER"})
    image = f"us-central1-docker.pkg.dev/{ctx.project_id}/short-lived/app:v1"
    builds, builds_url, answer = _submit(ctx, bucket, images=[image], steps=[
        {"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", image, "."]}])
    assert _final(builds, builds_url, answer)["status"] == "SUCCESS"
    deleted = session.delete(f"{url}/v1/{parent}/repositories/short-lived").json()
    assert deleted["done"] and deleted["response"]["@type"].endswith("protobuf.Empty")
    assert session.get(f"{url}/v1/{parent}/repositories/short-lived").status_code == 404
    assert not [n for n in ctx.leftovers() if "/short-lived" in n]
