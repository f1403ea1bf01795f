"""The embedded PostgreSQL (`core.embedded`), tried the way a newcomer's machine would try it:
processes sharing one instance, killed with `kill -9`, a stale or foreign lock, two demos."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from core.embedded import SYSTEM_USER, Cluster, EmbeddedError

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Another process (its own interpreter) running `code`; it prints 'ready' when set."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env or os.environ.copy())


def _end(proc: subprocess.Popen[str]) -> None:
    """Kill `proc` if it still runs and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


def _wait_for(proc: subprocess.Popen[str], word: str, seconds: float = 60) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if word in line:
            return line
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"no {word!r}: {proc.stderr.read() if proc.stderr else ''}")


def _postmaster(cluster: Cluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def _kill_postmaster(cluster: Cluster) -> int:
    """`kill -9` the cluster's server, as a crash would; wait until it no longer answers."""
    postmaster = _postmaster(cluster)
    os.kill(postmaster, signal.SIGKILL)
    for _ in range(100):
        if not cluster.running():
            break
        time.sleep(0.1)
    return postmaster


ATTACH_AND_WAIT = """
    import sys, time
    from core.embedded import Cluster
    c = Cluster(sys.argv[1]); c.attach()
    print("ready", flush=True)
    time.sleep(120)
"""


def test_a_second_process_reuses_the_running_cluster_and_the_last_to_leave_stops_it(cluster_home):
    other = _python(ATTACH_AND_WAIT, str(cluster_home / "pg"))
    try:
        _wait_for(other, "ready")
        cluster = Cluster(cluster_home / "pg")
        first = _postmaster(cluster)
        cluster.attach()
        assert _postmaster(cluster) == first  # reused, not a second server
        assert sorted(cluster.users()) == sorted([other.pid, os.getpid()])
        cluster.detach()
        assert cluster.running()  # the other process still uses it
    finally:
        other.terminate()  # SIGTERM: its atexit does not run, as after a crash of the process
        _end(other)
    # The dead user no longer counts: the next one to leave stops the cluster.
    cluster.attach()
    assert cluster.users() == [os.getpid()]
    cluster.detach()
    assert not cluster.running()


def test_killing_the_process_and_the_postmaster_loses_nothing_acknowledged(cluster_home):
    writer = _python("""
        import sys, time, psycopg
        from core.embedded import Cluster
        c = Cluster(sys.argv[1]); c.attach(); c.create_database("app")
        with psycopg.connect(c.url("app"), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (n int)")
            for n in range(500):
                conn.execute("INSERT INTO t VALUES (%s)", (n,))
            print("ready", flush=True)
            n = 500
            while True:  # keeps writing until it is killed
                conn.execute("INSERT INTO t VALUES (%s)", (n,)); n += 1
    """, str(cluster_home / "pg"))
    cluster = Cluster(cluster_home / "pg")
    try:
        _wait_for(writer, "ready")
        time.sleep(0.3)
        os.kill(writer.pid, signal.SIGKILL)
        _kill_postmaster(cluster)  # the server dies too: crash recovery next time
        writer.wait(10)
        cluster.attach()  # PostgreSQL's crash recovery, then accepting connections
        with psycopg.connect(cluster.url("app")) as conn:
            count, top = conn.execute("SELECT count(*), max(n) FROM t").fetchone()
        assert count >= 500 and count == top + 1  # every acknowledged insert, none doubled
        assert "database system was interrupted" in cluster.log.read_text() or \
            "not properly shut down" in cluster.log.read_text()
    finally:
        _end(writer)
        cluster.detach()


def test_a_stale_lock_of_a_crashed_server_is_recovered_from(cluster_home):
    cluster = Cluster(cluster_home / "pg")
    cluster.attach()
    postmaster = _kill_postmaster(cluster)
    assert (cluster.data / "postmaster.pid").exists()  # left behind by the crash
    cluster.attach()
    assert cluster.running() and _postmaster(cluster) != postmaster
    cluster.detach()


def test_a_lock_held_by_another_live_process_is_a_clear_message_not_a_hang(cluster_home):
    cluster = Cluster(cluster_home / "pg")
    cluster.init()
    # A process of the server's own user (PostgreSQL takes another user's for a stale lock).
    as_server = {"user": SYSTEM_USER, "group": SYSTEM_USER} if os.geteuid() == 0 else {}
    squatter = subprocess.Popen(["sleep", "120"], **as_server)
    try:
        # A postmaster.pid naming a live process that is not this cluster's server.
        (cluster.data / "postmaster.pid").write_text(
            f"{squatter.pid}\n{cluster.data}\n{int(time.time())}\n5432\n{cluster.root}\n\n"
            "  0 0\nready   \n")
        started = time.monotonic()
        with pytest.raises(EmbeddedError) as refused:
            cluster.attach()
        assert time.monotonic() - started < 30
        message = str(refused.value)
        assert "postmaster.pid" in message and "What to do" in message
    finally:
        squatter.kill()
        squatter.wait()


def _demo(instance: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PENGCHENG_")}
    env["PENGCHENG_INSTANCE_PATH"] = str(instance)
    return subprocess.Popen([str(Path(sys.executable).parent / "pengcheng"), "demo", "--port",
                             str(port), "--residents", "3"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_demo_on_one_instance_says_the_first_runs_and_the_demo_stops_its_database(
        cluster_home):
    from tests.faults.conftest import free_port

    instance = cluster_home / "instance"
    first = _demo(instance, free_port())
    try:
        line = _wait_for(first, "database:", seconds=120)
        assert str(instance / "postgres") in line
        second = _demo(instance, free_port())
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert "already running" in err and f"pid {first.pid}" in err
        assert Cluster(instance / "postgres").running()  # the second left the first's alone
    finally:
        # Twice, as a supervisor (or `timeout`) may: the second must not cut the stop short.
        first.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        if first.poll() is None:
            first.send_signal(signal.SIGTERM)
        first.wait(60)
        _end(first)
    assert not Cluster(instance / "postgres").running()  # stopped cleanly with the demo
