"""End-to-end batch scoring from PostgreSQL: records -> features -> scores written.

Loads a synthetic population into its own database with the bulk COPY loader
(`bench/seed_bulk.py`), then runs the real command, `pengcheng score`, as child processes and
reports wall time, residents per second, each process's CPU time and peak RSS, and the CPU
time of the PostgreSQL backends serving it (read from /proc: the database runs on this host):

1. the whole population (``--partition 0/1``), from no stored score;
2. the same again (idempotent: nothing is current → nothing written);
3. scores deleted, then ``--partition 0/2`` and ``1/2`` as two concurrent processes;
4. ``pengcheng score --verify`` over every stored score (``--verify``).

    .venv/bin/python bench/score_db.py --residents 100000 [--chunk 5000] [--reuse] [--verify]

``--reuse`` keeps an already loaded database (``--url``) and skips the load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, recreate_database  # noqa: E402
from bench.seed_bulk import NOW  # noqa: E402


def spawn(url: str, *args: str) -> tuple[subprocess.Popen, IO[str]]:
    """Start `pengcheng score *args` on the bench database; stdout goes to a temporary file."""
    env = {**os.environ, "PENGCHENG_DATABASE_URL": url, "PENGCHENG_ENV": "development",
           "PENGCHENG_INSTANCE_PATH": tempfile.mkdtemp(prefix="pc-bench-")}
    out = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([str(ROOT / ".venv/bin/pengcheng"), "score", *args], cwd=ROOT,
                            env=env, stdout=out, stderr=subprocess.DEVNULL, text=True)
    return proc, out


def _vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_all(children: list[tuple[subprocess.Popen, IO[str]]], started: float) -> list[dict]:
    """Wait for the children: each one's summary line, wall and CPU time, and peak RSS.

    Peak RSS is the child's own VmHWM, sampled while it runs (``wait4``'s ``ru_maxrss`` would
    also count this parent's memory at fork time).
    """
    peak = {p.pid: 0 for p, _ in children}
    done: dict[int, dict] = {}
    while len(done) < len(children):
        for proc, out in children:
            if proc.pid in done:
                continue
            peak[proc.pid] = max(peak[proc.pid], _vm_hwm_kib(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if not pid:
                continue
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            lines = out.read().strip().splitlines()
            done[proc.pid] = {**(json.loads(lines[-1]) if lines else {}),
                              "exit": proc.returncode,
                              "wall_s": round(time.perf_counter() - started, 1),
                              "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                              "peak_rss_mib": round(peak[proc.pid] / 1024)}
        time.sleep(0.1)
    return [done[p.pid] for p, _ in children]


class DatabaseCpu:
    """CPU seconds used by the PostgreSQL backends serving the bench database (same host):
    /proc of every backend connected to it, sampled a few times a second."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        from core.db import normalize_url

        self.name = make_url(url).database
        self.engine = create_engine(normalize_url(url).replace(f"/{self.name}", "/postgres"))
        self.ticks: dict[int, int] = {}
        self.base: dict[int, int] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            first = True
            while first or not self.stop.wait(0.2):
                pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                    {"d": self.name}).scalars().all()
                conn.rollback()
                for pid in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    used = int(fields[11]) + int(fields[12])  # utime + stime
                    if first:  # backends already open (this script's pool): count from now
                        self.base[pid] = used
                    self.ticks[pid] = max(self.ticks.get(pid, 0), used)
                first = False
                self.ready.set()

    def __enter__(self) -> DatabaseCpu:
        self.thread.start()
        self.ready.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.engine.dispose()

    @property
    def seconds(self) -> float:
        used = sum(t - self.base.get(pid, 0) for pid, t in self.ticks.items())
        return round(used / os.sysconf("SC_CLK_TCK"), 1)


def per_100k(cpu_s: float, result: dict) -> float:
    """CPU seconds (process + PostgreSQL) per 100,000 residents seen: the issue 26 figure."""
    return round(cpu_s * 100_000 / max(1, result.get("seen", 0)), 1)


def run(url: str, chunk: int, *partitions: str) -> list[dict]:
    """`pengcheng score --partition p` for each p, concurrently; one result per process."""
    started = time.perf_counter()
    return wait_all([spawn(url, "--partition", p, "--chunk", str(chunk)) for p in partitions],
                    started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/pc_bench_score")
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--reuse", action="store_true", help="skip the load (database ready)")
    parser.add_argument("--verify", action="store_true", help="also time `score --verify`")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
          f"load average {os.getloadavg()[0]:.1f}; python {platform.python_version()}",
          flush=True)

    from sqlalchemy import text

    from app import create_app
    from app.bootstrap import bootstrap
    from app.runtime import runtime
    from bench.seed_bulk import load
    from core.clock import FrozenClock

    if not args.reuse:
        recreate_database(args.url).dispose()
    app = create_app({"DATABASE_URL": args.url, "ENV": "development",
                      "DB_STATEMENT_TIMEOUT_MS": 3_600_000},  # the load's COPY runs for minutes
                     clock=FrozenClock(NOW))
    if not args.reuse:
        bootstrap(app)
        t0 = time.perf_counter()
        with app.app_context(), runtime().uow() as uow:
            totals = load(uow, runtime().keyring, residents=args.residents,
                          log=lambda m: print(m, file=sys.stderr, flush=True))
        print(json.dumps({"load": totals, "load_s": round(time.perf_counter() - t0, 1)}),
              flush=True)

    def clear_scores() -> None:
        with app.app_context(), runtime().uow() as uow:
            uow.session.execute(text("TRUNCATE scores"))
            uow.commit()

    clear_scores()
    with DatabaseCpu(args.url) as db:
        (whole,) = run(args.url, args.chunk, "0/1")
    print(json.dumps({"whole": whole, "db_cpu_s": db.seconds,
                      "cpu_s_per_100k": per_100k(whole.get("cpu_s", 0) + db.seconds, whole)}),
          flush=True)
    with DatabaseCpu(args.url) as db:
        (again,) = run(args.url, args.chunk, "0/1")
    print(json.dumps({"rerun": again, "db_cpu_s": db.seconds}), flush=True)
    clear_scores()
    started = time.perf_counter()
    with DatabaseCpu(args.url) as db:
        halves = run(args.url, args.chunk, "0/2", "1/2")
    wall = time.perf_counter() - started
    seen = sum(h.get("seen", 0) for h in halves)
    cpu = sum(h.get("cpu_s", 0) for h in halves) + db.seconds
    print(json.dumps({"partitions": halves, "wall_s": round(wall, 1),
                      "residents_per_s": round(seen / wall), "db_cpu_s": db.seconds,
                      "cpu_s_per_100k": per_100k(cpu, {"seen": seen})}), flush=True)
    if args.verify:
        started = time.perf_counter()
        with DatabaseCpu(args.url) as db:
            (result,) = wait_all([spawn(args.url, "--verify")], started)
        print(json.dumps({"verify": result, "db_cpu_s": db.seconds}), flush=True)
    print(json.dumps({"load_average_end": round(os.getloadavg()[0], 1)}), flush=True)
    app.extensions["pengcheng"].engine.dispose()


if __name__ == "__main__":
    main()
