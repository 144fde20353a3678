"""The offline guard blocks the network at once, keeps loopback, and comes off cleanly."""

from __future__ import annotations

import pickle
import socket
import socketserver
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from ds500 import offline
from ds500.offline import NetworkBlockedError

FAST_S = 0.5  # a blocked call must fail at once, not after a DNS or TCP timeout


@pytest.fixture(autouse=True)
def _no_guard_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts and ends without the guard, whatever it did in between."""
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # restored after the test
    offline.uninstall()
    yield
    offline.uninstall()
    assert not offline.is_installed()


@pytest.fixture()
def guard() -> Iterator[None]:
    offline.install()
    yield
    offline.uninstall()


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data = self.request.recv(1024)
        self.request.sendall(b"echo:" + data)


@pytest.fixture()
def loopback_server() -> Iterator[int]:
    """A real TCP echo server on 127.0.0.1, in a thread; yields its port."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _timed_block(call, *args) -> NetworkBlockedError:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    with pytest.raises(NetworkBlockedError) as info:
        call(*args)
    assert time.perf_counter() - start < FAST_S
    return info.value


@pytest.mark.usefixtures("guard")
def test_blocks_tcp_connect_to_public_dns_at_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        error = _timed_block(sock.connect, ("8.8.8.8", 53))
    message = str(error)
    assert "socket.connect to ('8.8.8.8', 53)" in message
    assert "DS500_OFFLINE=1" in message
    assert "dry run" in message and "RUN_ON_GCP=True" in message
    assert error.call == "socket.connect" and error.target == ("8.8.8.8", 53)


@pytest.mark.usefixtures("guard")
def test_blocks_connect_ex_create_connection_and_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        _timed_block(sock.connect_ex, ("1.1.1.1", 443))
    error = _timed_block(socket.create_connection, ("1.1.1.1", 443), 3)
    assert "socket.create_connection to ('1.1.1.1', 443)" in str(error)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        _timed_block(udp.sendto, b"x", ("8.8.8.8", 53))


@pytest.mark.usefixtures("guard")
def test_blocks_name_resolution() -> None:
    error = _timed_block(socket.getaddrinfo, "example.com", 443)
    assert "getaddrinfo('example.com')" in str(error)
    _timed_block(socket.getaddrinfo, "storage.googleapis.com", 443)
    _timed_block(socket.getaddrinfo, b"example.com", 80)


@pytest.mark.usefixtures("guard")
def test_blocks_ipv6_and_http_stack() -> None:
    try:
        sock6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        sock6 = None
    if sock6 is not None:
        with sock6:
            _timed_block(sock6.connect, ("2001:4860:4860::8888", 443, 0, 0))
    # the standard library's HTTP stack (and so requests, google-auth) goes through it
    _timed_block(urllib.request.urlopen, "https://storage.googleapis.com/", 5)
    # google-auth's metadata-server address is not loopback
    with socket.socket() as sock:
        _timed_block(sock.connect, ("169.254.169.254", 80))


@pytest.mark.usefixtures("guard")
def test_loopback_still_works(loopback_server: int) -> None:
    for host in ("127.0.0.1", "localhost"):
        with socket.create_connection((host, loopback_server), timeout=5) as client:
            client.sendall(b"hi")
            assert client.recv(1024) == b"echo:hi"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(("127.0.0.1", loopback_server))
        client.sendall(b"again")
        assert client.recv(1024) == b"echo:again"
    assert socket.getaddrinfo("localhost", loopback_server)
    assert socket.getaddrinfo("127.0.0.1", loopback_server)
    assert socket.getaddrinfo(None, loopback_server)


@pytest.mark.usefixtures("guard")
def test_unix_sockets_still_work() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"


def test_install_is_idempotent_and_uninstall_restores() -> None:
    originals = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.create_connection,
        socket.getaddrinfo,
    )
    assert not offline.is_installed()
    offline.install()
    offline.install("a second call")
    assert offline.is_installed()
    assert socket.getaddrinfo is not originals[3]
    with pytest.raises(NetworkBlockedError, match="a second call"):
        socket.getaddrinfo("example.com", 80)
    offline.uninstall()
    assert not offline.is_installed()
    assert (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.create_connection,
        socket.getaddrinfo,
    ) == originals
    offline.uninstall()  # a second uninstall is harmless


def test_install_sets_no_gce_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_GCE_CHECK", raising=False)
    monkeypatch.setattr(offline, "_we_set_no_gce_check", False)
    offline.install()
    import os

    assert os.environ["NO_GCE_CHECK"] == "true"


def test_set_no_gce_check_updates_google_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from google.auth.compute_engine import _metadata

    monkeypatch.delenv("NO_GCE_CHECK", raising=False)
    monkeypatch.setattr(offline, "_we_set_no_gce_check", False)
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", False)
    offline.set_no_gce_check(True)
    assert os.environ["NO_GCE_CHECK"] == "true" and _metadata._NO_GCE_CHECK is True
    offline.set_no_gce_check(False)
    assert "NO_GCE_CHECK" not in os.environ and _metadata._NO_GCE_CHECK is False
    # a value the user set is left alone
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    offline.set_no_gce_check(False)
    assert os.environ["NO_GCE_CHECK"] == "true"
    with pytest.raises(TypeError, match="True or False"):
        offline.set_no_gce_check("yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("reason", ["", "   ", None, 3])
def test_install_rejects_bad_reason(reason: object) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        offline.install(reason)  # type: ignore[arg-type]
    assert not offline.is_installed()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        (" 1 ", True),
        ("0", False),
        ("false", False),
        ("", False),
        ("no", False),
    ],
)
def test_requested_reads_env(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("DS500_OFFLINE", value)
    assert offline.requested() is expected


def test_requested_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DS500_OFFLINE", raising=False)
    assert offline.requested() is False


def test_error_is_runtime_error_and_picklable() -> None:
    error = NetworkBlockedError("getaddrinfo", "storage.googleapis.com")
    assert isinstance(error, RuntimeError) and not isinstance(error, OSError)
    assert str(error).startswith("getaddrinfo('storage.googleapis.com') was blocked")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    connect = NetworkBlockedError("socket.connect", ("142.250.1.1", 443))
    assert str(connect).startswith("socket.connect to ('142.250.1.1', 443) was blocked")
