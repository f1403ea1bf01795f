"""An open-loop load: requests sent at a fixed rate whether or not the answers keep up.

wrk is closed-loop: each connection waits for its answer before the next request, so when the
server slows down the offered rate drops with it and the latency of the requests never sent is
never counted ("coordinated omission"). Here request i is due at `start + i / rate`; its latency
is measured from when it was due, so a request that waits for a free connection (at most
`connections` in flight, as `hey -c 64 -q …` would use) counts its wait. hey cannot be used for
the partner writes: it sends one body over and over, and a single-use token or an idempotency
key answers a replay from the store, which is not the work being measured.

Reads the request files `bench/load/wrk.py` writes (METHOD \\t PATH \\t AUTHORIZATION \\t BODY),
in order, each at most once (a run needing more requests than the file holds stops early and
says so). 127.0.0.1 only; bounded by `seconds`.

The generator's own pauses would count as the server's latency, so the run freezes what the
process holds before it starts (`gc.freeze`): `bench/load/run.py` has the whole app and its
world in this process, ~250,000 objects, and a full collection over them stopped the event
loop for 200-250 ms (seen as one-second "stalls" of p99 in sessions 10 and 11). Frozen, a
collection walks only what the run itself makes.

The generator shares the machine's two cores with the server, so each run also says how busy
the machine was (all cores, `/proc/stat`), the CPU the generator itself used, and how late its
own event loop ran (a timer every 5 ms): a latency spike that coincides with a late generator
was at least partly the generator's, not the server's.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from pathlib import Path


def _requests(path: Path) -> list[bytes]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        method, target, auth, body = line.split("\t", 3)
        data = body.encode()
        head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
        if auth:
            head.append(f"Authorization: {auth}")
        if data:
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        out.append(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    return out


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 answer (Content-Length framed, as gunicorn sends them); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next((int(v) for k, _, v in (h.partition(":") for h in lines[1:])
                   if k.lower() == "content-length"), 0)
    if length:
        await reader.readexactly(length)
    return status


async def _run(port: int, requests: list[bytes], rate: float, seconds: float,
               connections: int, warmup: float) -> dict:
    skipped = int(rate * warmup)  # sent at the same rate first, not counted
    total = min(len(requests), skipped + int(rate * seconds))
    free: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(None)  # a slot; its connection is opened on first use
    latencies: list[float] = []
    timeline: list[tuple[float, float]] = []  # (due since start, latency) per answer
    statuses: dict[int, int] = {}
    failures = 0

    warming: list[float] = []
    lag = {"max": 0.0, "over_20ms": 0}

    async def watch_own_loop() -> None:
        """How late this event loop wakes: its timer every 5 ms, lateness recorded."""
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(0.005)
            late = time.perf_counter() - asked - 0.005
            lag["max"] = max(lag["max"], late)
            lag["over_20ms"] += late > 0.020

    async def one(request: bytes, due: float, counted: bool) -> None:
        nonlocal failures
        conn = await free.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection("127.0.0.1", port)
            reader, writer = conn
            writer.write(request)
            await writer.drain()
            status = await asyncio.wait_for(_answer(reader), timeout=30)
            latency = time.perf_counter() - due
            if not counted:
                warming.append(latency)
                return
            latencies.append(latency)
            timeline.append((due - measured_from, latency))
            statuses[status] = statuses.get(status, 0) + 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            failures += 1
            conn = None
        finally:
            free.put_nowait(conn)

    watcher = asyncio.create_task(watch_own_loop())
    start = time.perf_counter()
    measured_from = start + skipped / rate
    machine_before, own_before = _machine_cpu(), _own_cpu()
    in_flight: set[asyncio.Task] = set()  # answered requests are let go: little for the GC
    broken: list[BaseException] = []

    def done(task: asyncio.Task) -> None:
        in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            broken.append(task.exception())  # type: ignore[arg-type]

    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(requests[i], due, i >= skipped))
        in_flight.add(task)
        task.add_done_callback(done)
    if in_flight:
        await asyncio.wait_for(asyncio.gather(*in_flight), timeout=seconds + warmup + 60)
    if broken:
        raise broken[0]
    elapsed = time.perf_counter() - measured_from
    busy, stolen, ticks = (a - b for a, b in zip(_machine_cpu(), machine_before, strict=True))
    own = _own_cpu() - own_before
    watcher.cancel()
    while not free.empty():
        conn = free.get_nowait()
        if conn is not None:
            conn[1].close()
    latencies.sort()

    warming.sort()

    def pct(p: float, of: list[float] = latencies) -> float:
        return round(of[min(len(of) - 1, int(p * len(of)))] * 1000, 1) if of else float("nan")

    return {"offered_per_s": round(rate, 1), "achieved_per_s": round(len(latencies) / elapsed, 1),
            "sent": total, "answered": len(latencies), "failures": failures,
            "non_2xx": sum(n for s, n in statuses.items() if not 200 <= s < 300),
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "max_ms": round(latencies[-1] * 1000, 1) if latencies else float("nan"),
            "short_of_requests": total < skipped + int(rate * seconds),
            "warmup_s": warmup, "warmup_p99_ms": pct(0.99, warming),
            "p99_ms_by_second": _by_second(timeline),
            # warm-up included in these three: the whole time the generator ran
            "machine_busy_pct": round(100 * busy / max(1, ticks), 1),
            "machine_steal_pct": round(100 * stolen / max(1, ticks), 1),
            "generator_cpu_cores": round(own / max(1e-9, time.perf_counter() - start), 2),
            "generator_lag_max_ms": round(lag["max"] * 1000, 1),
            "generator_lags_over_20ms": lag["over_20ms"]}


def _machine_cpu() -> tuple[int, int, int]:
    """(busy, stolen, total) clock ticks of all cores since boot (`/proc/stat`: user, nice,
    system, irq and softirq are busy; steal is time the hypervisor gave to others)."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, idle, iowait, irq, softirq, steal = (
            int(v) for v in stat.readline().split()[1:9])
    return user + nice + system + irq + softirq, steal, user + nice + system + idle + iowait \
        + irq + softirq + steal


def _own_cpu() -> float:
    """CPU seconds this process has used (user + system)."""
    times = os.times()
    return times.user + times.system


def _by_second(timeline: list[tuple[float, float]]) -> list[float]:
    """The p99 of the requests due in each second of the run (where the tail comes from)."""
    seconds: dict[int, list[float]] = {}
    for due, latency in timeline:
        seconds.setdefault(int(due), []).append(latency)
    return [round(sorted(v)[min(len(v) - 1, int(0.99 * len(v)))] * 1000, 1)
            for _, v in sorted(seconds.items())]


def run(port: int, requests: Path, *, rate: float, seconds: float, connections: int = 64,
        warmup: float = 0.0) -> dict:
    """Offer `rate` requests/s for `warmup` + `seconds` (at most `connections` in flight):
    achieved rate, p50/p90/p99/max latency in ms from each request's due time, of the requests
    due after the warm-up (its own p99 is reported apart: a new worker's first requests)."""
    loaded = _requests(requests)
    gc.collect()
    gc.freeze()  # see the module docstring: no full collection walks the caller's heap
    try:
        return asyncio.run(_run(port, loaded, rate, min(seconds, 60.0), connections,
                                min(warmup, 10.0)))
    finally:
        gc.unfreeze()
