"""Delivering one event to one endpoint: the payload, the Standard Webhooks signatures, one
bounded HTTP attempt, and its record in the delivery log.

Design overview
---------------
* **The payload** is `{"type", "timestamp", "data"}` (Standard Webhooks), serialized the same
  way at every attempt: `data` is the event's stored data plus `sub`, the resident's pairwise
  pseudonym at this partner. The `webhook-id` is the event's id (`evt_<uuid>`): the same at
  every attempt and for a manual re-send, so a receiver that already acted on it can ignore
  a late or second copy.
* **Two signatures** in `webhook-signature`: `v1,<HMAC-SHA256>` under the endpoint's
  `whsec_…` secret (what the `standardwebhooks` libraries verify) and `v1a,<Ed25519>` under
  the service's `webhook` signing key, whose public keys are published
  (`GET /partner/v1/webhooks/keys`), so a partner may verify with no shared secret.
* **One attempt** is one POST to the registered URL with bounded waits (`CONNECT_SECONDS`,
  `READ_SECONDS`, at most `MAX_ANSWER_BYTES` of the answer read); redirects are not followed.
  2xx is delivered; anything else, or no answer, is a failure to retry. Outside development
  only public addresses are reached: a partner's URL cannot make the service call into its own
  network (loopback, private, link-local), even by a DNS name that resolves there.
* **No transaction is open during the HTTP call**: the delivery is read in one unit of work
  and the outcome written in another.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from core.crypto import Keyring
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Partner
from core.signing import Signer
from events import endpoints
from events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from rewards.pseudonyms import sector

CONNECT_SECONDS = 5.0
READ_SECONDS = 10.0
MAX_ANSWER_BYTES = 4096
# An endpoint failing (no 2xx) for this long, however many events it was sent, is disabled.
DISABLE_AFTER = timedelta(days=3)
USER_AGENT = "pengcheng-webhooks/1"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """What is sent: the headers' id and timestamp, the body, and where to."""

    msg_id: str
    url: str
    body: bytes
    secret: str


def message_id(event_id: uuid.UUID) -> str:
    return f"evt_{event_id.hex}"


def payload(event: Event, sub: str | None) -> bytes:
    data = dict(event.data)
    if sub is not None:
        data["sub"] = sub
    body = {"type": event.type, "timestamp": iso(event.occurred_at), "data": data}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(signer: Signer, session: object, msg: Message, at: datetime) -> str:
    """`v1,<hmac> v1a,<ed25519>` over `{id}.{timestamp}.{body}`."""
    symmetric = Webhook(msg.secret).sign(msg.msg_id, at, msg.body)
    _, key = signer.active(session, "webhook")  # type: ignore[arg-type]
    signed = f"{msg.msg_id}.{int(at.timestamp())}.".encode() + msg.body
    return f"{symmetric} v1a,{base64.b64encode(key.sign(signed)).decode()}"


def _connected(host: str, port: int, timeout: float, allow_private: bool) -> socket.socket:
    """A socket to `host`, refused (PermissionError) if any of its addresses is not a public
    one (loopback, private, link-local…) unless `allow_private`; it connects to the address it
    vetted, so a second DNS answer cannot redirect it."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, address in infos:
        ip = ipaddress.ip_address(address[0])
        if not (allow_private or ip.is_global):
            raise PermissionError(f"{ip} is not a public address")
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


class _HTTP(http.client.HTTPConnection):
    allow_private = False

    def connect(self) -> None:
        self.sock = _connected(self.host, self.port, CONNECT_SECONDS, self.allow_private)


class _HTTPS(http.client.HTTPSConnection):
    allow_private = False

    def connect(self) -> None:
        sock = _connected(self.host, self.port, CONNECT_SECONDS, self.allow_private)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, headers: dict[str, str], body: bytes, *, allow_private: bool = False
         ) -> tuple[int | None, str | None]:
    """One POST: (status, None) if answered, (None, error) if not. Only public addresses
    unless `allow_private` (development and tests)."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = _HTTPS(parts.hostname or "", parts.port, timeout=CONNECT_SECONDS,
                      context=ssl.create_default_context())
    else:
        conn = _HTTP(parts.hostname or "", parts.port, timeout=CONNECT_SECONDS)
    conn.allow_private = allow_private  # type: ignore[attr-defined]
    try:
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(READ_SECONDS)
        conn.request("POST", path, body=body, headers=headers)
        answer = conn.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        return answer.status, None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # ValueError: a non-ASCII path
        return None, f"{type(exc).__name__}: {exc}"[:200]
    finally:
        conn.close()


