"""Who is calling: resident sessions, partner / source / operator API keys, and the counter
staff sessions that act for their partner in the counter's calls only (Bearer tokens)."""

from __future__ import annotations

import time
import uuid
from typing import Any, TypeVar

from flask import g, request

from app.runtime import runtime
from core.db import UnitOfWork
from core.errors import Forbidden, Unauthorized
from core.identity import (
    DataSource,
    Operator,
    Partner,
    Resident,
    by_api_key,
    hash_key,
)
from core.sessions import resident_for_session
from core.staff import SESSION_PREFIX as STAFF_PREFIX
from core.staff import for_session as staff_for_session

P = TypeVar("P", Partner, DataSource, Operator)

MAX_CREDENTIAL = 512
MAX_CACHED_PRINCIPALS = 10_000


def bearer() -> str:
    """The credential of the `Authorization: Bearer …` header; Unauthorized without one."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > MAX_CREDENTIAL:
        raise Unauthorized("send `Authorization: Bearer <credential>`",
                           detail_zh="请先登录")
    return value


def resident(uow: UnitOfWork) -> Resident:
    """The resident whose session token authorizes this request."""
    found = resident_for_session(uow.session, bearer(), runtime().clock.now())
    acting_resident(found.id)
    return found


def acting_resident(resident_id: uuid.UUID) -> None:
    """Name the resident this request acts for (`g.actor`): after `resident`, or after a read
    that found the session's resident in its own statement (`scoring.read`)."""
    g.actor = f"resident:{resident_id}"


def _principal(uow: UnitOfWork, model: type[P], what: str) -> P:
    found = _cached_principal(uow, model, bearer())
    if found is None:
        raise Unauthorized(f"unknown or inactive {what} API key")
    g.actor = f"{what}:{found.client_id}"
    return found


def _cached_principal(uow: UnitOfWork, model: type[P], api_key: str) -> P | None:
    """`by_api_key`, remembered for AUTH_CACHE_SECONDS per process (0 turns it off).

    Partners call many times a second; their key and registration change rarely. A cached
    principal is a detached, read-only instance shared by the process's requests (principals
    have no relationships to load; nothing writes to them); taking it costs no query and no
    session work. Deactivating a key therefore takes effect within AUTH_CACHE_SECONDS on every
    instance.
    """
    ttl = float(runtime().settings["AUTH_CACHE_SECONDS"])
    if ttl <= 0:
        return by_api_key(uow.session, model, api_key)
    cache: dict[tuple[type, str], tuple[float, Any]] = runtime().principal_cache
    slot = (model, hash_key(api_key))
    hit = cache.get(slot)
    if hit is not None and hit[0] > time.monotonic():
        cached: P = hit[1]
        return cached
    found = by_api_key(uow.session, model, api_key)
    if found is not None:
        uow.session.expunge(found)  # out of this session: its rollback cannot expire it
        if len(cache) >= MAX_CACHED_PRINCIPALS:
            cache.clear()
        cache[slot] = (time.monotonic() + ttl, found)
    return found


# What a counter staff session may call (as werkzeug writes the rules): the counter's work for
# its partner, nothing else — not staff accounts, webhooks, keys or other scenarios' calls.
COUNTER_CALLS = frozenset({
    "POST /partner/v1/tokens/introspect",
    "GET /partner/v1/medical-credit/authorizations",
    "POST /partner/v1/medical-credit/authorizations",
    "POST /partner/v1/medical-credit/authorizations/<uuid:authorization_id>/capture",
    "POST /partner/v1/medical-credit/authorizations/<uuid:authorization_id>/void",
})


def _counter_call() -> bool:
    rule = request.url_rule
    return rule is not None and f"{request.method} {rule.rule}" in COUNTER_CALLS


def partner(uow: UnitOfWork, *kinds: str) -> Partner:
    """The partner whose API key authorizes this request, restricted to `kinds` if given.

    In the counter's calls (`COUNTER_CALLS`) a counter staff session acts for its partner and
    `calling_staff()` names the staff member; elsewhere a staff session is refused (403)."""
    credential = bearer()
    if credential.startswith(STAFF_PREFIX):
        if not _counter_call():
            raise Forbidden("a counter staff session can only make the counter's calls",
                            detail_zh="收费员登录只能用于收费窗口的操作")
        found, member = staff_for_session(uow.session, credential, runtime().clock.now())
        g.staff_id = member.id
        g.actor = f"staff:{member.id}"
    else:
        found = _principal(uow, Partner, "partner")
    if kinds and found.kind not in kinds:
        raise Forbidden(f"this endpoint is for partners of kind {', '.join(kinds)}")
    return found


def calling_partner(*kinds: str) -> Partner:
    """The partner of this request, for a write whose use case owns its unit of work (the
    idempotent ones): a cached principal costs no query; otherwise one read on an autocommit
    connection (no transaction to open or end)."""
    with runtime().uow(autocommit=True) as uow:
        return partner(uow, *kinds)


def calling_staff() -> uuid.UUID | None:
    """The counter staff member whose session authorized this request (None: an API key)."""
    staff_id: uuid.UUID | None = g.get("staff_id")
    return staff_id


def source(uow: UnitOfWork) -> DataSource:
    """The data source whose API key authorizes this request."""
    return _principal(uow, DataSource, "source")


def operator(uow: UnitOfWork, *roles: str) -> Operator:
    """The operator whose API key authorizes this request, restricted to `roles` if given."""
    found = _principal(uow, Operator, "operator")
    if roles and found.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role")
    return found
