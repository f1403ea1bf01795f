"""A partner's webhook receiver on 127.0.0.1 (a thread), and `pengcheng worker` as a process
of its own (no tests here)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Received:
    """One request as it arrived, and what the receiver answered."""

    headers: dict[str, str]
    body: bytes
    answered: int
    at: float

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """Answers each request with `answer(request_number_for_this_id, headers, body)` (a status),
    recording everything. `hold`: a webhook type whose first request is kept waiting until
    `release` is set (`holding` is set once it arrived)."""

    answer: Callable[[int, dict[str, str], bytes], int] = lambda n, h, b: 200
    hold: str | None = None
    held: str | None = None  # the webhook-id of the request kept waiting
    requests: list[Received] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        lock, receiver = threading.Lock(), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                kind = json.loads(body)["type"]
                with lock:
                    seen = sum(1 for r in receiver.requests
                               if r.headers["webhook-id"] == headers["webhook-id"])
                    wait = receiver.hold == kind and not receiver.holding.is_set()
                    if wait:
                        receiver.held = headers["webhook-id"]
                        receiver.holding.set()
                if wait:
                    receiver.release.wait(30)
                status = receiver.answer(seen + 1, headers, body)
                with lock:
                    receiver.requests.append(Received(headers, body, status, time.monotonic()))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def acknowledged(self) -> list[Received]:
        """The requests answered 2xx, in the order they were answered."""
        return [r for r in self.requests if 200 <= r.answered < 300]


def verify_v1(secret: str, request: Received) -> dict[str, Any]:
    """The standardwebhooks library's verification (v1, the endpoint's secret)."""
    return Webhook(secret).verify(request.body, request.headers)  # type: ignore[no-any-return]


def verify_v1a(public_keys: list[str], request: Received) -> bool:
    """Standard Webhooks' asymmetric signature: Ed25519 over `{id}.{timestamp}.{body}`, good
    when one published `whpk_` key verifies one `v1a` signature."""
    signed = (f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}."
              .encode() + request.body)
    for part in request.headers["webhook-signature"].split(" "):
        version, _, value = part.partition(",")
        if version != "v1a":
            continue
        for key in public_keys:
            raw = base64.b64decode(key.removeprefix("whpk_"))
            try:
                Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(value), signed)
                return True
            except Exception:  # noqa: BLE001 - InvalidSignature: try the next key
                continue
    return False


class WorkerProcess:
    """`pengcheng worker` in a process of its own, on the test's database and keys."""

    def __init__(self, config: dict[str, Any], instance: Path, *args: str) -> None:
        self.env = {**os.environ, "PENGCHENG_ENV": "development",
                    "PENGCHENG_DATABASE_URL": str(config["DATABASE_URL"]),
                    "PENGCHENG_MASTER_KEY": str(config["MASTER_KEY"]),
                    "PENGCHENG_INDEX_KEY": str(config["INDEX_KEY"]),
                    "PENGCHENG_INSTANCE_PATH": str(instance)}
        if config.get("REDIS_URL"):
            self.env["PENGCHENG_REDIS_URL"] = str(config["REDIS_URL"])
        self.args = ["--poll", "0.2", "--heartbeat", "0.5", "--stalled-after", "2",
                     "--backoff-scale", "0.002", *(args or ("--queue", "webhooks"))]
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = instance / "worker.log"  # read it when a test fails
        instance.mkdir(parents=True, exist_ok=True)

    def start(self) -> WorkerProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "pengcheng"), "worker", *self.args],
                cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        return self

    def kill(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def until(check: Callable[[], bool], seconds: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds}s: {what}")