@dataclass(frozen=True)
class Outcome:
    """`delivered`, `retry` (a failure with attempts left), `failed` (no attempts left, or
    the endpoint is off), or `gone` (nothing to send)."""

    state: str
    status_code: int | None = None
    error: str | None = None


def deliver(uow: Callable[[], UnitOfWork], keyring: Keyring, signer: Signer,
            delivery_id: uuid.UUID, *, now: Callable[[], datetime], final: bool,
            manual: bool = False, allow_private: bool = False) -> Outcome:
    """Attempt one delivery and record it. `final`: no retry follows a failure;
    `allow_private`: also to loopback and private addresses (development only)."""
    with uow() as unit:
        session = unit.session
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or (delivery.status != "pending" and not manual):
            return Outcome("gone")
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        event = session.get(Event, delivery.event_id)
        partner = session.get(Partner, event.partner_id) if event else None
        if endpoint is None or event is None or partner is None:
            return Outcome("gone")
        if endpoint.status != "active":
            delivery.status = "failed"
            unit.commit()
            return Outcome("failed", error="endpoint disabled")
        sub = (keyring.pseudonym(sector(partner), event.resident_id)
               if event.resident_id is not None else None)
        msg = Message(message_id(event.id), endpoint.url, payload(event, sub),
                      endpoints.secret_of(session, keyring, endpoint))
        at = now()
        headers = {"content-type": "application/json", "user-agent": USER_AGENT,
                   "webhook-id": msg.msg_id, "webhook-timestamp": str(int(at.timestamp())),
                   "webhook-signature": signature(signer, session, msg, at)}
    started = time.monotonic()
    status, error = post(msg.url, headers, msg.body, allow_private=allow_private)
    took = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    if status is not None and not ok:
        error = f"HTTP {status}"
    with uow() as unit:
        session = unit.session
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id,  # type: ignore[union-attr]
                               with_for_update=True)
        assert delivery is not None and endpoint is not None
        done = now()
        session.add(WebhookAttempt(delivery_id=delivery.id, at=at, status_code=status,
                                   error=error, duration_ms=took, manual=manual))
        delivery.attempts += 1
        delivery.last_attempt_at = at
        if ok:
            delivery.status, delivery.delivered_at = "delivered", done
            endpoint.failing_since = None
        else:
            endpoint.failing_since = endpoint.failing_since or at
            if endpoint.status == "active" and done - endpoint.failing_since >= DISABLE_AFTER:
                endpoint_notice(endpoint, error, done)
            if final or endpoint.status != "active":
                delivery.status = "failed"
        unit.commit()
        state = "delivered" if ok else ("failed" if delivery.status == "failed" else "retry")
    return Outcome(state, status, error)


def endpoint_notice(endpoint: WebhookEndpoint, error: str | None, now: datetime) -> None:
    """Disable an endpoint that has not answered 2xx for `DISABLE_AFTER`; the reason is the
    notice its partner reads (GET /partner/v1/webhooks) and operators list."""
    since = endpoint.failing_since.isoformat() if endpoint.failing_since else "?"
    endpoints.disable(endpoint, f"disabled: no 2xx answer since {since} (last: {error}); "
                                "fix the receiver, then switch it on again (PATCH active=true)",
                      now)
    log.warning("webhook endpoint %s of partner %s disabled: failing since %s",
                endpoint.id, endpoint.partner_id, since)



def public_keys(signer: Signer, session: object, now: datetime) -> list[dict[str, str]]:
    """The published `webhook` keys (active, next, recently retired): each as a JWK and as the
    `whpk_…` form Standard Webhooks uses. A `v1a` signature is good if one of them verifies."""
    keys = []
    for jwk in signer.jwks(session, now, ("webhook",))["keys"]:  # type: ignore[arg-type]
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        keys.append({"kid": jwk["kid"], "public_key": "whpk_" + base64.b64encode(raw).decode(),
                     "jwk": jwk})
    return keys
