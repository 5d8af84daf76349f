"""Slow clients against a real server (uvicorn on 127.0.0.1, an ephemeral port, raw sockets).

uvicorn has no timeout for reading a request: a connection that sends its request line a byte
at a time (or nothing at all) stayed open forever. ``theoryscope serve`` runs uvicorn with
:func:`theoryscope.web.server.uvicorn_options`, whose protocol closes a connection that has not
delivered a whole request ``request_timeout_s`` after it started, however it trickles.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from theoryscope.web.app import create_app
from theoryscope.web.limits import Limits
from theoryscope.web.server import uvicorn_options

TIMEOUT_S = 1.0
#: The connection must be gone well within this (timeout + scheduling slack on a busy box).
CLOSED_WITHIN_S = TIMEOUT_S + 4.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    limits = Limits(request_timeout_s=TIMEOUT_S, keep_alive_s=1, max_connections=16)
    app = create_app(tmp_path_factory.mktemp("slow") / "runs.sqlite", limits)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # an ephemeral port, held from here on
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(limits)))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield port
    srv.should_exit = True
    thread.join(10)
    sock.close()


def _connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.settimeout(0.05)
    return conn


def _closed(conn: socket.socket) -> bool:
    """True once the server has closed the connection (EOF or reset)."""
    try:
        return conn.recv(4096) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def _request(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        chunks = []
        while True:
            data = conn.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_a_request_line_sent_a_byte_at_a_time_is_cut_off(server):
    line = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    conn = _connect(server)
    started = time.monotonic()
    sent = 0
    try:
        while not _closed(conn):
            assert time.monotonic() - started < CLOSED_WITHIN_S, "slow client still connected"
            if sent < len(line):
                try:
                    conn.send(line[sent : sent + 1])
                except OSError:
                    break
                sent += 1
            time.sleep(0.1)  # ~10 bytes/s: every byte well inside any per-read timeout
    finally:
        conn.close()
    assert sent < len(line)  # cut off before the request was complete
    assert time.monotonic() - started >= TIMEOUT_S * 0.9


def test_a_silent_connection_is_closed(server):
    conn = _connect(server)
    started = time.monotonic()
    try:
        while not _closed(conn):
            assert time.monotonic() - started < CLOSED_WITHIN_S, "idle connection still open"
    finally:
        conn.close()


def test_a_slow_body_is_cut_off_too(server):
    head = (
        b"POST /api/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    conn = _connect(server)
    conn.sendall(head)
    started = time.monotonic()
    try:
        while not _closed(conn):
            assert time.monotonic() - started < CLOSED_WITHIN_S, "slow body still open"
            try:
                conn.send(b" ")
            except OSError:
                break
            time.sleep(0.1)
    finally:
        conn.close()


def _read_response(conn: socket.socket) -> tuple[bytes, bytes]:
    """(head, body) of one HTTP response with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, "connection closed mid-response"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return head, body


def test_prompt_requests_and_keep_alive_still_work(server):
    """A whole request answered; a second one on the same connection within keep-alive too."""
    req = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server), timeout=10) as conn:
        for _ in range(2):
            conn.sendall(req)
            head, body = _read_response(conn)
            assert head.startswith(b"HTTP/1.1 200") and b'"ok":true' in body
            time.sleep(TIMEOUT_S * 0.6)  # a pause between requests is not a slow request


def test_oversized_headers_are_refused(server):
    """A request head over max_header_bytes that is still arriving is refused with a 400."""
    with socket.create_connection(("127.0.0.1", server), timeout=10) as conn:
        conn.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20_000)
        time.sleep(0.2)
        conn.sendall(b"\r\n\r\n")
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
