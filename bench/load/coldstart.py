"""A new gunicorn worker's first requests, warmed (`gunicorn.conf.py`) against not (issue 26).

A worker that has just started opens its pooled PostgreSQL connections, configures the ORM,
parses the active model, compiles its statements and has each PostgreSQL backend load its
tables, plpgsql functions and plans on its first requests unless `post_worker_init` warms it
first (`Runtime.warm`, `app.warmup`). Under a steady load those first requests are the run's
slowest. This starts one worker (gthread, `--threads` threads), waits until it is idle, then
sends `--rounds` rounds of `--threads` requests at once (one keep-alive connection each, so the
rounds reach every thread and pooled connection) and prints each round's slowest answer in ms:
the same endpoint with the repository's `gunicorn.conf.py` and with a copy whose
`post_worker_init` only freezes the collector (the reference), alternated `--repeat` times in
one run. It also prints how long `post_worker_init` took in each (`start_ms`): what warming
adds to a worker's start, before it takes a request.

    .venv/bin/python bench/load/coldstart.py [--only score,introspect] [--rounds 5]

Creates its own PostgreSQL database (dropped at the end), Redis db 11; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import drop_database, gunicorn  # noqa: E402
from bench.load.run import prepare, requests_for  # noqa: E402

# The repository's settings, `post_worker_init` timed into `{times}`; the reference (`{warm}`
# False) is the same less the warm-up.
TIMED = '''
import gc
import time
exec(open({conf!r}, encoding="utf-8").read())
_post_worker_init = post_worker_init

def post_worker_init(worker):
    began = time.perf_counter()
    if {warm}:
        _post_worker_init(worker)
    else:
        gc.freeze()
    with open({times!r}, "a", encoding="utf-8") as out:
        out.write(f"{{(time.perf_counter() - began) * 1000:.1f}}\\n")
'''


def _round(port: int, lines: list[tuple[str, str, str, str]]) -> float:
    """Send the requests at once, one connection each; the slowest answer in ms."""
    times: list[float] = []
    start = threading.Barrier(len(lines))

    def one(line: tuple[str, str, str, str]) -> None:
        method, path, auth, body = line
        headers = {"Authorization": auth} if auth else {}
        if body:
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        start.wait()
        began = time.perf_counter()
        conn.request(method, path, body=body or None, headers=headers)
        answer = conn.getresponse()
        answer.read()
        times.append((time.perf_counter() - began) * 1000)
        conn.close()
        assert answer.status < 300, (path, answer.status)

    threads = [threading.Thread(target=one, args=(line,)) for line in lines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return round(max(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/pc_coldstart_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--port", type=int, default=8896)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only",
                        default="score,token_issue,introspect,authorize,capture,redeem")
    args = parser.parse_args()

    admin, env, app, world = prepare(args.pg, args.redis, residents=args.threads,
                                     pool=args.threads)
    app.extensions["pengcheng"].engine.dispose()
    here = Path(tempfile.mkdtemp(prefix="pc_coldstart_conf_"))
    configs, times = {}, {}
    for kind in ("unwarmed", "warmed"):
        times[kind] = here / f"{kind}.times"
        configs[kind] = here / f"{kind}.conf.py"
        configs[kind].write_text(TIMED.format(conf=str(ROOT / "gunicorn.conf.py"),
                                              warm=kind == "warmed", times=str(times[kind])),
                                 encoding="utf-8")

    results: dict[str, dict[str, list[list[float]]]] = {}
    for name in [s for s in args.only.split(",") if s]:
        need = args.threads * args.rounds
        results[name] = {"warmed": [], "unwarmed": []}
        for _ in range(args.repeat):
            for kind in ("unwarmed", "warmed"):
                lines = requests_for(name, world, need)
                lines = (lines * (need // len(lines) + 1))[:need]
                with gunicorn("app:create_app()", args.port, workers=1, threads=args.threads,
                              env=env, config=configs[kind]):
                    rounds = [_round(args.port, lines[i * args.threads:(i + 1) * args.threads])
                              for i in range(args.rounds)]
                results[name][kind].append(rounds)
                print(name, kind, rounds, file=sys.stderr, flush=True)
    summary = {
        name: {kind: {"first_round_ms": statistics.median(r[0] for r in runs),
                      "later_rounds_ms": statistics.median(x for r in runs for x in r[1:])}
               for kind, runs in by_kind.items()}
        for name, by_kind in results.items()}
    start = {kind: [float(x) for x in path.read_text(encoding="utf-8").split()]
             for kind, path in times.items()}
    print(json.dumps({"threads": args.threads, "rounds": args.rounds, "repeat": args.repeat,
                      "slowest_of_each_round": results, "median": summary,
                      "start_ms": {kind: {"median": statistics.median(v), "max": max(v)}
                                   for kind, v in start.items()}}, indent=2))
    app.extensions["pengcheng"].engine.dispose()
    drop_database(admin, args.pg)


if __name__ == "__main__":
    main()
