"""The local Google Cloud stand-in: one HTTP server on 127.0.0.1, plus a storage emulator.

Why a real server: the labs call the real SDKs (google-cloud-aiplatform, -storage,
-pubsub, google-genai ...), which speak REST; pointing them at loopback executes
exactly the code a student runs on Google Cloud, with the same request shapes and
the same exceptions, and bills nothing. Like LocalStack for AWS, every answer says
it is local (an ``x-ds500-local-stand-in`` header, and the notebook view).

Layout: each service module in this package declares its REST collections with a
``register(router)`` function; :class:`LocalCloud` finds them, serves them on one
port with :mod:`ds500.localcloud.routing`, and runs the maintained
``gcp-storage-emulator`` for Cloud Storage on a second port. The server runs in a
background thread of the process that starts it (a lab's kernel), so it starts in
well under a second and stops with the kernel.
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import pkgutil
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ds500.localcloud.errors import GoogleError
from ds500.localcloud.requestlog import RequestLog
from ds500.localcloud.routing import Router
from ds500.localcloud.store import Store

__all__ = ["LOCAL_HEADER", "LocalCloud", "running", "stop_running"]

LOCAL_HEADER = "x-ds500-local-stand-in"
_NOT_SERVICES = {
    "errors",
    "requestlog",
    "routing",
    "server",
    "store",
    "validation",
    "display",
    "pricing",
    "runner",
    "storage",
    "protos",
    "jobs",
}


def _free_socket() -> socket.socket:
    """A listening socket on an ephemeral loopback port (never a public interface)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


_WORKDIR_PREFIX = "ds500-localcloud-"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        pass
    return True


def _new_workdir() -> Path:
    """A temporary folder named after this process, after removing those of ended processes.

    Why the sweep: :meth:`LocalCloud.stop` removes its own folder, but a kernel that is
    killed (Jupyter's "immediate" shutdown, nbval, a crash) never gets there; its folder
    is removed by the next stand-in that starts on the machine. Process ids are those of
    this process's namespace: a container that shares ``/tmp`` with its host but not its
    processes should give each stand-in a ``workdir`` of its own.
    """
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{_WORKDIR_PREFIX}*"):
        pid = folder.name.removeprefix(_WORKDIR_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{os.getpid()}-", dir=root))


class LocalCloud:
    """The stand-in: its store of resources, its request log and its two servers.

    Args:
        workdir: where local work happens (job outputs, the bucket's files); when omitted,
            a new temporary folder that :meth:`stop` removes.

    Attributes:
        store: every resource created, by Google resource name.
        log: every request the SDKs sent.
        router: the collections of every service module.
        url: ``http://127.0.0.1:PORT`` of the API server, once started.
        storage_url: ``http://127.0.0.1:PORT`` of the Cloud Storage emulator.
    """

    def __init__(self, workdir: str | Path | None = None) -> None:
        self._owns_workdir = workdir is None
        self.workdir = _new_workdir() if workdir is None else Path(workdir)
        self.store = Store()
        self.log = RequestLog()
        self.router = Router()
        self.url = ""
        self.storage_url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._storage: Any = None
        self.callbacks: list[Any] = []  # the notebook hooks of ds500.localcloud.display
        for module in self._service_modules():
            module.register(self.router)

    @staticmethod
    def _service_modules() -> list[Any]:
        package = importlib.import_module("ds500.localcloud")
        names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in _NOT_SERVICES)
        modules = [importlib.import_module(f"ds500.localcloud.{name}") for name in names]
        return [m for m in modules if hasattr(m, "register")]  # a service's helper modules have none

    # -- the API server ---------------------------------------------------------------
    def app(self) -> Any:
        """The ASGI app: one catch-all route into the router (CPU work runs in a thread pool)."""
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def handle(request: Request) -> JSONResponse:
            raw = await request.body()
            status, payload = await run_in_threadpool(
                self.handle,
                request.method,
                request.url.path,
                raw,
                # a repeated parameter (``timeSeries=a&timeSeries=b``) arrives comma-joined
                {key: ",".join(request.query_params.getlist(key)) for key in request.query_params},
            )
            return JSONResponse(payload, status_code=status, headers={LOCAL_HEADER: "1"})

        methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", handle, methods=methods)])

    def handle(self, method: str, path: str, raw: bytes, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer one request (synchronously) and log it; returns status and JSON."""
        prefix_handler = self.router.prefix_handler(path)
        if prefix_handler is not None:
            try:
                shown, payload = prefix_handler(method, path, raw, query, self)
                return self._logged(method, path, shown, 200, payload)
            except GoogleError as error:
                return self._logged(method, path, None, error.code, error.body())
            except Exception as error:  # noqa: BLE001 - as below: a stand-in bug, INTERNAL
                logging.getLogger(__name__).exception("local stand-in failure on %s %s", method, path)
                bug = self.router.raise_for(error)
                return self._logged(method, path, None, bug.code, bug.body())
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            error = GoogleError(400, f"the request body is not JSON: {raw[:80]!r}")
            return self._logged(method, path, None, error.code, error.body())
        try:
            call = Router.parse(method, path, body if isinstance(body, dict) else {}, query, self)
            body = self.router.readable(call)
            return self._logged(method, path, body, 200, self.router.dispatch(call))
        except GoogleError as error:
            return self._logged(method, path, body, error.code, error.body())
        except Exception as error:  # noqa: BLE001 - any other failure is reported as INTERNAL
            logging.getLogger(__name__).exception("local stand-in failure on %s %s", method, path)
            bug = self.router.raise_for(error)
            return self._logged(method, path, body, bug.code, bug.body())

    def _logged(
        self, method: str, path: str, body: Any, status: int, payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        self.log.add("api", method, path, status, body, payload)
        return status, payload

    def start(self) -> LocalCloud:
        """Start both servers on free loopback ports; returns self once they answer."""
        if self._thread is not None:
            return self
        import uvicorn

        sock = _free_socket()
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="ds500-localcloud", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local Google Cloud stand-in did not start within 10 s")
            time.sleep(0.005)
        self.url = f"http://127.0.0.1:{port}"
        from ds500.localcloud import storage

        self._storage = storage.StorageEmulator(self.log, self.workdir / "gcs").start()
        self.storage_url = self._storage.url
        return self

    def stop(self) -> None:
        """Stop both servers (resources are forgotten) and remove the temporary folder it made."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._storage is not None:
            self._storage.stop()
        self._server = self._thread = self._storage = None
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def storage(self) -> Any:
        """The Cloud Storage emulator (:class:`~ds500.localcloud.storage.StorageEmulator`), for
        services that read or write the bucket as Google's do (batch prediction, model artifacts)."""
        if self._storage is None:
            raise RuntimeError("the local stand-in is not started: call start() first")
        return self._storage

    def leftovers(self) -> list[str]:
        """What is still there: resource names, then ``gs://bucket/object`` of stored objects.

        A lab's clean-up cell ends with this list empty, as a clean project would be.
        """
        names = [n for n in self.store.names() if not n.startswith("projects/") or "/operations/" not in n]
        objects = self._storage.objects() if self._storage is not None else []
        return names + objects


_running: LocalCloud | None = None
_lock = threading.Lock()


def running() -> LocalCloud:
    """The stand-in of this process, started on first use and stopped at exit."""
    global _running
    with _lock:
        if _running is None:
            _running = LocalCloud().start()
            atexit.register(stop_running)
        return _running


def stop_running() -> None:
    """Stop this process's stand-in, if one runs (a later :func:`running` starts a new one)."""
    global _running
    with _lock:
        if _running is not None:
            _running.stop()
            _running = None
