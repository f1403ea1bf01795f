"""Points redemption throughput: `POST /partner/v1/points/redemptions` under gunicorn on
PostgreSQL + Redis, from concurrent keep-alive clients; redemptions/s, p50, p99, and the ledger
reconciled at the end (legs sum to zero, balances = legs = lots, one transfer per success).

Arranges in-process first: residents who consented to scoring and to
`scenario:points_redemption` and earned points, a merchant, and one fresh token per redemption
(tokens are single-use and live 120 s, so the timed run is bounded well inside that). Creates
its own database (dropped at the end unless --keep-db), binds 127.0.0.1 only, prints JSON.

    .venv/bin/python bench/points.py [--seconds 15] [--workers 2] [--threads 8] [--clients 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    children,
    cpu_seconds,
    drop_database,
    gunicorn,
    recreate_database,
    service_env,
)
from tests.support.factories import FakeIdp  # noqa: E402

SCENARIO = "points_redemption"
POINTS = 10  # per redemption


def arrange(app, residents: int, tokens: int) -> tuple[str, list[str]]:
    """A merchant, `residents` residents with points and consent, `tokens` live tokens."""
    from datetime import timedelta

    from app.runtime import runtime
    from consent.notices import current
    from consent.services import Signing, grant
    from core.identity import Person, create_partner, create_resident
    from core.idnumber import make
    from rewards.points.earning import award
    from rewards.scenarios import get
    from rewards.tokens import issue

    with app.app_context():
        now = runtime().clock.now()
        people = []
        with runtime().uow() as uow:
            shop, key = create_partner(uow.session, name="基准商户", kind="merchant",
                                       scenarios=[SCENARIO], now=now)
            uow.commit()
        from datetime import date

        for i in range(residents):
            with runtime().uow() as uow:
                person = create_resident(uow.session, runtime().keyring,
                                         Person("测试", make("440305", date(1990, 1, 1), i + 1),
                                                None), now=now)
                # every token relies on the consents to scoring and to its scenario
                for purpose, categories in (("scoring", ["utilities"]),
                                            (f"scenario:{SCENARIO}", None)):
                    notice = current(uow.session, purpose)
                    assert notice is not None
                    grant(uow, person, notice.id, now=now, categories=categories,
                          separate_consent=True,
                          signing=Signing(runtime().signer, app.config["ISSUER"]))
            with runtime().uow() as uow:
                award(uow.session, resident_id=person.id, points=1_000_000,
                      key=f"earn:bench:{person.id.hex}", rule="bench", now=now,
                      expires_at=now + timedelta(days=730))
                uow.commit()
            people.append(person.id)
        out = []
        with runtime().uow() as uow:
            scenario = get(uow.session, SCENARIO)
            for n in range(tokens):
                issued = issue(uow.session, resident_id=people[n % residents], partner=shop,
                               scenario=scenario, now=runtime().clock.now(),
                               limits={"max_points_per_order": 5000},
                               ctx=runtime().tokens)
                out.append(issued.token)
            uow.commit()
    return key, out


def backends(pg_url: str) -> list[int]:
    """PostgreSQL backend pids serving the bench database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from core.db import normalize_url

    engine = create_engine(normalize_url(pg_url).replace(
        f"/{make_url(pg_url).database}", "/postgres"))
    with engine.connect() as conn:
        pids = list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                 {"d": make_url(pg_url).database}))
    engine.dispose()
    return pids


def _client(port: int, key: str, tokens: list[str], prefix: str, threads: int,
            deadline: float, out: mp.Queue) -> None:
    lat: list[float] = []
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    cursor = iter(enumerate(tokens))
    cpu = time.process_time()

    def loop() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        mine: list[float] = []
        ok = errors = 0
        while time.monotonic() < deadline:
            with lock:
                item = next(cursor, None)
            if item is None:
                break
            n, token = item
            body = json.dumps({"token": token, "out_order_no": f"{prefix}-{n}",
                               "points": POINTS})
            started = time.perf_counter()
            try:
                conn.request("POST", "/partner/v1/points/redemptions", body=body,
                             headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - started)
            if response.status == 201:
                ok += 1
            else:
                errors += 1
        conn.close()
        with lock:
            lat.extend(mine)
            counts["ok"] += ok
            counts["errors"] += errors

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put({"latencies": lat, **counts, "cpu": time.process_time() - cpu})


