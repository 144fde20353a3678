"""The offline guard: make any attempt to reach the network fail loudly and at once.

Why this exists: the labs are tested (and mostly run) with no network. An SDK call
that slips through and tries to reach Google Cloud does not fail quickly; it hangs
for one or two minutes in retries and then raises something cryptic. With the guard
installed, the same mistake raises :class:`NetworkBlockedError` immediately, and the
message tells the student (or the maintainer) what happened and what to do instead.

What is covered: Python-level sockets, i.e. ``socket.socket.connect``,
``connect_ex`` and ``sendto``, ``socket.create_connection`` and
``socket.getaddrinfo``. That is everything built on the standard library:
``http.client``, ``urllib``, ``requests``/``urllib3``, ``httpx``, ``asyncio`` and
google-auth's metadata-server probe. Loopback (``127.0.0.0/8``, ``::1``,
``localhost``) and Unix-domain sockets keep working, so local servers (a FastAPI
model server on ``127.0.0.1``, Jupyter kernels, PyTorch's gloo on ``127.0.0.1``)
still run.

What is NOT covered: gRPC's C core opens its own sockets and resolves names in C, so
a gRPC call (most ``google-cloud-*`` "GAPIC" clients, e.g. aiplatform's job
clients) bypasses this guard. The guard is a safety net, not a sandbox: the labs
must still avoid calling a service when ``RUN_ON_GCP`` is False. Code that bound
``from socket import getaddrinfo`` before :func:`install` keeps the original too.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "NetworkBlockedError",
    "install",
    "is_installed",
    "requested",
    "set_no_gce_check",
    "uninstall",
]

_ENV = "DS500_OFFLINE"
_TRUE = {"1", "true", "yes"}

_lock = threading.Lock()
_originals: dict[str, Callable[..., Any]] = {}
_reason: str = "DS500_OFFLINE=1"
# True while NO_GCE_CHECK=true in os.environ was put there by ds500 (and not by the user).
_we_set_no_gce_check = False


class NetworkBlockedError(RuntimeError):
    """Raised by the offline guard when code tries to reach a non-loopback address.

    It is a ``RuntimeError`` and not an ``OSError`` on purpose: libraries retry or
    swallow ``OSError`` from ``connect`` (that is what makes an offline SDK call hang
    for minutes), but they let a ``RuntimeError`` through at once.

    Args:
        call: the blocked call, e.g. ``"socket.connect"`` or ``"getaddrinfo"``.
        target: the address or host name it tried to reach.
        reason: why the guard is on, shown in the message.

    Attributes:
        call: as given.
        target: as given.
    """

    def __init__(self, call: str, target: Any, reason: str = "DS500_OFFLINE=1") -> None:
        self.call = call
        self.target = target
        self.reason = reason
        if call == "getaddrinfo":
            what = f"getaddrinfo({target!r})"
        else:
            what = f"{call} to {target!r}"
        super().__init__(
            f"{what} was blocked: this lab runs offline ({reason}). Offline labs must not "
            "touch the network — use the dry run, or set RUN_ON_GCP=True outside the test "
            "environment."
        )

    def __reduce__(self) -> tuple[Any, ...]:  # keep the exception picklable
        return (type(self), (self.call, self.target, self.reason))


# -- address checks -----------------------------------------------------------
def _host_is_local(host: Any) -> bool:
    """True for loopback (and the unspecified address, which Linux routes locally)."""
    if host is None:
        return True  # getaddrinfo(None, port): the local (passive or loopback) address
    if isinstance(host, bytes):
        try:
            host = host.decode("idna")
        except UnicodeError:
            return False
    if not isinstance(host, str):
        return False
    name = host.strip().rstrip(".").lower()
    if name in ("", "localhost", "ip6-localhost", "ip6-loopback") or name.endswith(".localhost"):
        return True
    name = name.strip("[]").split("%", 1)[0]  # [::1] and scoped IPv6 such as ::1%lo
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a name that would need DNS
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _address_is_local(family: int, address: Any) -> bool:
    """True if a socket address may be used while offline."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True  # AF_UNIX, AF_NETLINK, ...: not the internet
    if isinstance(address, tuple) and address:
        return _host_is_local(address[0])
    return False


