"""Partner tokens: offline verification rate and introspection throughput/latency.

1. Offline verification, in-process: `rewards.tokens.verify` (what `consume` runs before its
   state checks) and PyJWT's `decode` (what a partner verifying offline with the JWKS runs),
   next to the raw Ed25519 verify of `cryptography` on the same bytes, in the same run.
2. `POST /partner/v1/tokens/introspect` under gunicorn on PostgreSQL + Redis, 32 concurrent
   keep-alive connections, next to a bare Flask endpoint served by the same gunicorn settings
   in the same run: requests/s, p50 and p99.

Creates its own database (dropped at the end unless --keep-db), binds 127.0.0.1 only, runs for a
bounded time and prints JSON (with --out FILE, also a Markdown table to paste into
docs/BENCHMARKS.md).

    .venv/bin/python bench/tokens.py [--seconds 15] [--workers 2] [--threads 16]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing as mp
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402

from bench.common import drop_database, gunicorn, recreate_database, service_env  # noqa: E402
from tests.support.factories import FakeIdp  # noqa: E402

CONNECTIONS = 32


def bare_app():
    """The baseline: a Flask endpoint that parses a JSON body and answers JSON, nothing else."""
    from flask import Flask, jsonify, request

    app = Flask("bare")

    @app.post("/bare")
    def bare():
        request.get_json()
        return jsonify({"active": False})

    @app.get("/healthz")
    def health():
        return "ok"

    return app


def rate(fn, seconds: float) -> float:
    n, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(200):
            fn()
        n += 200
    return n / (time.perf_counter() - started)


def offline(app, token: str, audience: str, seconds: float) -> dict:
    from app.runtime import runtime
    from rewards.tokens import verify

    head, body, sig = token.split(".")
    signature = base64.urlsafe_b64decode(sig + "==")
    signing_input = f"{head}.{body}".encode()
    with app.app_context(), runtime().uow() as uow:
        ctx = runtime().tokens
        now = runtime().clock.now()
        kid = jwt.get_unverified_header(token)["kid"]
        key = ctx.public_key(uow.session, kid, now)
        assert key is not None
        raw = rate(lambda: key.verify(signature, signing_input), seconds)
        ours = rate(lambda: verify(uow.session, token, audience=audience, now=now, ctx=ctx),
                    seconds)
        pyjwt = rate(lambda: jwt.decode(token, key, algorithms=["EdDSA"], audience=audience),
                     seconds)
    return {"raw_ed25519_verify_per_s": round(raw), "rewards_verify_per_s": round(ours),
            "pyjwt_decode_per_s": round(pyjwt), "rewards_vs_raw": round(ours / raw, 3),
            "pyjwt_vs_raw": round(pyjwt / raw, 3)}


def _client(port: int, path: str, key: str, bodies: list[bytes], threads: int,
            deadline: float, out: mp.Queue) -> None:
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def loop(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        mine: list[float] = []
        n = i
        while time.monotonic() < deadline:
            body = bodies[n % len(bodies)]
            n += threads
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - started)
            if response.status != 200 or (path != "/bare"
                                          and not json.loads(payload).get("active")):
                errors[0] += 1
        conn.close()
        with lock:
            lat.extend(mine)

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put({"latencies": lat, "errors": errors[0]})


def load(target: str, port: int, path: str, key: str, bodies: list[bytes], args, env) -> dict:
    """Serve `target` with gunicorn, drive it with 32 connections for a bounded time."""
    with gunicorn(target, port, workers=args.workers, threads=args.threads, env=env):
        ctx = mp.get_context("fork")
        per = CONNECTIONS // args.clients
        results: mp.Queue = ctx.Queue()
        runs = []
        for seconds in (args.warmup, args.seconds):
            deadline = time.monotonic() + seconds
            started = time.monotonic()
            procs = [ctx.Process(target=_client, args=(port, path, key, bodies, per, deadline,
                                                       results)) for _ in range(args.clients)]
            for p in procs:
                p.start()
            outs = [results.get(timeout=seconds + 120) for _ in procs]
            for p in procs:
                p.join(timeout=30)
            runs.append((time.monotonic() - started, outs))
    elapsed, outs = runs[-1]
    lat = sorted(x for o in outs for x in o["latencies"])
    return {"requests_per_s": round(len(lat) / elapsed),
            "p50_ms": round(1000 * lat[len(lat) // 2], 2),
            "p99_ms": round(1000 * lat[int(len(lat) * 0.99)], 2),
            "requests": len(lat), "errors": sum(o["errors"] for o in outs),
            "seconds": round(elapsed, 1)}


def arrange(app, tokens: int) -> tuple[str, list[str], str]:
    """A resident with a good score and consents, a hospital, and `tokens` live tokens."""
    from app.runtime import runtime
    from core.identity import create_partner, create_source
    from core.idnumber import make
    from core.registry import CATEGORIES
    from tests.support.tokens import good_history, grant, push

    idp: FakeIdp = app.config["BENCH_IDP"]
    client = app.test_client()
    with app.app_context(), runtime().uow() as uow:
        now = runtime().clock.now()
        _src, source_key = create_source(uow.session, name="bench", now=now,
                                         categories=sorted(CATEGORIES))
        hospital, hospital_key = create_partner(uow.session, name="基准医院", kind="hospital",
                                                scenarios=["medical_credit"], now=now)
        uow.commit()
    from datetime import date

    import tests.support.factories as factories

    number = make("440305", date(1990, 5, 17), 7)
    assert number == factories.id_number(7)
    push(client, source_key, good_history(7))
    login = client.post("/api/v1/auth/session",
                        json={"assertion": idp.assertion(number, now=datetime.now(UTC))})
    session = login.get_json()["token"]
    grant(client, session, "scoring")
    grant(client, session, "scenario:medical_credit")
    out = []
    for _ in range(tokens):
        response = client.post("/api/v1/me/tokens", json={
            "scenario": "medical_credit", "partner": hospital.client_id},
            headers={"Authorization": f"Bearer {session}"})
        assert response.status_code == 201, response.get_json()
        out.append(response.get_json()["token"])
    return hospital.client_id, out, hospital_key


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def write(figures: dict, path: Path) -> None:
    off, intro, bare = figures["offline"], figures["introspect"], figures["bare"]
    verify_rows = "\n".join([
        _row("`cryptography` Ed25519 verify (raw)", f"{off['raw_ed25519_verify_per_s']:,}",
             "1.00"),
        _row("`rewards.tokens.verify` (shape, alg, typ, kid, signature, claims, iss, exp, aud)",
             f"{off['rewards_verify_per_s']:,}", f"{off['rewards_vs_raw']:.2f}"),
        _row("PyJWT `decode` with the JWKS key (what a partner runs)",
             f"{off['pyjwt_decode_per_s']:,}", f"{off['pyjwt_vs_raw']:.2f}"),
    ])
    load_rows = "\n".join(
        _row(name, f"{r['requests_per_s']:,}", r["p50_ms"], r["p99_ms"], r["errors"])
        for name, r in (("bare Flask `POST /bare` (parse JSON, answer JSON)", bare),
                        ("`POST /partner/v1/tokens/introspect`", intro)))
    path.write_text(f"""# Benchmarks — partner tokens

