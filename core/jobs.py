"""Periodic jobs: `pengcheng worker` runs each every 5 minutes as a periodic task of the task
queue (`events.queue`); `pengcheng jobs run` runs them once, by hand.

Design overview
---------------
* A job is a function `run(ctx: JobContext) -> dict[str, int]` (counts of what it did),
  registered with `@job("name")` in a module listed in `JOB_MODULES`.
* Every job is idempotent (unique keys, conditional updates): running it twice does its work
  once. Runs may also overlap (a worker's tick and a `jobs run`, or a tick that outlasts the
  next): each job takes a session advisory lock named after it, and a second runner skips a
  job that is already running instead of waiting for it.
* A job commits in small transactions of its own (`ctx.uow()`), so a crash loses at most the
  batch in flight and the next run picks it up.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.db import UnitOfWork
from core.signing import Signer

JOB_MODULES: tuple[str, ...] = (
    "core.audit_jobs",
    "consent.jobs",
    "events.jobs",
    "reports.jobs",
    "rewards.credit.jobs",
    "rewards.points.jobs",
    "rewards.token_jobs",
    "rewards.waivers.jobs",
    "rights.jobs",
)


@dataclass(frozen=True)
class JobContext:
    """What a job gets: `uow` is a factory (a job opens one unit of work per chunk and commits
    each), `now` the run's clock reading, the app's `settings` (credit terms, points rules,
    intervals) and, for jobs that sign, the `signer`."""

    uow: Callable[[], UnitOfWork]
    now: datetime
    settings: Mapping[str, Any] = field(default_factory=dict)
    signer: Signer | None = None


JobFn = Callable[[JobContext], dict[str, int]]
JOBS: dict[str, JobFn] = {}


def job(name: str) -> Callable[[JobFn], JobFn]:
    """Register a periodic job under `name`."""
    def register(fn: JobFn) -> JobFn:
        JOBS[name] = fn
        return fn
    return register


def load() -> dict[str, JobFn]:
    """Every registered job, by name (importing the job modules first)."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    return dict(sorted(JOBS.items()))


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"pengcheng-job:{name}".encode()).digest()[:8],
                          "big", signed=True)


def run(engine: Engine, ctx: JobContext, only: list[str] | None = None
        ) -> dict[str, dict[str, Any]]:
    """Run every registered job (or `only` those); a job another runner holds is skipped."""
    results: dict[str, dict[str, Any]] = {}
    for name, fn in load().items():
        if only and name not in only:
            continue
        with engine.connect() as lock_conn:
            key = _lock_key(name)
            if not lock_conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
                results[name] = {"skipped": 1}
                lock_conn.rollback()
                continue
            lock_conn.commit()
            try:
                results[name] = dict(fn(ctx))
            finally:
                lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                lock_conn.commit()
    return results
