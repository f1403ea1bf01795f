"""Fault injection: a private PostgreSQL cluster and Redis the tests may stop, and gunicorn.

These tests start their own PostgreSQL cluster (the embedded PostgreSQL's binaries, a free port)
and their own redis-server, so stopping or restarting them never disturbs the shared services or
the rest of the suite. They need `redis-server` (installed by `.ci/run`); without it they skip,
except in CI (PENGCHENG_REQUIRE_SERVICES=1) where that is a failure.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.crypto import new_key_text
from core.embedded import Cluster, EmbeddedError
from tests.support.factories import FakeIdp

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("PENGCHENG_REQUIRE_SERVICES") == "1"


def _need(what: str, ok: bool) -> None:
    if ok:
        return
    if REQUIRED:
        pytest.fail(f"{what} is required in CI for the fault tests")
    pytest.skip(f"{what} not available")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """A throw-away cluster on 127.0.0.1:`port` that a test may stop and start: the embedded
    PostgreSQL's own binaries (`core.embedded.Cluster`), durable as production is (fsync on)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pc_fault_pg_"))
        self.port = free_port()
        self.cluster = Cluster(self.dir / "pg", port=self.port,
                               settings={"max_connections": "200", "fsync": "on"})
        self.url = self.cluster.url("postgres")
        self.start()

    def start(self) -> None:
        self.cluster.start()

    def stop(self, mode: str = "fast") -> None:
        self.cluster.stop(mode)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except EmbeddedError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    def __init__(self) -> None:
        _need("redis-server", shutil.which("redis-server") is not None)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Server:
    """`gunicorn app:create_app()` on a free port with the given environment."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, threads: int = 4) -> None:
        self.env, self.workers, self.threads = env, workers, threads
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix="pc_fault_gunicorn_", suffix=".log")[1])

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(ROOT / ".venv/bin/gunicorn"), "-b", f"127.0.0.1:{self.port}", "-w",
                 str(self.workers), "-k", "gthread", "--threads", str(self.threads),
                 "--graceful-timeout", "5", "--log-level", "warning", "app:create_app()"],
                cwd=ROOT, env=self.env, start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            try:
                if call(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True).stdout
        return [int(p) for p in out.split()]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)
            self.proc = None


def call(port: int, method: str, path: str, body: Any = None, token: str | None = None,
         timeout: float = 10) -> tuple[int, dict[str, str], Any]:
    """One request on a fresh connection: (status, headers, parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = raw.decode(errors="replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
    finally:
        conn.close()


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        yield pg
    finally:
        pg.close()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def db(private_pg: PrivatePostgres) -> Iterator[Any]:
    """`verdicts.Database`: read-only SQL on the private cluster, for the verdicts."""
    from tests.faults.verdicts import Database

    found = Database(private_pg.url)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def server_env(private_pg: PrivatePostgres, private_redis: PrivateRedis,
               tmp_path: Path) -> dict[str, Any]:
    """Production-like settings for gunicorn, migrated and bootstrapped; the IdP to sign in."""
    idp = FakeIdp()
    env = {**os.environ, "PENGCHENG_ENV": "production", "PENGCHENG_DATABASE_URL": private_pg.url,
           "PENGCHENG_REDIS_URL": private_redis.url, "PENGCHENG_MASTER_KEY": new_key_text(),
           "PENGCHENG_INDEX_KEY": new_key_text(), "PENGCHENG_IDP_JWKS": json.dumps(idp.jwks),
           "PENGCHENG_IDP_ISSUER": FakeIdp.ISSUER, "PENGCHENG_RATE_LIMIT_LOGIN": "100000/60",
           "PENGCHENG_RATE_LIMIT_TOKENS": "100000/60",
           "PENGCHENG_INSTANCE_PATH": str(tmp_path / "instance")}
    for key in ("PENGCHENG_TEST_DATABASE_URL", "PENGCHENG_TEST_REDIS_URL"):
        env.pop(key, None)
    return {"env": env, "idp": idp}


def pengcheng(env: dict[str, str], *args: str) -> Any:
    """Run the operator CLI against the server's database; the last JSON line it printed."""
    # `python -c` imports this checkout's code (cwd first on sys.path), as gunicorn does.
    out = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else out.stdout


class Arranged:
    """Through the public interfaces only: a migrated database, a data source and a hospital
    (CLI), a resident with a good history, signed in, who consented to scoring and to
    先诊后付 (HTTP)."""

    def __init__(self, server: Server, env: dict[str, str], idp: FakeIdp) -> None:
        from datetime import UTC, datetime

        from tests.support.factories import id_number
        from tests.support.tokens import NORMAL, good_history

        self.server, self.env = server, env
        self.source = pengcheng(env, "sources", "create", "--name", "fault-source",
                                *sum((["--category", c] for c in NORMAL), []))
        self.hospital = pengcheng(env, "partners", "create", "--name", "fault-hospital",
                                  "--kind", "hospital", "--scenario", "medical_credit")
        records = good_history(7)
        for i in range(0, len(records), 1000):
            status, _, body = call(server.port, "POST", "/ingest/v1/records",
                                   {"records": records[i:i + 1000]}, self.source["api_key"])
            assert status == 200 and not body["rejected"], body
        status, _, body = call(server.port, "POST", "/api/v1/auth/session", {
            "assertion": idp.assertion(id_number(7), now=datetime.now(UTC))})
        assert status == 201, body
        self.session = body["token"]
        status, _, notices = call(server.port, "GET", "/api/v1/notices")
        for purpose in ("scoring", "scenario:medical_credit"):
            notice = next(n for n in notices if n["purpose"] == purpose)
            grant: dict[str, Any] = {"notice_id": notice["id"], "separate_consent": True}
            if purpose == "scoring":
                grant["categories"] = NORMAL
            status, _, body = call(server.port, "POST", "/api/v1/me/consents", grant,
                                   self.session)
            assert status in (200, 201), body

    def token(self) -> tuple[int, Any]:
        status, _, body = call(self.server.port, "POST", "/api/v1/me/tokens", {
            "scenario": "medical_credit", "partner": self.hospital["client_id"]}, self.session)
        return status, body


@pytest.fixture
def arranged(server_env: dict[str, Any]) -> Iterator[Arranged]:
    env = server_env["env"]
    pengcheng(env, "db", "upgrade")
    server = Server(env)
    server.start()
    try:
        yield Arranged(server, env, server_env["idp"])
    finally:
        server.kill(signal.SIGTERM)
