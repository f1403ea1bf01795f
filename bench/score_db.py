"""End-to-end batch scoring from PostgreSQL: records -> features -> scores written.

Seeds a synthetic population into its own database (through the real first-login and ingestion
code, so it is slow to set up), then times `pengcheng score` (scoring.batch.run) over it and
prints residents per second. Usage:

    .venv/bin/python bench/score_db.py --residents 10000 [--url postgresql://…/pc_bench_score]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import recreate_database  # noqa: E402
from core.clock import FrozenClock  # noqa: E402

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/pc_bench_score")
    parser.add_argument("--chunk", type=int, default=2000)
    args = parser.parse_args()
    recreate_database(args.url).dispose()

    from app import create_app
    from app.bootstrap import bootstrap
    from app.extensions import services
    from app.seed import seed
    from scoring import batch

    app = create_app({"DATABASE_URL": args.url, "ENV": "development"}, clock=FrozenClock(NOW))
    bootstrap(app)
    with app.app_context():
        t0 = time.perf_counter()
        with services.uow() as uow:
            summary = seed(uow, services.keyring, residents=args.residents, rng_seed=1, now=NOW)
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = batch.run(services.uow, now=NOW, chunk=args.chunk)
        elapsed = time.perf_counter() - t0
        t1 = time.perf_counter()
        again = batch.run(services.uow, now=NOW, chunk=args.chunk)
        rerun = time.perf_counter() - t1
    print(json.dumps({
        "residents": summary["residents"], "records": summary["records"],
        "setup_s": round(setup, 1), "scored": report.scored, "no_consent": report.no_consent,
        "batch_s": round(elapsed, 2), "residents_per_s": round(report.seen / elapsed),
        "scored_per_s": round(report.scored / elapsed),
        "rerun_scored": again.scored, "rerun_s": round(rerun, 2),
    }))


if __name__ == "__main__":
    main()
