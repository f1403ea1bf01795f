"""Partners' webhook endpoints: register, change, switch on and off, rotate the secret.

A partner names an http(s) URL and the event types it wants (`EVENT_TYPES`, or `*`). The
`whsec_…` secret for `v1` signatures is returned once, at registration or rotation, and stored
encrypted under a data key of the endpoint's own. Only the partner that registered an endpoint
sees or changes it; another partner's endpoint id is `not_found`, as an unknown one is.
"""

from __future__ import annotations

import base64
import os
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import Keyring
from core.db import UnitOfWork
from events.errors import EndpointNotFound, InvalidEndpoint, TooManyEndpoints
from events.models import WebhookEndpoint

EVENT_TYPES = (
    "hold.placed", "hold.captured", "hold.voided", "hold.expired",
    "bill.due", "bill.overdue", "bill.paid", "bill.recorded",
    "waiver.created", "waiver.completed", "waiver.defaulted", "waiver.settled",
    "waiver.recorded",
    "points.redeemed", "points.refunded",
    "consent.withdrawn", "token.revoked",
)
MAX_ENDPOINTS = 10  # per partner


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host and no credentials or fragment; else
    invalid_endpoint.
    Deliveries go to exactly this URL: redirects are not followed."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError as exc:  # a broken IPv6 literal, a bad port
        raise InvalidEndpoint(f"url is not a valid URL: {exc}",
                              detail_zh="地址格式无效") from exc
    if any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidEndpoint("url must not contain spaces or control characters",
                              detail_zh="地址不得包含空白或控制字符")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidEndpoint("url must be an absolute http:// or https:// URL",
                              detail_zh="地址须为 http:// 或 https:// 开头的完整地址")
    if parts.username or parts.password or parts.fragment:
        raise InvalidEndpoint("url must not carry credentials or a fragment",
                              detail_zh="地址不得包含用户名、密码或片段")
    return url


def check_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - {*EVENT_TYPES, "*"})
    if not types or unknown:
        raise InvalidEndpoint("event_types must list known event types (or '*'): "
                              + (", ".join(unknown) or "none given"), detail_zh="事件类型无效")
    return sorted(set(types))


def _aad(endpoint_id: uuid.UUID) -> str:
    return f"webhook_endpoints.secret_ct.{endpoint_id}"


def _new_secret(session: Session, keyring: Keyring, endpoint: WebhookEndpoint,
                now: datetime) -> str:
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    key = keyring.new_data_key(session, now, owner=f"webhook:{endpoint.id}")
    endpoint.secret_ct = keyring.encrypt(session, key.id, secret, _aad(endpoint.id))
    return secret


def secret_of(session: Session, keyring: Keyring, endpoint: WebhookEndpoint) -> str:
    return keyring.decrypt(session, endpoint.secret_ct, _aad(endpoint.id))


def register(uow: UnitOfWork, keyring: Keyring, partner_id: uuid.UUID, *, url: str,
             event_types: list[str], description: str, now: datetime
             ) -> tuple[dict[str, Any], str]:
    """Register an active endpoint; its view and its secret (shown this once). Commits."""
    session = uow.session
    count = len(session.scalars(select(WebhookEndpoint.id).where(
        WebhookEndpoint.partner_id == partner_id)).all())
    if count >= MAX_ENDPOINTS:
        raise TooManyEndpoints(f"at most {MAX_ENDPOINTS} endpoints per partner",
                       detail_zh=f"每个合作方最多 {MAX_ENDPOINTS} 个地址")
    endpoint = WebhookEndpoint(id=uuid.uuid4(), partner_id=partner_id, url=check_url(url),
                               event_types=check_types(event_types), description=description,
                               status="active", created_at=now, updated_at=now)
    secret = _new_secret(session, keyring, endpoint, now)
    session.add(endpoint)
    session.flush()
    view = endpoint_view(endpoint)
    uow.commit()
    return view, secret


def of_partner(session: Session, partner_id: uuid.UUID) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.partner_id == partner_id).order_by(WebhookEndpoint.created_at,
                                                          WebhookEndpoint.id)))


def get(session: Session, endpoint_id: uuid.UUID, partner_id: uuid.UUID | None = None,
        *, lock: bool = False) -> WebhookEndpoint:
    """The endpoint (of `partner_id` when given; an operator passes None)."""
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if partner_id is not None:
        stmt = stmt.where(WebhookEndpoint.partner_id == partner_id)
    found = session.scalar(stmt.with_for_update() if lock else stmt)
    if found is None:
        raise EndpointNotFound("no such webhook endpoint", detail_zh="没有该推送地址")
    return found


def change(uow: UnitOfWork, endpoint_id: uuid.UUID, partner_id: uuid.UUID | None, *,
           now: datetime, url: str | None = None, event_types: list[str] | None = None,
           description: str | None = None, active: bool | None = None,
           by: str = "its partner") -> dict[str, Any]:
    """Change what was given (commits). Switching an endpoint on again forgets its failures;
    events that happened while it was off are not sent (the delivery log shows them failed)."""
    endpoint = get(uow.session, endpoint_id, partner_id, lock=True)
    if url is not None:
        endpoint.url = check_url(url)
    if event_types is not None:
        endpoint.event_types = check_types(event_types)
    if description is not None:
        endpoint.description = description
    if active is True and endpoint.status != "active":
        endpoint.status, endpoint.failing_since = "active", None
        endpoint.disabled_at = endpoint.disabled_reason = None
    elif active is False and endpoint.status == "active":
        disable(endpoint, f"switched off by {by}", now)
    endpoint.updated_at = now
    view = endpoint_view(endpoint)
    uow.commit()
    return view


def rotate_secret(uow: UnitOfWork, keyring: Keyring, endpoint_id: uuid.UUID,
                  partner_id: uuid.UUID, now: datetime) -> str:
    """A new secret, in force from the next attempt; the old one stops at once. Commits."""
    endpoint = get(uow.session, endpoint_id, partner_id, lock=True)
    endpoint.updated_at = now
    secret = _new_secret(uow.session, keyring, endpoint, now)
    uow.commit()
    return secret


def endpoint_view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"endpoint_id": str(endpoint.id), "url": endpoint.url,
            "event_types": list(endpoint.event_types), "description": endpoint.description,
            "status": endpoint.status, "created_at": endpoint.created_at,
            "failing_since": endpoint.failing_since, "disabled_at": endpoint.disabled_at,
            "disabled_reason": endpoint.disabled_reason}


def disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoint.status, endpoint.disabled_at, endpoint.disabled_reason = "disabled", now, reason
