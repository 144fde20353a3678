"""Cloud Storage, served by the maintained ``gcp-storage-emulator`` package.

Why not our own: Cloud Storage's JSON and upload APIs (multipart, resumable,
generations) are large, and an emulator that the ``google-cloud-storage`` client is
tested against already exists. The SDK finds it through ``STORAGE_EMULATOR_HOST``
(set by :func:`ds500.cloud.context`). This module only starts it on a free loopback
port, writes its objects under the stand-in's work folder, and copies each request
into the stand-in's log so the notebook shows storage calls beside the others.
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

from ds500.localcloud.errors import not_found
from ds500.localcloud.requestlog import RequestLog

__all__ = ["StorageEmulator", "split_gs_uri"]


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> ``("bucket", "a/b")``; raises ``ValueError`` otherwise."""
    if not isinstance(uri, str) or not uri.startswith("gs://") or len(uri) <= 5:
        raise ValueError(f"expected a Cloud Storage URI such as 'gs://bucket/path', got {uri!r}")
    bucket, _, path = uri[5:].partition("/")
    return bucket, path


class StorageEmulator:
    """``gcp-storage-emulator`` on ``127.0.0.1:<free port>``, with its requests logged.

    Args:
        log: the stand-in's request log.
        data_dir: where objects are stored (a folder of the stand-in).
    """

    def __init__(self, log: RequestLog, data_dir: str | Path | None = None) -> None:
        from gcp_storage_emulator.storage import Storage

        self.log = log
        self.data_dir = Path(data_dir) if data_dir else None
        self.storage = Storage(
            use_memory_fs=self.data_dir is None, data_dir=str(self.data_dir) if self.data_dir else None
        )
        self.url = ""
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> StorageEmulator:
        import logging

        from gcp_storage_emulator.server import RequestHandler

        # its "Content handled as string" warnings (one per download) would fill the notebook
        logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
        log = self.log

        class LoggedHandler(RequestHandler):
            """The emulator's handler, plus one log entry per request (no object bytes)."""

            _status = 0

            def send_response(self, code: int, message: str | None = None) -> None:
                self._status = code
                super().send_response(code, message)

            def handle_one_request(self) -> None:
                super().handle_one_request()
                if getattr(self, "command", None):
                    size = self.headers.get("Content-Length") if self.headers else None
                    request = {"bytes": int(size)} if size and int(size) else None
                    log.add("storage", self.command, self.path, self._status, request, None)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(LoggedHandler, self.storage))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="ds500-gcs", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        self._httpd = None

    def objects(self) -> list[str]:
        """``gs://bucket`` for each bucket and ``gs://bucket/object`` for each object."""
        found: list[str] = []
        for bucket in sorted(self.storage.buckets):
            found.append(f"gs://{bucket}")
            found.extend(f"gs://{bucket}/{name}" for name in sorted(self.storage.objects.get(bucket, {})))
        return found

    def read(self, uri: str) -> bytes:
        """The bytes of ``gs://bucket/object``; 404 (as a GoogleError) when missing."""
        bucket, path = split_gs_uri(uri)
        if bucket not in self.storage.buckets:
            raise not_found(f"bucket gs://{bucket}")
        try:
            return self.storage.get_file(bucket, path, show_error=False) or _missing(uri)
        except Exception as error:  # the emulator raises its own NotFound
            if type(error).__name__ == "NotFound":
                raise not_found(f"object {uri}") from error
            raise

    def write(self, uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store ``data`` at ``gs://bucket/object``, as a service writes output; 404 without bucket."""
        from gcp_storage_emulator.handlers.objects import _checksums, _make_object_resource

        bucket, path = split_gs_uri(uri)
        if bucket not in self.storage.buckets or not path:
            raise not_found(f"bucket gs://{bucket}" if path else f"object {uri}")
        resource = _make_object_resource(self.url, bucket, path, content_type, str(len(data)))
        self.storage.create_file(bucket, path, data, _checksums(data, resource))

    def list(self, prefix_uri: str) -> list[str]:
        """``gs://`` URIs of the objects under a prefix."""
        bucket, prefix = split_gs_uri(prefix_uri)
        if bucket not in self.storage.buckets:
            raise not_found(f"bucket gs://{bucket}")
        return [
            f"gs://{bucket}/{n}" for n in sorted(self.storage.objects.get(bucket, {})) if n.startswith(prefix)
        ]


def _missing(uri: str) -> bytes:
    raise not_found(f"object {uri}")
