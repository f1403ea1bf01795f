"""The delivery log and manual re-sends (operators; partners read their own log).

A re-send queues the delivery again in the caller's transaction (`procrastinate_defer_jobs_v1`,
as the outbox does), with the same lock as the delivery's scheduled attempts: it waits for an
earlier event of the same resource at that endpoint, and the receiver gets the same
`webhook-id` again.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from events.delivery import message_id
from events.errors import DeliveryNotFound, EndpointDisabled
from events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

_DEFER = text("""
SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('webhooks', 'events.deliver', 0, :lock, NULL,
       CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])
""")


def deliveries(session: Session, *, partner_id: uuid.UUID | None = None,
               endpoint_id: uuid.UUID | None = None, status: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    """The newest deliveries first, each with its attempts."""
    stmt = (select(WebhookDelivery, Event, WebhookEndpoint)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .order_by(Event.seq.desc(), WebhookDelivery.id).limit(limit))
    if partner_id is not None:
        stmt = stmt.where(WebhookEndpoint.partner_id == partner_id)
    if endpoint_id is not None:
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows = session.execute(stmt).all()
    attempts: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if rows:
        for a in session.scalars(select(WebhookAttempt).where(
                WebhookAttempt.delivery_id.in_([d.id for d, _, _ in rows]))
                .order_by(WebhookAttempt.id)):
            attempts.setdefault(a.delivery_id, []).append(
                {"at": a.at, "status_code": a.status_code, "error": a.error,
                 "duration_ms": a.duration_ms, "manual": a.manual})
    return [{"delivery_id": str(d.id), "endpoint_id": str(d.endpoint_id),
             "webhook_id": message_id(e.id), "type": e.type, "occurred_at": e.occurred_at,
             "status": d.status, "attempts": attempts.get(d.id, []),
             "delivered_at": d.delivered_at} for d, e, _ in rows]


def resend(uow: UnitOfWork, delivery_id: uuid.UUID,
           partner_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Queue one more attempt of a delivery (any state) to its active endpoint. Commits."""
    session = uow.session
    found = session.execute(
        select(WebhookDelivery, WebhookEndpoint, Event)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id == delivery_id).with_for_update(of=WebhookDelivery)).first()
    if found is None or (partner_id is not None and found[1].partner_id != partner_id):
        raise DeliveryNotFound("no such delivery", detail_zh="没有该推送记录")
    delivery, endpoint, event = found
    if endpoint.status != "active":
        raise EndpointDisabled("the endpoint is disabled; switch it on first",
                       detail_zh="推送地址已停用，请先启用")
    session.execute(_DEFER, {"lock": f"webhook:{endpoint.id}:{event.resource}",
                             "args": json.dumps({"delivery_id": str(delivery.id),
                                                 "manual": True})})
    uow.commit()
    return {"delivery_id": str(delivery.id), "webhook_id": message_id(event.id),
            "queued": True}
