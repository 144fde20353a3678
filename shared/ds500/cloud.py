"""``RUN_ON_GCP``: where the real Google Cloud SDKs send their requests.

Why: a cloud cell is the code a student runs on Google Cloud, written once. With
``RUN_ON_GCP = True``, :func:`context` initialises the SDKs with the student's
credentials and project. With ``RUN_ON_GCP = False`` (the default, and always in the
test suite) it starts the local Google Cloud stand-in (:mod:`ds500.localcloud`) on
loopback and points the same SDKs at it with anonymous credentials, so the same cell
runs offline, bills nothing and shows the requests it sent.

BigQuery is served by the stand-in too (``ds500.localcloud.bigquery``, on DuckDB):
:meth:`CloudContext.bigquery_client` points the real client at it offline.

Nothing here imports ``google.cloud.aiplatform`` or ``bigquery`` at import time
(they take a second or more); :func:`context` and :func:`bigquery_client` do.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from ds500 import offline

__all__ = [
    "CloudContext",
    "CloudSetupError",
    "LOCAL_PROJECT",
    "REST_SERVICES",
    "bigquery_client",
    "context",
    "spec",
    "validate_project_id",
    "validate_region",
]

LOCAL_PROJECT = "ds500-local"
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCP_EXTRA = 'pip install "ds500[gcp]"'
#: the REST APIs that :meth:`CloudContext.rest_session` serves, and their public base URLs
REST_SERVICES = {
    "artifactregistry": "https://artifactregistry.googleapis.com",
    "cloudbuild": "https://cloudbuild.googleapis.com",
}


class CloudSetupError(RuntimeError):
    """The cloud path cannot start: missing project, credentials or SDK.

    The message always says what to do next (set ``PROJECT_ID``, log in, install).
    """


@dataclass(frozen=True)
class CloudContext:
    """What :func:`context` set up; pass it to :func:`bigquery_client` and friends.

    Attributes:
        run_on_gcp: True when calls really go to Google Cloud (and bill).
        project_id: the project (``"ds500-local"`` offline, in the local stand-in).
        region: the Vertex AI region, e.g. ``"us-central1"``.
        credentials: ``google.auth`` credentials (anonymous offline).
        staging_bucket: the ``gs://`` bucket given to ``aiplatform.init``, if any.
        experiment: the Vertex AI Experiment name (only applied online).
    """

    run_on_gcp: bool
    project_id: str
    region: str
    credentials: Any
    staging_bucket: str | None = None
    experiment: str | None = None
    local: Any = None

    @property
    def dry_run(self) -> bool:
        """True when nothing is sent to Google Cloud (``not run_on_gcp``)."""
        return not self.run_on_gcp

    @property
    def api_endpoint(self) -> str:
        """Where the SDKs send requests offline (the stand-in), or ``""`` on Google Cloud."""
        return self.local.url if self.local is not None else ""

    def client_options(self, service: str = "aiplatform") -> dict[str, str]:
        """``client_options`` for a GAPIC client of ``service``, online or offline.

        Online: the regional endpoint where the service needs one
        (``{region}-aiplatform.googleapis.com``, ``modelarmor.{region}.rep.googleapis.com``),
        else ``{}`` (the global default). Offline: the stand-in on loopback.
        """
        if self.local is not None:
            return {"api_endpoint": self.local.url}
        regional = {"aiplatform": f"{self.region}-aiplatform.googleapis.com",
                    "modelarmor": f"modelarmor.{self.region}.rep.googleapis.com"}
        return {"api_endpoint": regional[service]} if service in regional else {}

    def client(self, client_class: Any, service: str = "aiplatform", **kwargs: Any) -> Any:
        """Build a GAPIC client (``aiplatform_v1.JobServiceClient``, ``dlp_v2.DlpServiceClient`` ...).

        The one difference offline is where it points: the stand-in, over REST (it
        speaks JSON, not gRPC). Online it is the client with your credentials.
        """
        options = {**self.client_options(service), **kwargs.pop("client_options", {})}
        if self.local is not None:
            kwargs.setdefault("transport", "rest")
        return client_class(credentials=self.credentials, client_options=options or None, **kwargs)

    def genai_client(self, location: str | None = None) -> Any:
        """A ``google.genai.Client`` for Gemini on Vertex AI (offline: the stand-in).

        Args:
            location: where the models are served; Gemini 3 models use ``"global"``.
                Defaults to the context's region.

        Offline the client sends to the stand-in with a fixed local bearer token (the
        Gen AI SDK refuses anonymous credentials); see ``ds500.localcloud.genai`` for
        what is simulated there.
        """
        from google import genai
        from google.genai import types

        location = _optional_str("location", location) or self.region
        if self.local is None:
            return genai.Client(vertexai=True, project=self.project_id, location=location,
                                credentials=self.credentials)
        from google.oauth2.credentials import Credentials

        return genai.Client(vertexai=True, project=self.project_id, location=location,
                            credentials=Credentials(token="ds500-local-stand-in"),
                            http_options=types.HttpOptions(base_url=self.local.url))

    def rest_session(self, service: str) -> tuple[Any, str]:
        """An authorised HTTP session and the base URL for a Google REST API without a client here.

        Why: Cloud Build and Artifact Registry have Python client libraries
        (``google-cloud-build``, ``google-cloud-artifact-registry``) that the course does not
        install; underneath, they and ``gcloud`` send JSON over HTTPS with an OAuth bearer
        token, which is what ``google.auth.transport.requests.AuthorizedSession`` does.

        Args:
            service: ``"cloudbuild"`` or ``"artifactregistry"``.

        Returns:
            ``(session, base_url)``: online the context's credentials and
            ``https://{service}.googleapis.com``; offline the stand-in's URL (the anonymous
            credentials add no token, and the stand-in needs none). Paths start at the
            version: ``f"{base_url}/v1/projects/..."``.

        Raises:
            ValueError: for a service not in :data:`REST_SERVICES`.
        """
        if not isinstance(service, str) or service not in REST_SERVICES:
            raise ValueError(f"rest_session serves {sorted(REST_SERVICES)}, got {service!r}; for Vertex AI, "
                             "Cloud Storage or BigQuery use their client libraries (ctx.cloud().client(...))")
        from google.auth.transport.requests import AuthorizedSession

        base_url = self.local.url if self.local is not None else REST_SERVICES[service]
        return AuthorizedSession(self.credentials), base_url

    def logging_client(self) -> Any:
        """A ``google.cloud.logging.Client`` over HTTP/JSON (offline: the stand-in).

        Offline, the client's environment detection (it asks the metadata server whether
        it runs on GKE or Compute Engine, for each logger it builds) is answered with the
        ``global`` resource, what it finds on any machine outside Google Cloud, instead
        of reaching for the network.
        """
        from google.cloud import logging as cloud_logging

        if self.local is not None:
            from google.cloud.logging_v2 import logger
            from google.cloud.logging_v2.resource import Resource

            logger.detect_resource = lambda project="": Resource(
                type="global", labels={"project_id": project})
        return cloud_logging.Client(project=self.project_id, credentials=self.credentials, _use_grpc=False,
                                    client_options=self.client_options("logging") or None)

    def bigquery_client(self, location: str | None = None) -> Any:
        """A ``google.cloud.bigquery.Client`` (offline: the stand-in's BigQuery, on DuckDB).

        Args:
            location: where jobs run and datasets are created; defaults to the context's
                region. Use ``"US"`` or ``"EU"`` for multi-region datasets (the public
                datasets are in ``US``).

        Offline the client sends its REST calls to the stand-in
        (``client_options={"api_endpoint": ...}``, anonymous credentials); see
        ``ds500.localcloud.bigquery`` for what runs and what is approximated.
        """
        location = _optional_str("location", location) or self.region
        try:
            from google.cloud import bigquery
        except ImportError as error:
            raise CloudSetupError(
                f"google-cloud-bigquery is not installed: {_GCP_EXTRA} (then restart the kernel)"
            ) from error
        options = {"api_endpoint": self.local.url} if self.local is not None else None
        return bigquery.Client(project=self.project_id, credentials=self.credentials, location=location,
                               client_options=options)

    def storage_client(self) -> Any:
        """A ``google.cloud.storage.Client`` (offline: the stand-in's storage emulator)."""
        from google.cloud import storage

        return storage.Client(project=self.project_id, credentials=self.credentials)

    def leftovers(self) -> list[str]:
        """Offline: what the lab created and has not deleted (resource names, ``gs://`` objects).

        Online this is Google Cloud's business: use the console or ``gcloud`` to check.
        """
        if self.local is None:
            raise CloudSetupError("leftovers() lists the local stand-in's resources; on Google Cloud "
                                  "check the console or `gcloud ai ... list` instead")
        return self.local.leftovers()


# -- validation -------------------------------------------------------------------
def validate_region(region: str) -> str:
    """Check a Google Cloud region name and return it stripped.

    Args:
        region: e.g. ``"us-central1"`` or ``"europe-west4"``.

    Returns:
        The region without surrounding whitespace.

    Raises:
        TypeError: if ``region`` is not a string.
        ValueError: if it is empty or does not look like ``us-central1``.
    """
    if not isinstance(region, str):
        raise TypeError(f"REGION must be a string such as 'us-central1', got {region!r}")
    value = region.strip()
    if not value:
        raise ValueError("REGION is empty: set REGION = 'us-central1' in the parameters cell")
    if not _REGION.match(value):
        raise ValueError(
            f"REGION {region!r} is not a Google Cloud region name: use lowercase "
            "'<area>-<direction><number>' such as 'us-central1' or 'europe-west4' "
            "(a zone such as 'us-central1-a' is not a region)"
        )
    return value


def validate_project_id(project_id: str) -> str:
    """Check a Google Cloud project id (not the project *name* or *number*).

    Args:
        project_id: 6–30 characters, lowercase letters, digits and hyphens,
            starting with a letter and not ending with a hyphen.

    Returns:
        The project id without surrounding whitespace.

    Raises:
        TypeError: if ``project_id`` is not a string.
        ValueError: if it breaks the project-id rules.
    """
    if not isinstance(project_id, str):
        raise TypeError(f"PROJECT_ID must be a string, got {project_id!r}")
    value = project_id.strip()
    if not _PROJECT.match(value):
        raise ValueError(
            f"PROJECT_ID {project_id!r} is not a valid project id: it must be 6–30 "
            "characters of lowercase letters, digits and hyphens, start with a letter and "
            "not end with a hyphen. Copy the ID (not the name or number) from the console's "
            "project picker or `gcloud config get-value project`."
        )
    return value


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        hint = ""
        if isinstance(value, str):
            hint = f" (the string {value!r} is not a bool: write {name} = False without quotes)"
        raise TypeError(f"{name} must be True or False{hint}, got {value!r}")


def _optional_str(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string or None, got {value!r}")
    return value.strip()


def _import_aiplatform() -> Any:
    try:
        from google.cloud import aiplatform
    except ImportError as error:
        raise CloudSetupError(
            f"google-cloud-aiplatform is not installed: {_GCP_EXTRA} (then restart the kernel)"
        ) from error
    return aiplatform


# -- context ----------------------------------------------------------------------
def context(
    run_on_gcp: bool,
    project_id: str = "",
    region: str = "us-central1",
    *,
    staging_bucket: str | None = None,
    experiment: str | None = None,
    vertex_ai: bool = True,
) -> CloudContext:
    """Point the Google Cloud SDKs at your project, or at the local stand-in, and say which.

    Offline (``run_on_gcp=False``): starts the stand-in of this process (once), sets
    ``STORAGE_EMULATOR_HOST`` for google-cloud-storage, sets ``NO_GCE_CHECK=true`` so
    google-auth does not probe the metadata server, and calls ``aiplatform.init`` with
    anonymous credentials, ``api_endpoint`` = the stand-in and ``api_transport="rest"``.
    The project defaults to ``"ds500-local"``. ``experiment`` is not passed to
    ``aiplatform.init`` (it looks the experiment up): a lab creates it first.

    Online (``run_on_gcp=True``): needs ``project_id``, refuses to run when the
    offline guard is requested (``DS500_OFFLINE=1``, the test environment), takes
    Application Default Credentials from ``google.auth.default()`` and calls
    ``aiplatform.init`` with project, region, credentials, staging bucket and
    experiment.

    Args:
        run_on_gcp: the lab's ``RUN_ON_GCP`` parameter (a real bool).
        project_id: the lab's ``PROJECT_ID``; required online, optional offline.
        region: the lab's ``REGION``, e.g. ``"us-central1"``.
        staging_bucket: a ``gs://`` bucket for training code and artefacts.
        experiment: a Vertex AI Experiment to log runs to (online only).
        vertex_ai: False for a lab that uses no Vertex AI SDK (BigQuery, Cloud Storage,
            Sensitive Data Protection, Gemini through google-genai only): then
            ``google.cloud.aiplatform`` is neither imported nor initialised, which saves
            its import (3 to 4 s on a 2-core machine, measured 2026-12-03). The other
            clients of the context work the same.

    Returns:
        A :class:`CloudContext`.

    Raises:
        TypeError: if ``run_on_gcp`` is not a bool (e.g. the string ``"False"``).
        ValueError: for a malformed region, project id or bucket.
        CloudSetupError: no project id online, offline guard requested online,
            no credentials, or google-cloud-aiplatform not installed.
    """
    _check_bool("RUN_ON_GCP", run_on_gcp)
    _check_bool("vertex_ai", vertex_ai)
    region = validate_region(region)
    if not isinstance(project_id, str):
        raise TypeError(f"PROJECT_ID must be a string, got {project_id!r}")
    if project_id.strip():
        project_id = validate_project_id(project_id)
    staging_bucket = _optional_str("staging_bucket", staging_bucket)
    if staging_bucket is not None and not staging_bucket.startswith("gs://"):
        raise ValueError(
            f"staging_bucket must be a Cloud Storage URI such as 'gs://my-bucket', got {staging_bucket!r}"
        )
    experiment = _optional_str("experiment", experiment)

    if not run_on_gcp:
        return _offline_context(project_id or LOCAL_PROJECT, region, staging_bucket, experiment, vertex_ai)

    if not project_id.strip():
        raise CloudSetupError(
            "RUN_ON_GCP is True but PROJECT_ID is empty: set PROJECT_ID in the parameters cell"
        )
    if offline.requested():
        raise CloudSetupError(
            "RUN_ON_GCP is True but the offline guard is requested (DS500_OFFLINE=1): the "
            "test environment never calls Google Cloud. Run the cloud path in your own "
            "notebook (Colab, Workbench) without DS500_OFFLINE, or set RUN_ON_GCP = False."
        )
    aiplatform = _import_aiplatform() if vertex_ai else None
    offline.set_no_gce_check(False)  # Workbench / Colab Enterprise need the metadata server
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _adc_project = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
    except DefaultCredentialsError as error:
        raise CloudSetupError(
            "RUN_ON_GCP is True but no Google Cloud credentials were found "
            "(Application Default Credentials). Locally run "
            "`gcloud auth application-default login`; on Colab run "
            "`from google.colab import auth; auth.authenticate_user()`; on Vertex AI "
            "Workbench or Colab Enterprise the runtime's service account is used "
            f"automatically. Details: {error}"
        ) from error
    if aiplatform is not None:
        aiplatform.init(
            project=project_id,
            location=region,
            credentials=credentials,
            staging_bucket=staging_bucket,
            experiment=experiment,
        )
    return CloudContext(True, project_id, region, credentials, staging_bucket, experiment)


def _offline_context(
    project_id: str, region: str, staging_bucket: str | None, experiment: str | None, vertex_ai: bool
) -> CloudContext:
    """Point every SDK at the local stand-in on loopback (started on first use)."""
    import os

    offline.set_no_gce_check(True)
    aiplatform = _import_aiplatform() if vertex_ai else None
    from google.auth.credentials import AnonymousCredentials

    from ds500.localcloud import display, server

    local = server.running()
    os.environ["STORAGE_EMULATOR_HOST"] = local.storage_url  # google-cloud-storage reads it
    credentials = AnonymousCredentials()
    if aiplatform is not None:
        # No experiment here: init(experiment=...) looks it up, and the lab creates it first.
        aiplatform.init(
            project=project_id,
            location=region,
            credentials=credentials,
            staging_bucket=staging_bucket,
            api_endpoint=local.url,
            api_transport="rest",
        )
        _point_resource_manager(local.url)
    display.watch(local)
    return CloudContext(False, project_id, region, credentials, staging_bucket, experiment, local)


def _point_resource_manager(url: str) -> None:
    """Offline: the Resource Manager client inside aiplatform talks to the stand-in too.

    Why: ``PipelineJob.submit`` asks Resource Manager for the project number (to check
    that the pipeline-root bucket is the project's) through a gRPC client built without
    options, which no environment variable redirects; unpointed, it retries for about
    a minute offline. Only where it connects changes, not what the SDK does.
    """
    import types

    from google.cloud import resourcemanager
    from google.cloud.aiplatform.utils import resource_manager_utils

    class LocalProjectsClient(resourcemanager.ProjectsClient):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("client_options", {"api_endpoint": url})
            kwargs.setdefault("transport", "rest")
            super().__init__(**kwargs)

    resource_manager_utils.resourcemanager = types.SimpleNamespace(ProjectsClient=LocalProjectsClient)


def bigquery_client(ctx: CloudContext, *, location: str | None = None) -> Any:
    """The ``google.cloud.bigquery.Client`` of a context: :meth:`CloudContext.bigquery_client`.

    Raises:
        TypeError: if ``ctx`` is not a :class:`CloudContext`.
        ValueError: if ``location`` is given but empty.
        CloudSetupError: if google-cloud-bigquery is not installed.
    """
    if not isinstance(ctx, CloudContext):
        raise TypeError(
            f"bigquery_client needs the CloudContext from ds500.cloud.context(...) "
            f"(or ctx.cloud()), got {type(ctx).__name__}"
        )
    return ctx.bigquery_client(location)


# -- SDK objects as plain dicts --------------------------------------------------------
def _message_to_dict(message: Any) -> dict[str, Any]:
    from google.protobuf import json_format

    return json_format.MessageToDict(message)


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of an attribute value, or ``_SKIP``."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return [v for v in items if v is not _SKIP]
    if isinstance(value, dict):
        out = {str(k): _plain(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _SKIP}
    try:
        return spec(value)
    except TypeError:
        return _SKIP


_SKIP = object()
_PRIVATE_SKIP = {
    "api_client",
    "credentials",
    "exception",
    "gca_resource",
    "has_logged_custom_job",
    "logged_web_access_uris",
}


def _is_empty(value: Any) -> bool:
    """True for {}, [] and containers that hold only empty containers."""
    if isinstance(value, dict):
        return all(_is_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_empty(v) for v in value)
    return False


def _pending_resource(obj: Any) -> dict[str, Any]:
    """Describe an aiplatform object whose API resource does not exist yet.

    ``CustomTrainingJob`` and friends create their ``TrainingPipeline`` only in
    ``run()`` (after uploading the script), so the settings given to the
    constructor are all there is to show.
    """
    result: dict[str, Any] = {
        "resourceType": type(obj).__name__,
        "state": "not submitted: the API resource is created by run()",
    }
    for key, value in vars(obj).items():
        name = key.lstrip("_")
        if "__" in name or name in _PRIVATE_SKIP or value is None:
            continue
        plain = _plain(value)
        if plain is _SKIP or _is_empty(plain):
            continue
        result[name] = plain
    return result


def spec(obj: Any) -> dict[str, Any]:
    """Turn a real SDK object into a plain dict, for display in a dry run.

    Supported, in this order:

    - a ``dict``: returned as it is;
    - a proto-plus message (``aiplatform_v1.types...``): via its protobuf;
    - a raw protobuf message: ``json_format.MessageToDict``;
    - an aiplatform resource (``CustomJob``, ``PipelineJob`` ...): its
      ``_gca_resource`` (the request body, camelCase like the REST API); a training
      job not yet run shows its constructor settings;
    - an object with ``to_api_repr()`` (BigQuery ``QueryJobConfig``, ``Table`` ...);
    - an object with ``to_dict()``.

    Args:
        obj: the SDK object.

    Returns:
        A plain dict.

    Raises:
        TypeError: for any other type (the message names it).
    """
    if isinstance(obj, dict):
        return obj
    proto = sys.modules.get("proto")
    if proto is not None and isinstance(obj, proto.Message):
        return _message_to_dict(type(obj).pb(obj))
    pb_message = sys.modules.get("google.protobuf.message")
    if pb_message is not None and isinstance(obj, pb_message.Message):
        return _message_to_dict(obj)
    if hasattr(obj, "_gca_resource"):
        resource = obj._gca_resource
        if resource is None:
            return _pending_resource(obj)
        return spec(resource)
    for method in ("to_api_repr", "to_dict"):
        function = getattr(obj, method, None)
        if callable(function):
            result = function()
            if isinstance(result, dict):
                return result
    raise TypeError(
        f"spec() cannot turn a {type(obj).__module__}.{type(obj).__qualname__} into a dict: "
        "pass a dict, a protobuf / proto-plus message, an aiplatform resource, or an object "
        "with to_api_repr() or to_dict()"
    )
