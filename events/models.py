"""Tables of the outbox and of partner webhooks.

Design overview
---------------
* `events`: the outbox, one row per domain change a partner must hear about, written by the
  state tables' triggers (`pc_outbox_row`). `id` is the event's stable id (the `webhook-id`);
  `seq` orders events; `data` holds only what the partner's own answers carry, never a tier,
  limit, line or balance. `resident_id` is kept to derive the pairwise pseudonym when a payload
  is built, and is never sent.
* `webhook_endpoints`: a partner's registered URL and the event types it wants. The signing
  secret (`whsec_…`, for `v1` signatures) is stored encrypted under a data key of its own.
  `failing_since` is the first failure since the last success; an endpoint failing for
  `DISABLE_AFTER` is `disabled` with a reason (the notice the partner and operators read).
* `webhook_deliveries`: one per (event, endpoint): `pending` → `delivered` or `failed`.
* `webhook_attempts`: the delivery log, one row per HTTP attempt (status or error, duration).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_partner_seq", "partner_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"))
    type: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(80))  # "hold:<id>": the ordering key
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime]


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
        Index("ix_webhook_endpoints_partner", "partner_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSONB)
    description: Mapped[str] = mapped_column(String(200))
    secret_ct: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"))
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id"),
                                                   index=True)
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int] = mapped_column(Integer)
    manual: Mapped[bool]  # an operator's re-send, not the schedule
