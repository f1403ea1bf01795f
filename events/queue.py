"""The task queue (procrastinate on the service's PostgreSQL) and `pengcheng worker`.

Design overview
---------------
* **Why procrastinate**: jobs are rows in the service's own database, so a trigger can defer
  one in the transaction that causes it (`pc_outbox_emit`): no broker to run, and nothing
  queued for a change that rolled back. Its `lock` runs the jobs of one lock one at a time in
  order, retries included, which is what per-resource ordering of webhooks needs; workers on
  any number of machines share the queue through `SELECT … FOR UPDATE SKIP LOCKED`; periodic
  tasks are deferred once per tick whatever the number of workers (a unique row per tick).
  pgqueuer offers the queue too, but neither a per-key order nor deferral from SQL.
* **Tasks**: `events.deliver` (queue `webhooks`) sends one webhook delivery and asks for a
  retry on failure along `SCHEDULE` (about 27 hours); `jobs.run` (queue `jobs`) runs one of
  the periodic jobs of `core.jobs` (cron `JOBS_CRON`; a queueing lock keeps at most one
  waiting per job, and the job's advisory lock skips a run while another is still going);
  every worker, at start and then every `STALLED_SECONDS`, re-queues the jobs of workers whose
  heartbeat stopped (`rescue`): a worker killed with `kill -9` loses nothing, its job runs
  again.
* **Resident messages**: `channels.send` (queue `jobs`, every minute) sends the SMS / WeChat
  messages that are due (events.channels).
* **What a task needs** (unit-of-work factory, keys, clock) is the app's `Runtime`, handed over
  once when the worker starts (`run`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from procrastinate import App, BaseRetryStrategy, JobContext, PsycopgConnector, RetryDecision
from procrastinate.jobs import Job
from sqlalchemy import text

from core import jobs as registry
from events import channels, delivery

log = logging.getLogger(__name__)

# Seconds to wait before each retry of a failed delivery: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 10 h (Standard Webhooks' suggestion); the first attempt plus these span about 27 hours.
SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
JOBS_CRON = "*/5 * * * *"  # the periodic jobs: every 5 minutes
STALLED_SECONDS = 30.0
QUEUES = ("webhooks", "jobs")  # a worker silent this long is dead; its jobs run again

queue = App(connector=PsycopgConnector())


@dataclass
class Worker:
    """What tasks use: the app's runtime, the retry schedule's scale (1: as documented; drills
    and tests shorten it), how long a silent worker is taken for dead, and whether webhooks may
    go to non-public addresses."""

    runtime: Any
    backoff_scale: float = 1.0
    stalled_seconds: float = STALLED_SECONDS
    allow_private: bool = False  # deliveries to loopback and private addresses (development)


_worker: Worker | None = None


def _ctx() -> Worker:
    if _worker is None:
        raise RuntimeError("the task queue's tasks run in `pengcheng worker` only")
    return _worker


class Backoff(BaseRetryStrategy):
    """Retry a delivery along `SCHEDULE` (scaled), then stop."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts >= len(SCHEDULE):
            return None
        wait = timedelta(seconds=SCHEDULE[job.attempts] * _ctx().backoff_scale)
        return RetryDecision(retry_at=datetime.now(UTC) + wait)


class DeliveryFailed(Exception):
    """Raised to have procrastinate retry a delivery later."""


@queue.task(name="events.deliver", queue="webhooks", pass_context=True, retry=Backoff())
def deliver(context: JobContext, delivery_id: str, manual: bool = False) -> str:
    """Send one webhook delivery (the job's `attempts` says whether a retry is left)."""
    worker = _ctx()
    rt = worker.runtime
    attempts = context.job.attempts if context.job else 0
    outcome = delivery.deliver(rt.batch_uow, rt.keyring, rt.signer, uuid.UUID(delivery_id),
                               now=rt.clock.now, final=manual or attempts >= len(SCHEDULE),
                               manual=manual, allow_private=worker.allow_private)
    if outcome.state == "retry":
        raise DeliveryFailed(outcome.error)
    return outcome.state


