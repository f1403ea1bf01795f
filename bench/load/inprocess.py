"""Per-request CPU and statements of each endpoint, measured in one process (issue 26).

On a machine shared with other work the wall-clock figures of `bench/load/run.py` drift by 2x
between runs; the CPU time one request costs the process, and the statements it sends, drift
much less. This drives each endpoint `--calls` times through Flask's test client (no server,
no network: the app's own work plus the client's few tens of µs, the same for every endpoint)
and the floors of `bench/load/floor.py` through werkzeug's, with the residents, partners and
tokens `bench/load/run.py` prepares. The ratios to `bare` here are higher than run.py's (no
gunicorn cost under either); compare like with like. `x_floor`: an endpoint's CPU over its
floor's, what the framework adds to it.

    .venv/bin/python bench/load/inprocess.py [--calls 600] [--only score,token_issue]
        [--profile score]      # also a cProfile (CPU time) of that endpoint's calls

Creates its own PostgreSQL database (dropped at the end), Redis db 11 by default.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import drop_database, recreate_database, service_env  # noqa: E402
from tests.support.factories import FakeIdp  # noqa: E402

SCENARIOS = ("bare", "introspect_floor", "introspect", "authorize_floor", "authorize",
             "capture_floor", "capture", "redeem_floor", "redeem", "score_floor", "score",
             "token_issue_minimal", "token_issue_floor", "token_issue")
WARM_UP = 20


def _call(client: Any, line: tuple[str, str, str, str]) -> None:
    method, path, authorization, body = line
    headers = {"Authorization": authorization} if authorization else {}
    if body:
        headers["Content-Type"] = "application/json"
    response = client.open(path, method=method, headers=headers, data=body or None)
    assert response.status_code < 300, (path, response.status_code, response.get_data()[:300])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/pc_inprocess_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--residents", type=int, default=8)
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--profile", default=None, help="an endpoint to profile (CPU time)")
    parser.add_argument("--profile-out", default=None,
                        help="also write that profile to this file (for pstats)")
    args = parser.parse_args()

    admin = recreate_database(args.pg)
    idp = FakeIdp()
    os.environ.update(service_env(args.pg, args.redis, idp, pool=4,
                                  instance=tempfile.mkdtemp(prefix="pc_inprocess_")))
    from werkzeug.test import Client

    from app import create_app
    from app.bootstrap import bootstrap
    from bench.load import floor
    from bench.load.run import World, requests_for
    from bench.tokens import bare_app
    from tests.support.statements import statements

    app = create_app({"BENCH_IDP": idp})
    bootstrap(app)
    world = World(app, args.residents)
    clients: dict[str, Any] = {"bare": bare_app().test_client(), "app": app.test_client()}

    def client_for(name: str) -> Any:
        if name == "bare" or not name.endswith(("_floor", "_minimal")):
            return clients["bare" if name == "bare" else "app"]
        if name not in clients:
            clients[name] = Client({"introspect_floor": floor.introspection_floor,
                                    "score_floor": floor.score_floor,
                                    "token_issue_floor": floor.token_issue_floor,
                                    "token_issue_minimal": floor.token_issue_minimal}
                                   .get(name, floor.write_floor)())
        return clients[name]

    results: dict[str, dict[str, Any]] = {}
    for name in [s for s in args.only.split(",") if s]:
        count = args.calls + WARM_UP
        lines = requests_for(name.removesuffix("_floor").removesuffix("_minimal"), world, count)
        lines = (lines * (count // len(lines) + 1))[:count]  # reusable requests repeat
        client = client_for(name)
        for line in lines[:WARM_UP - 1]:
            _call(client, line)
        with statements(app) as seen:
            _call(client, lines[WARM_UP - 1])
        profile = cProfile.Profile(time.process_time) if name == args.profile else None
        started = time.process_time()
        if profile:
            profile.enable()
        for line in lines[WARM_UP:]:
            _call(client, line)
        if profile:
            profile.disable()
        spent = time.process_time() - started
        results[name] = {"cpu_ms": round(spent / args.calls * 1000, 3),
                         "statements": len(seen)}
        print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
        if profile:
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(50)
            if args.profile_out:
                profile.dump_stats(args.profile_out)
    if "bare" in results:
        for result in results.values():
            result["x_bare"] = round(result["cpu_ms"] / results["bare"]["cpu_ms"], 1)
    for name, result in results.items():  # what the framework adds: the endpoint over its floor
        if f"{name}_floor" in results:
            result["x_floor"] = round(result["cpu_ms"] / results[f"{name}_floor"]["cpu_ms"], 2)
    print(json.dumps({"calls": args.calls, "results": results}, indent=2))
    app.extensions["pengcheng"].engine.dispose()
    drop_database(admin, args.pg)


if __name__ == "__main__":
    main()
