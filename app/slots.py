"""At most a few partner writes in flight per resident in this process (503 `resident_busy`
past that): `ResidentSlots`, and the request hooks `init_app` installs."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from flask import Flask, Response, g, request

from app.errors import problem
from app.safe_input import screened


def init_app(app: Flask) -> None:
    app.before_request(_take_resident_slot)
    app.teardown_request(_give_resident_slot)


class ResidentSlots:
    """At most `limit` writes in flight per resident key in this process (a counter per key).

    A row lock held on one resident's accounts makes that resident's writes wait (up to
    `DB_LOCK_TIMEOUT_MS`); partners retrying meanwhile must not take every thread of the
    process. A write past the limit is answered at once (503 `resident_busy`), without
    touching the database. Per process, not shared: what is protected is this process's
    threads and pool, and taking a slot costs no round trip.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        with self._lock:
            held = self._held.get(key, 0)
            if self.limit > 0 and held >= self.limit:
                return False
            self._held[key] = held + 1
            return True

    def give(self, key: str) -> None:
        with self._lock:
            left = self._held.get(key, 0) - 1
            if left > 0:
                self._held[key] = left
            else:
                self._held.pop(key, None)


UNCOUNTED = ("/partner/v1/tokens/introspect", "/partner/v1/webhooks")  # lock no resident row


def resident_key() -> str | None:
    """Which resident a partner's write is for, without a database round trip (None: not
    counted): the token's pairwise pseudonym (`aud`, `sub`), the short code, or the resource
    in the path (capture, void, refund …). Partners retry, so their writes are what piles up
    behind a locked row; a resident's own writes are rate-limited and come from one person.
    Reads are not counted: they take no row locks."""
    req = request
    if req.method in ("GET", "HEAD", "OPTIONS"):
        return None
    path = req.path
    if not path.startswith("/partner/v1/") or path in UNCOUNTED:
        return None
    token = _token_in_body(req)
    if token is None:
        return "r:" + path if path.count("/") > 4 else None  # …/{id}/capture and the like
    parts = token.split(".")
    if len(parts) == 3:
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            return f"p:{claims['aud']}:{claims['sub']}"
        except (ValueError, KeyError, TypeError):
            return None  # not a token we issued: refused later without waiting on a lock
    return "c:" + token


def _token_in_body(req: Any) -> str | None:
    """The JSON body's `token`, as the input screen (`app.safe_input`, which runs first)
    parsed and passed it."""
    document = screened(req)
    token = document.get("token") if isinstance(document, dict) else None
    return token if isinstance(token, str) and 0 < len(token) <= 4096 else None


def _take_resident_slot() -> Response | None:
    key = resident_key()
    if key is None:
        return None
    if not runtime().resident_slots.take(key):
        return problem(503, "resident_busy",
                       "Other requests for this resident are still in progress; retry shortly",
                       detail_zh="该用户的其他请求正在处理，请稍后重试",
                       headers={"Retry-After": "1"})
    g.resident_slot = key
    return None


def _give_resident_slot(_exc: BaseException | None) -> None:
    key = g.pop("resident_slot", None)
    if key is not None:
        runtime().resident_slots.give(key)


def runtime():  # noqa: ANN201 - imported late: app.runtime imports this module
    from app.runtime import runtime as current

    return current()
