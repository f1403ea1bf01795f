"""`pengcheng worker` (the task queue: webhooks and the periodic jobs) and `pengcheng webhooks …`
(partners' endpoints, the delivery log, re-sends). Every webhooks command prints JSON."""

from __future__ import annotations

import uuid

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app.cli_support import echo_json, now, refusals
from app.config import is_development
from app.runtime import runtime
from core.errors import NotFound
from core.identity import Partner
from events import endpoints, log


@click.command("worker")
@with_appcontext
@click.option("--concurrency", default=4, show_default=True, help="Tasks run at once")
@click.option("--queue", "queues", multiple=True,
              help="Only these queues (webhooks, jobs; repeatable); default: all")
@click.option("--poll", "poll_seconds", default=5.0, show_default=True,
              help="Seconds between looks for retries that came due")
@click.option("--heartbeat", "heartbeat_seconds", default=10.0, show_default=True,
              help="Seconds between this worker's heartbeats")
@click.option("--stalled-after", "stalled_seconds", default=30.0, show_default=True,
              help="A worker silent this long is dead: its tasks run again elsewhere")
@click.option("--backoff-scale", default=1.0, show_default=True,
              help="Multiplies the webhook retry schedule (drills and tests shorten it)")
def worker(concurrency: int, queues: tuple[str, ...], poll_seconds: float,
           heartbeat_seconds: float, stalled_seconds: float, backoff_scale: float) -> None:
    """Run the task queue: webhook deliveries and the periodic jobs, until SIGTERM. Start one
    on each machine you like; they share the work."""
    from events import queue

    queue.run(runtime(), concurrency=concurrency, poll_seconds=poll_seconds,
              heartbeat_seconds=heartbeat_seconds, stalled_seconds=stalled_seconds,
              backoff_scale=backoff_scale, queues=list(queues) or None,
              allow_private=is_development(dict(runtime().settings)))


webhooks = AppGroup("webhooks", help="Partners' webhook endpoints, the delivery log, re-sends.")


def _partner(session: object, client_id: str) -> Partner:
    found = session.scalar(  # type: ignore[attr-defined]
        select(Partner).where(Partner.client_id == client_id))
    if found is None:
        raise NotFound(f"no partner {client_id}")
    return found  # type: ignore[no-any-return]


@webhooks.command("list")
@click.option("--partner", "client_id", required=True, help="The partner's client id")
def webhooks_list(client_id: str) -> None:
    """A partner's endpoints, one JSON object per line (never the secret)."""
    with refusals(), runtime().uow() as uow:
        for endpoint in endpoints.of_partner(uow.session, _partner(uow.session, client_id).id):
            echo_json(endpoints.endpoint_view(endpoint))


@webhooks.command("register")
@click.option("--partner", "client_id", required=True, help="The partner's client id")
@click.option("--url", required=True)
@click.option("--event", "types", multiple=True, required=True,
              help="An event type, or '*' for all (repeatable)")
@click.option("--description", default="")
def webhooks_register(client_id: str, url: str, types: tuple[str, ...], description: str) -> None:
    """Register an endpoint for a partner; prints it with its secret (shown once)."""
    with refusals(), runtime().uow() as uow:
        partner = _partner(uow.session, client_id)
        view, secret = endpoints.register(uow, runtime().keyring, partner.id, url=url,
                                          event_types=list(types), description=description,
                                          now=now())
    echo_json({**view, "secret": secret})


@webhooks.command("enable")
@click.argument("endpoint_id", type=click.UUID)
def webhooks_enable(endpoint_id: uuid.UUID) -> None:
    """Switch an endpoint on again (a disabled one's failures are forgotten)."""
    _switch(endpoint_id, True)


@webhooks.command("disable")
@click.argument("endpoint_id", type=click.UUID)
def webhooks_disable(endpoint_id: uuid.UUID) -> None:
    """Switch an endpoint off: its pending deliveries fail, new events are not sent."""
    _switch(endpoint_id, False)


def _switch(endpoint_id: uuid.UUID, active: bool) -> None:
    with refusals(), runtime().uow() as uow:
        echo_json(endpoints.change(uow, endpoint_id, None, now=now(), active=active,
                                   by="an operator"))


@webhooks.command("deliveries")
@click.option("--partner", "client_id", help="Only this partner's")
@click.option("--endpoint", "endpoint_id", type=click.UUID, help="Only this endpoint's")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]))
@click.option("--limit", default=100, show_default=True)
def webhooks_deliveries(client_id: str | None, endpoint_id: uuid.UUID | None,
                        status: str | None, limit: int) -> None:
    """The delivery log, newest first, one JSON object per line with its attempts."""
    with refusals(), runtime().uow() as uow:
        partner_id = _partner(uow.session, client_id).id if client_id else None
        for row in log.deliveries(uow.session, partner_id=partner_id, endpoint_id=endpoint_id,
                                  status=status, limit=limit):
            echo_json(row)


@webhooks.command("resend")
@click.argument("delivery_id", type=click.UUID)
def webhooks_resend(delivery_id: uuid.UUID) -> None:
    """Queue one more attempt of a delivery (the same webhook-id); a worker sends it."""
    with refusals(), runtime().uow() as uow:
        echo_json(log.resend(uow, delivery_id))
