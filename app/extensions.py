"""Extensions, created unbound and attached to an app in `create_app`."""

from __future__ import annotations

import base64
import http
import json
import threading
import weakref
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_smorest import Api as _Api
from flask_smorest.utils import prepare_response
from sqlalchemy.orm import sessionmaker

from app.config import db_timeouts
from app.errors import PROBLEM, ProblemSchema, problem
from app.idp import IdentityProvider
from app.ratelimit import RateLimits, make_limits
from core.clock import Clock, SystemClock
from core.crypto import Keyring, parse_key
from core.db import UnitOfWork, longer_waits, make_engine
from core.fast import make_store
from core.signing import Signer


class Api(_Api):
    """flask-smorest's Api, documenting errors as application/problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Errors are mapped in app/errors.py, not by flask-smorest."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Problem details (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


class Services:
    """The process-wide parts one app needs: engine, keys, fast store, clock, identity provider."""

    def init_app(self, app: Flask, clock: Clock | None = None) -> None:
        cfg = app.config
        url = cfg["DATABASE_URL"]
        engine = make_engine(url, timeouts=db_timeouts(cfg), pool_size=int(cfg["DB_POOL_SIZE"]))
        # /healthz never queues behind the request pool: one connection of its own (a second
        # while the first is busy), and a short timeout on everything it does.
        health = make_engine(url, timeouts=db_timeouts(cfg, "health"), pool_size=1,
                             max_overflow=1)
        weakref.finalize(app, health.dispose)  # closed with the app, never left to the GC
        masters = [parse_key(k) for k in str(cfg["MASTER_KEY"]).split(",")]
        keyring = Keyring(masters, parse_key(str(cfg["INDEX_KEY"])))
        store = make_store(cfg.get("REDIS_URL"))
        app.extensions["pengcheng"] = {
            "engine": engine,
            "session_factory": sessionmaker(engine, expire_on_commit=False),
            # For paths whose writes are one statement (introspection, the PostgreSQL
            # functions of core.pgcall): no BEGIN/COMMIT round trips. Never for anything
            # that needs two statements to be atomic.
            "autocommit_factory": sessionmaker(
                engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False),
            # `pengcheng score` and `jobs run`: the same pool, longer limits per transaction.
            "batch_factory": longer_waits(sessionmaker(engine, expire_on_commit=False),
                                          db_timeouts(cfg, "batch")),
            "health_engine": health,
            "keyring": keyring,
            "signer": Signer(keyring),
            "store": store,
            "limiter": make_limits(cfg.get("REDIS_URL")),
            "clock": clock or SystemClock(),
            "idp": IdentityProvider.from_config(cfg.get("IDP_JWKS"), cfg.get("IDP_ISSUER")),
            "principal_cache": {},
            "resident_slots": ResidentSlots(int(cfg["RESIDENT_CONCURRENCY"])),
        }
        app.before_request(_take_resident_slot)
        app.teardown_request(_give_resident_slot)

    @staticmethod
    def _state() -> dict[str, Any]:
        return current_app.extensions["pengcheng"]

    @property
    def limiter(self) -> RateLimits:
        """The app's rate limits (Redis-backed, or in-process): see app/ratelimit.py."""
        limiter: RateLimits = self._state()["limiter"]
        return limiter

    @staticmethod
    def app_config(key: str) -> Any:
        return current_app.config[key]

    def uow(self, *, autocommit: bool = False) -> UnitOfWork:
        """A unit of work; `autocommit=True` only where each statement may stand alone."""
        return UnitOfWork(self._state()["autocommit_factory" if autocommit else
                                        "session_factory"], autocommit=autocommit)

    def batch_uow(self) -> UnitOfWork:
        """A unit of work for batch and job work: the batch limits (`DB_BATCH_*`)."""
        return UnitOfWork(self._state()["batch_factory"])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._state()[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


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


MAX_PEEK = 16 * 1024  # partner write bodies are small; larger ones are not read here
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
    """The body's `token`, read only from a short declared JSON body (the input screen,
    `app.safe_input`, judges everything else)."""
    length = req.content_length
    if not length or length > MAX_PEEK or req.mimetype != "application/json":
        return None
    from core import safe_text

    try:
        document = safe_text.loads(req.get_data(cache=True))
    except Exception:  # unreadable or malformed: the input screen answers it
        return None
    token = document.get("token") if isinstance(document, dict) else None
    return token if isinstance(token, str) and 0 < len(token) <= 4096 else None


def _take_resident_slot() -> Response | None:
    key = resident_key()
    if key is None:
        return None
    if not services.resident_slots.take(key):
        return problem(503, "resident_busy",
                       "Other requests for this resident are still in progress; retry shortly",
                       detail_zh="该用户的其他请求正在处理，请稍后重试",
                       headers={"Retry-After": "1"})
    g.resident_slot = key
    return None


def _give_resident_slot(_exc: BaseException | None) -> None:
    key = g.pop("resident_slot", None)
    if key is not None:
        services.resident_slots.give(key)


api = Api()
services = Services()
