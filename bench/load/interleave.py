"""Target 3 measured in turns: the bare endpoint and the resident reads served at the same time,
the load moved from one to the next every few seconds, many times over.

`bench/load/run.py` measures each endpoint in its own server, one after the other, for
`--seconds` each. On this VM a ratio of two such runs carries the machine's drift between
them: in one run (Session 16) the bare endpoint's first and last runs differed 1.36x, and the
token issue read 4.02x, 4.12x and 6.74x in three rounds minutes apart, the code unchanged.
Here every server is up for the whole measurement and `wrk` loads one of them at a time for
`slice_s` seconds, in turn, `rounds` times, the order reversed every other round: the bare
endpoint and each read are measured at the same moments, so drift slower than a round (a few
seconds) cancels out of their ratio, and a round's ratio compares slices seconds apart, not
minutes.

Each slice's CPU is read from /proc for the loaded server's own processes (master and
workers) and for PostgreSQL's; what the servers not loaded spent meanwhile is recorded apart
(`idle_ms`: their gthread loops wake about once a second; the app starts no threads of its
own). Each endpoint first gets an unmeasured slice (warm-up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import children, cpu_by_pid, cpu_used, named
from bench.load import wrk


@dataclass(frozen=True)
class Served:
    """One endpoint: the port of the server that serves it, that server's pid (gunicorn's
    master), and its prepared requests (reusable: a read)."""

    port: int
    pid: int
    requests: Path


def run(served: dict[str, Served], *, rounds: int, slice_s: float, connections: int,
        load: Callable[..., dict[str, Any]] = wrk.run) -> dict[str, Any]:
    """`rounds` rounds of one `slice_s`-second slice of closed-loop load per endpoint, in the
    order of `served`, reversed every other round. Per endpoint, its slices: requests and the
    CPU milliseconds its server and PostgreSQL spent in each."""
    names = list(served)
    for name in names:  # warm-up, unmeasured
        load(served[name].port, served[name].requests, connections=connections,
             seconds=slice_s)
    slices: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    masters = {s.pid for s in served.values()}
    for n in range(rounds):
        for name in names if n % 2 == 0 else names[::-1]:
            s = served[name]
            pids = [s.pid, *children(s.pid)]
            idle = [p for m in masters - {s.pid} for p in (m, *children(m))]
            before = cpu_by_pid(pids), cpu_by_pid(named("postgres")), cpu_by_pid(idle)
            result = load(s.port, s.requests, connections=connections, seconds=slice_s)
            spent = (cpu_used(before[0], cpu_by_pid(pids)),
                     cpu_used(before[1], cpu_by_pid(named("postgres"))),
                     cpu_used(before[2], cpu_by_pid(idle)))
            slices[name].append({
                "requests": result["requests"], "non_2xx": result["non_2xx"],
                "server_ms": round(spent[0] * 1000, 1), "postgres_ms": round(spent[1] * 1000, 1),
                "idle_ms": round(spent[2] * 1000, 1)})
    return {"rounds": rounds, "slice_s": slice_s, "order": names, "slices": slices}