# -- the patched functions ------------------------------------------------------
def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _address_is_local(self.family, address):
        raise NetworkBlockedError("socket.connect", address, _reason)
    return _originals["connect"](self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _address_is_local(self.family, address):
        raise NetworkBlockedError("socket.connect_ex", address, _reason)
    return _originals["connect_ex"](self, address)


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> Any:
    address = args[-1] if args else None
    if not _address_is_local(self.family, address):
        raise NetworkBlockedError("socket.sendto", address, _reason)
    return _originals["sendto"](self, data, *args)


def _guarded_create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
    if not (isinstance(address, tuple) and address and _host_is_local(address[0])):
        raise NetworkBlockedError("socket.create_connection", address, _reason)
    return _originals["create_connection"](address, *args, **kwargs)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _host_is_local(host):
        raise NetworkBlockedError("getaddrinfo", host, _reason)
    return _originals["getaddrinfo"](host, *args, **kwargs)


_PATCHES: dict[str, tuple[Any, str, Callable[..., Any]]] = {
    "connect": (socket.socket, "connect", _guarded_connect),
    "connect_ex": (socket.socket, "connect_ex", _guarded_connect_ex),
    "sendto": (socket.socket, "sendto", _guarded_sendto),
    "create_connection": (socket, "create_connection", _guarded_create_connection),
    "getaddrinfo": (socket, "getaddrinfo", _guarded_getaddrinfo),
}


# -- public API -----------------------------------------------------------------
def requested() -> bool:
    """Whether the environment asks for the offline guard.

    Returns:
        True when the environment variable ``DS500_OFFLINE`` is ``1``, ``true`` or
        ``yes`` (any case). The test suite and CI set it; a student never needs to.
    """
    return os.environ.get(_ENV, "").strip().lower() in _TRUE


def is_installed() -> bool:
    """Whether the guard is currently patched into :mod:`socket`."""
    return bool(_originals)


def set_no_gce_check(enabled: bool = True) -> None:
    """Tell google-auth not to probe the GCE metadata server (or allow it again).

    Why: without a credential file, ``google.auth.default()`` pings
    ``169.254.169.254`` to see whether it runs on Google Cloud. Offline that probe
    costs seconds (or hits the guard). google-auth reads ``NO_GCE_CHECK`` (value
    ``"true"``, lowercase) when ``google.auth.compute_engine._metadata`` is first
    imported, so this also updates that module's flag if it is already loaded.

    Args:
        enabled: True sets ``NO_GCE_CHECK=true``. False undoes it, but only if ds500
            set it (a value the user set is left alone). The cloud path on Workbench
            or Colab Enterprise needs the metadata server, so ``RUN_ON_GCP=True``
            calls this with False.

    Raises:
        TypeError: if ``enabled`` is not a bool.
    """
    global _we_set_no_gce_check
    if not isinstance(enabled, bool):
        raise TypeError(f"set_no_gce_check(enabled=...) needs True or False, got {enabled!r}")
    if enabled:
        if os.environ.get("NO_GCE_CHECK") != "true":
            os.environ["NO_GCE_CHECK"] = "true"
            _we_set_no_gce_check = True
    elif _we_set_no_gce_check:
        os.environ.pop("NO_GCE_CHECK", None)
        _we_set_no_gce_check = False
    metadata = sys.modules.get("google.auth.compute_engine._metadata")
    if metadata is not None and hasattr(metadata, "_NO_GCE_CHECK"):
        metadata._NO_GCE_CHECK = os.environ.get("NO_GCE_CHECK") == "true"


def install(reason: str = "DS500_OFFLINE=1") -> None:
    """Block every non-loopback network connection in this process.

    Idempotent: a second call only updates the reason shown in the error message.
    It also sets ``NO_GCE_CHECK=true`` so that google-auth never probes the
    metadata server. See the module docstring for what is and is not covered (gRPC's
    C core is not).

    Args:
        reason: why the guard is on; it appears in every :class:`NetworkBlockedError`.

    Raises:
        ValueError: if ``reason`` is not a non-empty string.
    """
    global _reason
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(
            f"install(reason=...) needs a short non-empty string such as 'DS500_OFFLINE=1', got {reason!r}"
        )
    with _lock:
        _reason = reason.strip()
        if not _originals:
            for key, (owner, attribute, replacement) in _PATCHES.items():
                _originals[key] = getattr(owner, attribute)
                setattr(owner, attribute, replacement)
    set_no_gce_check(True)


def uninstall() -> None:
    """Restore the original socket functions (a no-op when the guard is not installed).

    The labs never need this; the tests do, so that one test's guard does not leak
    into the next. ``NO_GCE_CHECK`` is left as it is.
    """
    with _lock:
        for key, (owner, attribute, _replacement) in _PATCHES.items():
            if key in _originals:
                setattr(owner, attribute, _originals[key])
        _originals.clear()
