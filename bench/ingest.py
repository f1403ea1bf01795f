"""Ingestion throughput: records/s through `POST /ingest/v1/records` into PostgreSQL.

Creates and migrates its own database, registers a data source (and some residents, so the
owner lookup and "mark stale" paths run), starts gunicorn on 127.0.0.1, then posts batches of
1000 fresh synthetic records from client *processes* for a bounded time and prints records/s.
The server is stopped at the end; the database is dropped unless --keep-db.

    .venv/bin/python bench/ingest.py [--seconds 20] [--workers 2] [--threads 2] [--clients 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.common import drop_database, gunicorn, recreate_database, service_env  # noqa: E402
from core.db import normalize_url  # noqa: E402
from core.idnumber import make  # noqa: E402
from tests.support.factories import FakeIdp  # noqa: E402

BATCH = 1000
KINDS = [  # (category, type, extra fields)
    ("utilities", "payment_on_time", {"amount_fen": 12345}),
    ("utilities", "payment_overdue", {"amount_fen": 800}),
    ("tax", "filed_on_time", {}),
    ("social_insurance", "contribution_month", {"amount_fen": 98000}),
    ("traffic", "violation", {"severity": "minor"}),
    ("volunteer", "service_hours", {"quantity": 2.5}),
    ("rental", "rent_on_time", {"amount_fen": 450000, "attributes": {"district": "南山"}}),
]


def _id_numbers(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
        out.append(make(rng.choice(["440303", "440304", "440305", "440306", "440307"]),
                        born, i))
    return out


def _template(numbers: list[str], seed: int) -> bytes:
    """One batch body; `@B@` is replaced by the batch number to make every id fresh."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    records = []
    for i in range(BATCH):
        category, type_, extra = KINDS[i % len(KINDS)]
        occurred = now - timedelta(days=rng.randrange(1, 700), seconds=rng.randrange(86400))
        records.append({"source_record_id": f"@B@-{i}", "id_number": rng.choice(numbers),
                        "category": category, "type": type_,
                        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"), **extra})
    return json.dumps({"records": records}, ensure_ascii=False).encode()


def _client(port: int, key: str, template: bytes, prefix: str, deadline: float,
            out: mp.Queue) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    accepted = batches = errors = 0
    latencies = []
    n = 0
    while time.monotonic() < deadline:
        body = template.replace(b"@B@", f"{prefix}{n}".encode())
        n += 1
        started = time.perf_counter()
        try:
            conn.request("POST", "/ingest/v1/records", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            errors += 1
            continue
        accepted += json.loads(payload)["accepted"]
        batches += 1
    conn.close()
    out.put({"accepted": accepted, "batches": batches, "errors": errors,
             "latencies": latencies})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/pc_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--residents", type=int, default=1000,
                        help="residents registered before the run (their records mark them stale)")
    parser.add_argument("--people", type=int, default=20000, help="distinct ID numbers in records")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 300.0)  # bounded

    admin = recreate_database(args.pg)

    env = service_env(args.pg, args.redis, FakeIdp(), pool=max(2, args.threads),
                      instance="/tmp/pc_bench_instance")
    os.environ.update(env)

    from app import create_app
    from app.bootstrap import bootstrap
    from app.runtime import runtime
    from core.identity import Person, create_resident, create_source
    from core.registry import CATEGORIES

    app = create_app()
    bootstrap(app)
    numbers = _id_numbers(args.people, 1)
    with app.app_context(), runtime().uow() as uow:
        now = runtime().clock.now()
        source, key = create_source(uow.session, name="bench", categories=sorted(CATEGORIES),
                                    now=now)
        for number in numbers[: args.residents]:
            create_resident(uow.session, runtime().keyring, Person("测试", number, None), now=now)
        uow.commit()
    app.extensions["pengcheng"].engine.dispose()

    with gunicorn("app:create_app()", args.port, workers=args.workers, threads=args.threads,
                  env=env):
        template = _template(numbers, 2)
        ctx = mp.get_context("fork")
        results: mp.Queue = ctx.Queue()
        if args.warmup:
            warm = ctx.Process(target=_client, args=(args.port, key, template, "w",
                                                     time.monotonic() + args.warmup, results))
            warm.start()
            warm.join()
            results.get()
        deadline = time.monotonic() + args.seconds
        started = time.monotonic()
        procs = [ctx.Process(target=_client, args=(args.port, key, template, f"c{c}-",
                                                   deadline, results))
                 for c in range(args.clients)]
        for p in procs:
            p.start()
        outs = [results.get(timeout=args.seconds + 120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        elapsed = time.monotonic() - started

    accepted = sum(o["accepted"] for o in outs)
    batches = sum(o["batches"] for o in outs)
    errors = sum(o["errors"] for o in outs)
    lat = sorted(x for o in outs for x in o["latencies"])
    check = create_engine(normalize_url(args.pg))
    with check.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM records")).scalar()
        stale = conn.execute(text(
            "SELECT count(*) FROM residents WHERE score_stale_at IS NOT NULL")).scalar()
    check.dispose()
    print(json.dumps({
        "records_per_second": round(accepted / elapsed),
        "accepted": accepted, "batches": batches, "errors": errors,
        "stored_rows_incl_warmup": stored, "residents_marked_stale": stale,
        "seconds": round(elapsed, 2), "batch_size": BATCH,
        "latency_ms": {"p50": round(1000 * lat[len(lat) // 2], 1) if lat else None,
                       "p95": round(1000 * lat[int(len(lat) * 0.95)], 1) if lat else None},
        "server": f"gunicorn gthread -w {args.workers} --threads {args.threads}",
        "clients": args.clients, "cpus": os.cpu_count(),
    }, indent=2))
    if args.keep_db:
        admin.dispose()
    else:
        drop_database(admin, args.pg)


if __name__ == "__main__":
    main()
