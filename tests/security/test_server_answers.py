"""Through real gunicorn (gunicorn.conf.py, gthread as in production): every answer the service
gives is problem+json, gunicorn's own refusals included, and chunked bodies are screened.

The Flask test client cannot show either: gunicorn parses the request line, the headers and the
chunked framing itself, and answers some requests without calling the app.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(app: Any, config: dict[str, Any], tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "PENGCHENG_ENV": "development",
           "PENGCHENG_DATABASE_URL": config["DATABASE_URL"],
           "PENGCHENG_MASTER_KEY": config["MASTER_KEY"], "PENGCHENG_INDEX_KEY": config["INDEX_KEY"],
           "PENGCHENG_IDP_JWKS": json.dumps(config["IDP_JWKS"]),
           "PENGCHENG_IDP_ISSUER": config["IDP_ISSUER"],
           "PENGCHENG_INSTANCE_PATH": str(tmp_path / "gunicorn-instance")}
    env.pop("PENGCHENG_REDIS_URL", None)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-k", "gthread",
             "--threads", "2", "-w", "1", "-b", f"127.0.0.1:{port}",
             "--control-socket", str(tmp_path / "gunicorn.ctl"), "app:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline = time.monotonic() + 60
        while exchange(port, b"GET /api/v1/notices HTTP/1.1\r\nHost: x\r\n\r\n") is None:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "Traceback" not in log.read_text(), log.read_text()[-5000:]


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """Send raw bytes (the request asks to close); the status, headers and body, or None if
    nothing listens yet."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        return None
    with sock:
        head, _, rest = raw.partition(b"\r\n")
        sock.sendall(head + b"\r\nConnection: close\r\n" + rest)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    header_text, _, body = answer.partition(b"\r\n\r\n")
    lines = header_text.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def problem_of(answer: tuple[int, dict[str, str], bytes] | None, status: int,
               code: str) -> dict[str, Any]:
    assert answer is not None
    got, headers, body = answer
    assert got == status, (got, body[:300])
    assert headers["content-type"].startswith("application/problem+json"), headers
    document = json.loads(body)
    assert document["status"] == status and document["code"] == code, document
    return document


def chunked_post(path: str, body: bytes) -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 100]), body[i:i + 100])
                      for i in range(0, len(body), 100))
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n").encode() + chunks + b"0\r\n\r\n"


def test_over_long_urls_and_headers_are_answered_as_problems(server: int) -> None:
    by_app = problem_of(exchange(server, b"GET /api/v1/notices?q=" + b"a" * 5000
                                 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414, "uri_too_long")
    assert by_app["request_id"]  # the app's own answer
    problem_of(exchange(server, b"GET /api/v1/notices?q=" + b"a" * 9000
                        + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414, "uri_too_long")
    problem_of(exchange(server, b"GET /api/v1/notices HTTP/1.1\r\nHost: x\r\nX-Big: "
                        + b"a" * 9000 + b"\r\n\r\n"), 431, "header_too_large")
    problem_of(exchange(server, b"GET /api/v1/notices HTTP/1.1\r\nHost: x\r\n"
                        + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n"),
               431, "header_too_large")
    problem_of(exchange(server, b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "bad_request")
    ok = exchange(server, b"GET /api/v1/notices?q=" + b"a" * 3900 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert ok is not None and ok[0] == 200


def test_chunked_bodies_are_screened_like_declared_ones(server: int) -> None:
    session = "/api/v1/auth/session"
    problem_of(exchange(server, chunked_post(session, b'{"assertion": "a\\u0000b"}')), 422,
               "validation_failed")
    problem_of(exchange(server, chunked_post(session, b'{"assertion": "\\ud800"}')), 422,
               "validation_failed")
    problem_of(exchange(server, chunked_post(session, b"[" * 1000 + b"]" * 1000)), 400,
               "malformed_json")
    problem_of(exchange(server, chunked_post(session, b'{"assertion": "'
                                              + b"a" * (3 * 1024 * 1024) + b'"}')),
               413, "payload_too_large")
    broken = (f"POST {session} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Transfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n").encode()
    problem_of(exchange(server, broken), 400, "bad_request")
    answer = exchange(server, chunked_post(session, b'{"assertion": "not-a-jwt"}'))
    assert answer is not None and answer[0] == 401, answer