@queue.task(name="jobs.run", queue="jobs")
def run_job(timestamp: int, name: str) -> dict[str, Any]:
    """Run one periodic job of `core.jobs` (as `pengcheng jobs run --only name`)."""
    rt = _ctx().runtime
    ctx = registry.JobContext(uow=rt.batch_uow, now=rt.clock.now(), settings=rt.settings,
                              signer=rt.signer)
    return registry.run(rt.engine, ctx, [name])


@queue.periodic(cron="* * * * *", periodic_id="channels.send")
@queue.task(name="channels.send", queue="jobs", queueing_lock="channels.send")
def send_messages(timestamp: int) -> dict[str, int]:
    """Send the resident messages that are due (events.channels), every minute."""
    rt = _ctx().runtime
    return channels.send_due(rt.batch_uow, rt.keyring, channels.configured(rt.settings),
                             now=rt.clock.now(),
                             daily_limit=int(rt.settings["CHANNEL_DAILY_LIMIT"]))


for _name in registry.load():
    queue.periodic(cron=JOBS_CRON, periodic_id=_name, task_kwargs={"name": _name},
                   queueing_lock=f"jobs.run:{_name}")(run_job)


def rescue(engine: Any, stalled_seconds: float) -> int:
    """Put back in the queue the jobs of workers silent for `stalled_seconds` (their
    heartbeats stopped: killed, frozen, cut off). Forgetting such a worker orphans its jobs
    (`worker_id` NULL while `doing`); each is retried. One rescuer at a time (an advisory lock
    for the transaction), so a job another worker has just taken back is not reset twice."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('pengcheng.queue.rescue'))"))
        conn.execute(text("SELECT procrastinate_prune_stalled_workers_v1(:s)"),
                     {"s": stalled_seconds})
        orphans = conn.scalars(text("SELECT id FROM procrastinate_jobs WHERE status = 'doing' "
                                    "AND worker_id IS NULL ORDER BY id FOR UPDATE")).all()
        for job_id in orphans:
            conn.execute(text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"),
                         {"id": job_id})
    if orphans:
        log.warning("re-queued the jobs %s of stalled workers", list(orphans))
    return len(orphans)


async def _rescuing(engine: Any, stalled_seconds: float) -> None:
    """Every worker rescues, at start and then every `stalled_seconds`."""
    while True:
        await asyncio.to_thread(rescue, engine, stalled_seconds)
        await asyncio.sleep(stalled_seconds)


def conninfo(engine: Any) -> str:
    """libpq's URL for the app's database (procrastinate connects with psycopg itself)."""
    return str(engine.url.set(drivername="postgresql").render_as_string(hide_password=False))


def run(runtime: Any, *, concurrency: int = 4, poll_seconds: float = 5.0,
        heartbeat_seconds: float = 10.0, stalled_seconds: float = STALLED_SECONDS,
        backoff_scale: float = 1.0, queues: list[str] | None = None,
        allow_private: bool = False) -> None:
    """Run a worker until SIGINT/SIGTERM (it finishes the tasks in hand first)."""
    global _worker
    _worker = Worker(runtime, backoff_scale, stalled_seconds, allow_private)
    connector = PsycopgConnector(conninfo=conninfo(runtime.engine),
                                 kwargs={"application_name": "pengcheng-worker"})

    async def main() -> None:
        with queue.replace_connector(connector) as app:
            async with app.open_async():
                rescuing = asyncio.create_task(_rescuing(runtime.engine, stalled_seconds))
                try:
                    await app.run_worker_async(
                        queues=queues or list(QUEUES), concurrency=concurrency,
                        fetch_job_polling_interval=poll_seconds,
                        update_heartbeat_interval=heartbeat_seconds,
                        stalled_worker_timeout=stalled_seconds, delete_jobs="successful")
                finally:
                    rescuing.cancel()

    asyncio.run(main())
