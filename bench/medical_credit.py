"""先诊后付 under load: authorizations and captures per second on PostgreSQL, p99, and proof in
the same run that no credit line was overspent.

Residents with a good score and consents are arranged through the real API; tokens are signed
in bulk with `rewards.tokens.issue` using the entitlement the API granted each resident. Then
gunicorn serves the app on 127.0.0.1 and client processes drive the hospital flow from
concurrent keep-alive connections: authorize (a hold of 30-60 % of the line, so concurrent
counters at the same resident really compete for it), then capture 80 % of it (1 in 10 is
voided instead), then a payment channel repays the bill so the line frees up again. After the
run the ledger is checked in the database: no account above its line, every account equal to
its open holds and unpaid bills, every bill within its hold, one hold per accepted request.

Creates its own database (dropped at the end unless --keep-db), runs for a bounded time and
prints JSON.

    .venv/bin/python bench/medical_credit.py [--seconds 20] [--residents 60] [--workers 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import drop_database, gunicorn, recreate_database, service_env  # noqa: E402
from tests.support.factories import FakeIdp  # noqa: E402

BASE = "/partner/v1/medical-credit"


# -- arrange ------------------------------------------------------------------------------------

def arrange(app, residents: int, tokens: int) -> dict:
    """Residents with a good history and consents; two hospitals, one payment channel; tokens."""
    from sqlalchemy import select

    from app.runtime import runtime
    from core.identity import Partner, Resident, create_partner, create_source
    from core.registry import CATEGORIES
    from rewards import scenarios
    from rewards.tokens import issue
    from tests.support.factories import id_number
    from tests.support.tokens import good_history, grant, push

    idp: FakeIdp = app.config["BENCH_IDP"]
    client = app.test_client()
    with app.app_context(), runtime().uow() as uow:
        now = runtime().clock.now()
        _src, source_key = create_source(uow.session, name="bench", now=now,
                                         categories=sorted(CATEGORIES))
        hospitals = [create_partner(uow.session, name=f"基准医院{i}", kind="hospital",
                                    scenarios=["medical_credit"], now=now) for i in range(2)]
        channel = create_partner(uow.session, name="基准支付", kind="payment_channel",
                                 scenarios=["medical_credit"], now=now)
        uow.commit()
    records = [r for n in range(residents) for r in good_history(100 + n)]
    push(client, source_key, records)
    people = []
    for n in range(residents):
        login = client.post("/api/v1/auth/session", json={
            "assertion": idp.assertion(id_number(100 + n), now=datetime.now(UTC))})
        session = login.get_json()["token"]
        grant(client, session, "scoring")
        grant(client, session, "scenario:medical_credit")
        first = client.post("/api/v1/me/tokens", headers={"Authorization": f"Bearer {session}"},
                            json={"scenario": "medical_credit",
                                  "partner": hospitals[0][0].client_id})
        assert first.status_code == 201, first.get_json()
        mine = client.get("/api/v1/me/medical-credit",
                          headers={"Authorization": f"Bearer {session}"}).get_json()
        people.append((session, mine["line_fen"]))
    out: list[tuple[str, int, str]] = []  # (token, line, hospital key)
    with app.app_context(), runtime().uow() as uow:
        session = uow.session
        scenario = scenarios.get(session, "medical_credit")
        ids = list(session.scalars(select(Resident.id).order_by(Resident.created_at)))
        assert len(ids) == residents
        partners = [(session.get(Partner, h.id), key) for h, key in hospitals]
        now = runtime().clock.now()
        for i in range(tokens):
            resident_id, (_s, line) = ids[i % residents], people[i % residents]
            partner, key = partners[i % 2]
            issued = issue(session, resident_id=resident_id, partner=partner, scenario=scenario,
                           limits={"limit_fen": line}, now=now,
                           ctx=runtime().tokens)
            out.append((issued.token, line, key))
        uow.commit()
    random.Random(7).shuffle(out)
    return {"tokens": out, "channel_key": channel[1], "line_fen": people[0][1]}


# -- load ---------------------------------------------------------------------------------------

def _client(port: int, work: list, channel_key: str, deadline: float, threads: int,
            out: mp.Queue) -> None:
    lock = threading.Lock()
    stats: dict = {"authorize": [], "capture": [], "void": [], "pay": [], "held": 0,
                   "refused": 0, "errors": 0, "error_samples": []}

    def call(conn, path: str, key: str, body: dict | None) -> tuple[int, dict, float]:
        started = time.perf_counter()
        conn.request("POST", path, body=json.dumps(body or {}).encode(),
                     headers={"Authorization": f"Bearer {key}",
                              "Content-Type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read() or b"{}")
        return response.status, payload, time.perf_counter() - started

    def loop(mine: list) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        local: dict = {k: [] for k in ("authorize", "capture", "void", "pay")}
        held = refused = errors = 0
        samples: list = []
        rng = random.Random()
        for token, line, key in mine:
            if time.monotonic() >= deadline:
                break
            amount = rng.randint(int(line * 0.3), int(line * 0.6))
            status, body, took = call(conn, f"{BASE}/authorizations", key, {
                "token": token, "out_request_no": uuid.uuid4().hex, "amount_fen": amount})
            local["authorize"].append(took)
            if status == 422 and body.get("code") == "limit_exceeded":
                refused += 1
                continue
            if status != 201:
                errors += 1
                samples.append(body)
                continue
            held += 1
            hold = body["authorization_id"]
            if rng.random() < 0.1:
                status, body, took = call(conn, f"{BASE}/authorizations/{hold}/void", key, None)
                local["void"].append(took)
                errors += status != 200
                continue
            status, bill, took = call(conn, f"{BASE}/authorizations/{hold}/capture", key, {
                "amount_fen": amount * 8 // 10, "out_bill_no": uuid.uuid4().hex})
            local["capture"].append(took)
            if status != 201:
                errors += 1
                samples.append(bill)
                continue
            status, body, took = call(conn, f"{BASE}/bills/{bill['bill_id']}/payments",
                                      channel_key, {"out_payment_no": uuid.uuid4().hex,
                                                    "amount_fen": bill["owed_fen"]})
            local["pay"].append(took)
            if status != 201:
                errors += 1
                samples.append(body)
        conn.close()
        with lock:
            for k, v in local.items():
                stats[k].extend(v)
            stats["held"] += held
            stats["refused"] += refused
            stats["errors"] += errors
            stats["error_samples"].extend(samples[:3])

    workers = [threading.Thread(target=loop, args=(work[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(stats)


def drive(port: int, tokens: list, channel_key: str, args, seconds: float) -> dict:
    ctx = mp.get_context("fork")
    results: mp.Queue = ctx.Queue()
    per = max(1, args.connections // args.clients)
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    procs = [ctx.Process(target=_client, args=(port, tokens[i::args.clients], channel_key,
                                               deadline, per, results))
             for i in range(args.clients)]
    for p in procs:
        p.start()
    outs = [results.get(timeout=seconds + 180) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    elapsed = time.monotonic() - started
    merged: dict = {k: sorted(x for o in outs for x in o[k])
                    for k in ("authorize", "capture", "void", "pay")}

    def pct(values: list, q: float) -> float:
        return round(1000 * values[min(len(values) - 1, int(len(values) * q))], 1) if values \
            else 0.0

    ops = {k: {"count": len(v), "per_s": round(len(v) / elapsed, 1), "p50_ms": pct(v, 0.5),
               "p99_ms": pct(v, 0.99)} for k, v in merged.items()}
    return {"seconds": round(elapsed, 1), "ops": ops,
            "authorizations_plus_captures_per_s": round(
                (len(merged["authorize"]) + len(merged["capture"])) / elapsed, 1),
            "requests_per_s": round(sum(len(v) for v in merged.values()) / elapsed, 1),
            "holds_accepted": sum(o["held"] for o in outs),
            "refused_limit_exceeded": sum(o["refused"] for o in outs),
            "errors": sum(o["errors"] for o in outs),
            "error_samples": [s for o in outs for s in o["error_samples"]][:5]}


# -- proof --------------------------------------------------------------------------------------

PROOF = {
    "accounts_over_line": "SELECT count(*) FROM credit_accounts "
                          "WHERE held_fen + owed_fen > line_fen OR held_fen < 0 OR owed_fen < 0",
    "accounts_not_matching_open_holds": """
        SELECT count(*) FROM credit_accounts a WHERE a.held_fen <> COALESCE((
            SELECT sum(amount_fen) FROM credit_holds h
            WHERE h.resident_id = a.resident_id AND h.status = 'held'), 0)""",
    "accounts_not_matching_unpaid_bills": """
        SELECT count(*) FROM credit_accounts a WHERE a.owed_fen <> COALESCE((
            SELECT sum(amount_fen - paid_fen) FROM credit_bills b
            WHERE b.resident_id = a.resident_id AND b.status <> 'paid'), 0)""",
    "bills_above_their_hold": "SELECT count(*) FROM credit_bills b JOIN credit_holds h "
                              "ON h.id = b.hold_id WHERE b.amount_fen > h.amount_fen "
                              "OR h.status <> 'captured'",
    "bills_paid_not_matching_payments": """
        SELECT count(*) FROM credit_bills b WHERE b.paid_fen <> COALESCE((
            SELECT sum(amount_fen) FROM credit_payments p WHERE p.bill_id = b.id), 0)""",
    "holds_above_their_line": "SELECT count(*) FROM credit_holds WHERE amount_fen > line_fen",
}


def prove(pg_url: str, accepted: int) -> dict:
    from sqlalchemy import create_engine, text

    from core.db import normalize_url

    engine = create_engine(normalize_url(pg_url))
    with engine.connect() as conn:
        out = {name: int(conn.scalar(text(sql))) for name, sql in PROOF.items()}
        out["holds_in_database"] = int(conn.scalar(text("SELECT count(*) FROM credit_holds")))
        out["accounts"] = int(conn.scalar(text("SELECT count(*) FROM credit_accounts")))
        out["max_line_use_pct"] = float(conn.scalar(text(
            "SELECT COALESCE(max(100.0 * (held_fen + owed_fen) / NULLIF(line_fen, 0)), 0) "
            "FROM credit_accounts")))
    engine.dispose()
    out["holds_match_accepted_requests"] = out["holds_in_database"] == accepted
    out["no_line_overspent"] = (all(out[k] == 0 for k in PROOF)
                                and out["holds_match_accepted_requests"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/pc_a_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/1")
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--residents", type=int, default=60)
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 60.0)  # bounded

    admin = recreate_database(args.pg)
    idp = FakeIdp()
    env = service_env(args.pg, args.redis, idp, pool=args.threads,
                      instance="/tmp/pc_a_bench_instance")
    os.environ.update(env)

    from app import create_app
    from app.bootstrap import bootstrap

    started = time.monotonic()
    app = create_app({"BENCH_IDP": idp})
    bootstrap(app)
    world = arrange(app, args.residents, args.tokens)
    app.extensions["pengcheng"].engine.dispose()
    arranged = round(time.monotonic() - started, 1)
    tokens = world["tokens"]
    split = len(tokens) // 6
    with gunicorn("app:create_app()", args.port, workers=args.workers, threads=args.threads,
                  env=env):
        warm = drive(args.port, tokens[:split], world["channel_key"], args, args.warmup)
        figures = drive(args.port, tokens[split:], world["channel_key"], args, args.seconds)
    figures["proof"] = prove(args.pg, warm["holds_accepted"] + figures["holds_accepted"])
    figures["errors"] += warm["errors"]
    figures.update(warmup_seconds=args.warmup, cpus=os.cpu_count(), residents=args.residents,
                   line_fen=world["line_fen"],
                   arrange_seconds=arranged, connections=args.connections,
                   clients=args.clients,
                   server=f"gunicorn gthread -w {args.workers} --threads {args.threads}")
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if args.keep_db:
        admin.dispose()
    else:
        drop_database(admin, args.pg)
    if not figures["proof"]["no_line_overspent"] or figures["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
