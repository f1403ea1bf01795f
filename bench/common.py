"""What the benchmarks share: a throw-away PostgreSQL database and a gunicorn server on loopback.

Benchmarks run as scripts (`.venv/bin/python bench/x.py`); each puts the repository root on
`sys.path` before importing this module.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from core.db import normalize_url

ROOT = Path(__file__).resolve().parent.parent


def recreate_database(pg_url: str) -> Engine:
    """Drop and create the database `pg_url` names; returns an engine on `postgres`."""
    name = make_url(pg_url).database
    admin = create_engine(normalize_url(pg_url).replace(f"/{name}", "/postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin


def drop_database(admin: Engine, pg_url: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(pg_url).database}" WITH (FORCE)'))
    admin.dispose()


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not become ready")


def wait_loaded(server: subprocess.Popen, workers: int, timeout: float = 60) -> None:
    """Until every worker has loaded the app (it has mapped Flask's compiled markupsafe helper,
    which gunicorn's master never imports).

    The first worker answers /healthz while the others may still be importing; a load
    generator that opened its keep-alive connections then would hand all of them to that one
    worker for the whole run (seen: 32 of 32 connections on one of four workers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        loaded = 0
        for pid in children(server.pid):
            try:
                loaded += "markupsafe" in Path(f"/proc/{pid}/maps").read_text()
            except OSError:
                continue
        if loaded >= workers:
            return wait_idle(children(server.pid), deadline)
        time.sleep(0.2)
    raise SystemExit(f"only {loaded} of {workers} gunicorn workers loaded the app")


def wait_idle(pids: list[int], deadline: float) -> None:
    """Until the processes have used no CPU for half a second: a worker that has imported
    Flask is still building the app and warming it (`post_worker_init`) for seconds, and the
    requests of a run that started then would wait for that (seen: the first second's p99
    was 150-300 ms, every later second's 6-30 ms)."""
    spent = sum(cpu_by_pid(pids).values())
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = sum(cpu_by_pid(pids).values())
        if now - spent > 0.01:  # a clock tick or more: still working
            spent, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= 0.5:
            return


@contextmanager
def gunicorn(target: str, port: int, *, workers: int, threads: int,
             env: dict[str, str], worker_class: str = "gthread",
             config: Path | None = None) -> Iterator[subprocess.Popen]:
    """Serve `target` on 127.0.0.1:`port` until the block ends; then stop it. `config`: another
    gunicorn config file than the repository's `gunicorn.conf.py`."""
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "-k", worker_class, "--threads", str(threads), "--log-level", "warning",
         *(["-c", str(config)] if config else []), target],
        cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_ready(port, server)
        wait_loaded(server, workers)
        yield server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


UNLIMITED = "1000000/60"


def service_env(pg_url: str, redis_url: str | None, idp, *, pool: int, instance: str,
                **extra: str) -> dict[str, str]:
    """A production-mode environment for the app and gunicorn: fresh keys, the bench's IdP,
    rate limits out of the way of the load generator. `extra` adds or overrides variables."""
    import json

    from core.crypto import new_key_text

    env = {**os.environ, "PENGCHENG_ENV": "production", "PENGCHENG_DATABASE_URL": pg_url,
           "PENGCHENG_MASTER_KEY": new_key_text(), "PENGCHENG_INDEX_KEY": new_key_text(),
           "PENGCHENG_IDP_JWKS": json.dumps(idp.jwks), "PENGCHENG_IDP_ISSUER": idp.ISSUER,
           "PENGCHENG_RATE_LIMIT_LOGIN": UNLIMITED, "PENGCHENG_RATE_LIMIT_INGEST": UNLIMITED,
           "PENGCHENG_RATE_LIMIT_TOKENS": UNLIMITED, "PENGCHENG_DB_POOL_SIZE": str(pool),
           "PENGCHENG_INSTANCE_PATH": instance, **extra}
    if redis_url:
        env["PENGCHENG_REDIS_URL"] = redis_url
    return env


# -- where the CPU goes (the database runs on this host) ----------------------------------------

def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of processes (all their threads), from /proc."""
    return sum(cpu_by_pid(pids).values())


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """Each live process's user + system CPU seconds (all its threads), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two `cpu_by_pid` samples, by old and new processes alike
    (a process started meanwhile, such as a new database backend, counts from zero)."""
    return sum(spent - before.get(pid, 0.0) for pid, spent in after.items())


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return out


def named(name: str) -> list[int]:
    """Every process whose command name is `name` (e.g. all of PostgreSQL's)."""
    out = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                out.append(int(comm.parent.name))
        except (OSError, ValueError):
            continue
    return out
