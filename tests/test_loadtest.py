"""Unit tests for ds500.loadtest against a tiny HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ds500 import loadtest


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like uvicorn

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        time.sleep(float(body.get("sleep", 0.0)))
        status = int(body.get("status", 200))
        data = json.dumps({"predictions": [0.5]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if body.get("close"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/predict"
    server.shutdown()
    server.server_close()


def test_run_counts_every_request(url: str) -> None:
    result = loadtest.run(url, {"instances": [1]}, concurrency=3, requests=30, max_seconds=10, warmup=2)
    assert result.ok == 30 and result.errors == 0 and result.stopped_by == "requests"
    assert len(result.latencies_ms) == 30 and all(v > 0 for v in result.latencies_ms)
    summary = result.summary()
    assert summary["concurrency"] == 3 and summary["throughput_rps"] > 0
    assert summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"]


def test_run_stops_at_the_time_budget(url: str) -> None:
    began = time.perf_counter()
    result = loadtest.run(url, {"sleep": 0.05}, concurrency=2, requests=10_000, max_seconds=0.3)
    assert time.perf_counter() - began < 5.0  # 10,000 requests of 50 ms would take minutes
    assert result.stopped_by == "time" and 0 < result.ok < 10_000


def test_errors_are_counted_not_timed(url: str) -> None:
    result = loadtest.run(url, {"status": 500}, concurrency=2, requests=6, max_seconds=5)
    assert result.errors == 6 and result.ok == 0 and result.latencies_ms == ()
    assert math.isnan(result.summary()["p99_ms"]) and result.throughput_rps == 0


def test_timeouts_are_errors(url: str) -> None:
    result = loadtest.run(url, {"sleep": 0.5}, concurrency=1, requests=1, max_seconds=5, timeout_s=0.1)
    assert result.errors == 1 and result.ok == 0


def test_a_server_that_closes_each_connection_gets_a_new_one(url: str) -> None:
    result = loadtest.run(url, {"close": True}, concurrency=2, requests=10, max_seconds=5)
    assert result.ok == 10 and result.errors == 0


def test_runs_inside_a_running_event_loop(url: str) -> None:
    """A notebook's cells run while the kernel's asyncio loop is running."""

    async def cell() -> loadtest.LoadResult:
        return loadtest.run(url, {}, concurrency=2, requests=4, max_seconds=5)

    assert asyncio.run(cell()).ok == 4


def test_a_refused_connection_is_an_error_not_a_crash() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens on it once the socket is closed
    result = loadtest.run(f"http://127.0.0.1:{port}/predict", {}, concurrency=2, requests=4, max_seconds=5)
    assert result.errors == 4 and result.ok == 0


@pytest.fixture
def raw_server() -> Iterator[Any]:
    """A listening socket that answers every connection with ``raw_server.answer`` and hangs up."""

    class Raw:
        answer = b""

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    Raw.url = f"http://127.0.0.1:{sock.getsockname()[1]}/predict"  # type: ignore[attr-defined]

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:  # the socket was closed: the test is over
                return
            with conn:
                conn.recv(65536)
                conn.sendall(Raw.answer)

    threading.Thread(target=serve, daemon=True).start()
    yield Raw
    sock.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"this is not HTTP\r\n\r\n",  # garbage: the parser refuses it
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",  # hangs up before the promised body
        b"",  # hangs up without a word
    ],
    ids=["garbage", "short-body", "silence"],
)
def test_a_broken_answer_is_an_error_not_a_crash(raw_server: Any, answer: bytes) -> None:
    raw_server.answer = answer
    result = loadtest.run(raw_server.url, {}, concurrency=2, requests=4, max_seconds=5, timeout_s=2)
    assert result.errors == 4 and result.ok == 0


def test_sweep_runs_each_level(url: str) -> None:
    results = loadtest.sweep(url, {}, [1, 2], requests_per_level=5, max_seconds_per_level=5, warmup=1)
    assert [r.concurrency for r in results] == [1, 2] and all(r.ok == 5 for r in results)


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))  # 1..100
    assert loadtest.percentile(values, 50) == 50
    assert loadtest.percentile(values, 99) == 99
    assert loadtest.percentile(values, 100) == 100
    assert loadtest.percentile([7.0], 95) == 7.0
    assert math.isnan(loadtest.percentile([], 50))


@pytest.mark.parametrize("q", [0, -1, 101, "50", True])
def test_percentile_rejects_bad_q(q: Any) -> None:
    with pytest.raises(ValueError, match="q must be"):
        loadtest.percentile([1.0, 2.0], q)


@pytest.mark.parametrize(
    "target",
    ["http://example.com/predict", "http://10.0.0.5:8080/predict", "ftp://127.0.0.1/x", "127.0.0.1:8080"],
)
def test_only_loopback_urls(target: str) -> None:
    with pytest.raises(ValueError):
        loadtest.run(target, {}, concurrency=1, requests=1)


def test_url_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="url must be a string"):
        loadtest.run(8080, {}, concurrency=1, requests=1)  # type: ignore[arg-type]


def test_payload_must_be_a_mapping(url: str) -> None:
    with pytest.raises(TypeError, match="payload must be a JSON object"):
        loadtest.run(url, [1, 2], concurrency=1, requests=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0, "requests": 1}, "concurrency"),
        ({"concurrency": 1000, "requests": 1}, "concurrency"),
        ({"concurrency": 1.5, "requests": 1}, "concurrency"),
        ({"concurrency": 1, "requests": 0}, "requests"),
        ({"concurrency": 1, "requests": True}, "requests"),
        ({"concurrency": 1, "requests": 1, "max_seconds": 0}, "max_seconds"),
        ({"concurrency": 1, "requests": 1, "max_seconds": 10_000}, "max_seconds"),
        ({"concurrency": 1, "requests": 1, "timeout_s": -1}, "timeout_s"),
        ({"concurrency": 1, "requests": 1, "warmup": -1}, "warmup"),
    ],
)
def test_bounds_are_validated(url: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        loadtest.run(url, {}, **kwargs)


@pytest.mark.parametrize("levels", [[], "124", [1, 0], list(range(1, 30))])
def test_sweep_rejects_bad_levels(url: str, levels: Any) -> None:
    with pytest.raises(ValueError):
        loadtest.sweep(url, {}, levels, requests_per_level=1)


def test_machine_probe_counts_iterations_and_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([0.0, 0.0001, 0.0002, 0.0102, 0.0103, 0.2])  # pauses of 10 ms and 189.7 ms
    monkeypatch.setattr(loadtest.time, "perf_counter", lambda: next(ticks))
    probe = loadtest.machine_probe(0.1)
    assert probe["longest_gap_ms"] == pytest.approx(189.7)
    assert probe["gaps_over_2ms_per_10s"] == pytest.approx(2 * 10 / 0.2)
    assert probe["million_iterations_per_s"] == pytest.approx(5 / 0.2 / 1e6)


@pytest.mark.parametrize("seconds", [0, 0.05, 31, "1", True])
def test_machine_probe_rejects_bad_durations(seconds: Any) -> None:
    with pytest.raises(ValueError, match="seconds"):
        loadtest.machine_probe(seconds)


def test_bench_service_validates_cases_and_formats_a_table() -> None:
    with pytest.raises(ValueError, match="BenchCase"):
        loadtest.bench_service([])
    with pytest.raises(ValueError, match="BenchCase"):
        loadtest.bench_service([(1, 1)])  # type: ignore[list-item]
    row = {"workers": 2, "batch": 100, "inference": "compiled", "concurrency": 4, "ok": 10, "errors": 0}
    row |= {"throughput_rps": 812.4, "instances_per_s": 81240.0, "p50_ms": 4.63, "p99_ms": 10.57}
    row["load_1m"] = 3.36
    lines = loadtest._format([row]).splitlines()
    assert lines[0].split()[:3] == ["workers", "batch", "inference"] and "load 1m" in lines[0]
    assert lines[1].split() == "2 100 compiled 4 10 0 812 81240 4.63 10.57 3.36".split()