def load(port: int, key: str, tokens: list[str], args, env) -> tuple[dict, dict]:
    """Warm up, then drive the server with `--clients × --connections` connections."""
    ctx = mp.get_context("fork")
    runs = []
    with gunicorn("app:create_app()", port, workers=args.workers, threads=args.threads,
                  env=env) as server:
        warm, timed = tokens[:args.warmup_tokens], tokens[args.warmup_tokens:]
        for phase, seconds, pool in (("warm", args.warmup, warm), ("run", args.seconds, timed)):
            results: mp.Queue = ctx.Queue()
            share = len(pool) // args.clients
            if phase == "run":
                app_pids, db_pids = children(server.pid), backends(args.pg)
                cpu_before = cpu_seconds(app_pids), cpu_seconds(db_pids)
            deadline = time.monotonic() + seconds
            started = time.monotonic()
            procs = [ctx.Process(target=_client, args=(
                port, key, pool[i * share:(i + 1) * share], f"{phase}{i}", args.connections,
                deadline, results)) for i in range(args.clients)]
            for p in procs:
                p.start()
            outs = [results.get(timeout=seconds + 120) for _ in procs]
            for p in procs:
                p.join(timeout=30)
            runs.append((time.monotonic() - started, outs))
        cpu_app = cpu_seconds(app_pids) - cpu_before[0]
        cpu_db = cpu_seconds(db_pids) - cpu_before[1]
    (_warm_elapsed, warm_outs), (elapsed, outs) = runs
    lat = sorted(x for o in outs for x in o["latencies"])
    ok = sum(o["ok"] for o in outs)
    return ({"redemptions_per_s": round(ok / elapsed),
             "p50_ms": round(1000 * lat[len(lat) // 2], 2),
             "p99_ms": round(1000 * lat[int(len(lat) * 0.99)], 2), "redemptions": ok,
             "errors": sum(o["errors"] for o in outs), "seconds": round(elapsed, 1),
             "cpu_ms_per_redemption": {
                 "gunicorn": round(1000 * cpu_app / max(ok, 1), 2),
                 "postgresql": round(1000 * cpu_db / max(ok, 1), 2),
                 "clients": round(1000 * sum(o["cpu"] for o in outs) / max(ok, 1), 2)}},
            {"ok": sum(o["ok"] for o in warm_outs) + ok,
             "errors": sum(o["errors"] for o in warm_outs) + sum(o["errors"] for o in outs)})


def reconciled(app) -> dict:
    from sqlalchemy import func, select

    from app.runtime import runtime
    from rewards.points.ledger import reconcile
    from rewards.points.models import Redemption, Transfer

    with app.app_context(), runtime().uow() as uow:
        check = reconcile(uow.session).as_dict()
        check["redemptions"] = uow.session.scalar(
            select(func.count()).select_from(Redemption)) or 0
        check["redeem_transfers"] = uow.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "redeem")) or 0
    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/pc_b_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--port", type=int, default=8793)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--clients", type=int, default=3, help="client processes")
    parser.add_argument("--connections", type=int, default=8, help="per client process")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=15000)
    parser.add_argument("--warmup-tokens", type=int, default=1500)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 45.0)  # bounded, and well inside the tokens' 120 s

    admin = recreate_database(args.pg)
    idp = FakeIdp()
    env = service_env(args.pg, args.redis, idp, pool=args.threads,
                      instance="/tmp/pc_b_bench_instance")
    os.environ.update(env)

    from app import create_app
    from app.bootstrap import bootstrap

    app = create_app()
    bootstrap(app)
    app.extensions["pengcheng"].store.client.flushdb()
    started = time.monotonic()
    key, tokens = arrange(app, args.residents, args.tokens)
    arranged = round(time.monotonic() - started, 1)
    app.extensions["pengcheng"].engine.dispose()

    figures, totals = load(args.port, key, tokens, args, env)
    check = reconciled(app)
    cost = figures["cpu_ms_per_redemption"]
    # what two otherwise idle cores could do at this CPU cost (server, database, clients)
    figures["capacity_per_s_on_2_idle_cores"] = round(
        2000 / max(cost["gunicorn"] + cost["postgresql"] + cost["clients"], 0.01))
    figures.update(
        cpus=os.cpu_count(), loadavg=[round(x, 2) for x in os.getloadavg()],
        server=f"gunicorn gthread -w {args.workers} --threads {args.threads}",
        clients=f"{args.clients} processes × {args.connections} connections",
        residents=args.residents, arrange_seconds=arranged,
        ledger=check, successes_total=totals["ok"],
        reconciled=bool(check["ok"] and check["redemptions"] == check["redeem_transfers"]
                        == totals["ok"]))
    print(json.dumps(figures, indent=2))
    if args.keep_db:
        admin.dispose()
    else:
        drop_database(admin, args.pg)
    if not figures["reconciled"]:
        raise SystemExit("the ledger did not reconcile")


if __name__ == "__main__":
    main()