`bench/tokens.py`, one run on this machine ({figures["cpus"]} CPUs; server and load generator
share them). Server: `{figures["server"]}` on PostgreSQL + Redis, 127.0.0.1;
{CONNECTIONS} concurrent keep-alive connections from {figures["clients"]} client processes,
{figures["seconds"]} s after a warm-up.

## Offline verification (in-process, one core)

| verifier | verifications/s | vs raw Ed25519 |
|---|---:|---:|
{verify_rows}

## Introspection vs a bare Flask endpoint (same gunicorn settings, same run)

| endpoint | requests/s | p50 ms | p99 ms | errors |
|---|---:|---:|---:|---:|
{load_rows}

Introspection reaches **{figures["introspect_vs_bare"]:.0%}** of the bare endpoint's
requests/s (target ≥ 50 %); p99 {intro["p99_ms"]} ms (target < 25 ms).

Each introspection authenticates the partner's API key (one indexed read), verifies the token
(key cached), maps the pseudonym (one read), checks the scenario consent (one read) and the
consumed-token table (one read), and writes one access-log row the resident sees (one insert and
a commit) — the access log is the part a bare endpoint does not pay for.
""", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/pc_c_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--offline-seconds", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--out", default=None, help="also write a Markdown table here")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 120.0)  # bounded
    args.clients = max(1, min(args.clients, CONNECTIONS))

    admin = recreate_database(args.pg)
    idp = FakeIdp()
    env = service_env(args.pg, args.redis, idp, pool=args.threads,
                      instance="/tmp/pc_c_bench_instance")
    os.environ.update(env)

    from app import create_app
    from app.bootstrap import bootstrap

    app = create_app({"BENCH_IDP": idp})
    bootstrap(app)
    audience, tokens, partner_key = arrange(app, args.tokens)
    figures: dict = {"offline": offline(app, tokens[0], audience, args.offline_seconds)}
    app.extensions["pengcheng"].engine.dispose()

    bodies = [json.dumps({"token": t}).encode() for t in tokens]
    figures["bare"] = load("bench.tokens:bare_app()", args.port + 1, "/bare", "x", bodies,
                           args, env)
    figures["introspect"] = load("app:create_app()", args.port, "/partner/v1/tokens/introspect",
                                 partner_key, bodies, args, env)
    figures["introspect_vs_bare"] = round(
        figures["introspect"]["requests_per_s"] / figures["bare"]["requests_per_s"], 3)
    figures.update(cpus=os.cpu_count(), clients=args.clients, seconds=args.seconds,
                   server=f"gunicorn gthread -w {args.workers} --threads {args.threads}")
    print(json.dumps(figures, indent=2))
    if args.out:
        write(figures, Path(args.out))
    if args.keep_db:
        admin.dispose()
    else:
        drop_database(admin, args.pg)


if __name__ == "__main__":
    main()
