"""The process-wide parts of one app, built once in `create_app` and frozen.

    rt = runtime()                      # in a request or CLI command (an app context)
    with rt.uow() as uow: …; uow.commit()
    use_case(uow, clock=rt.clock, signer=rt.signer)   # a use case gets what it needs, typed

Nothing here is looked up by name: every part is a typed field, and a use case is handed the
parts it needs (domain code never imports Flask or this module).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from app.config import db_timeouts
from app.idp import IdentityProvider
from app.ratelimit import CodeMisses, RateLimits, make_limits
from app.slots import ResidentSlots
from core.clock import Clock, SystemClock
from core.crypto import Keyring, parse_key
from core.db import UnitOfWork, longer_waits, make_engine
from core.fast import FastStore, make_store
from core.signing import Signer
from rewards.token_format import TokenContext

EXTENSION = "pengcheng"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """Engine, session factories, keys, signer, fast store, clock, identity provider, token
    context and settings of one app."""

    settings: Mapping[str, Any]
    engine: Engine
    health_engine: Engine  # /healthz: its own tiny pool, never queued behind requests
    session_factory: sessionmaker[Session]
    # For paths whose writes are one statement (introspection, the PostgreSQL functions of
    # core.pgcall): no BEGIN/COMMIT round trips. Never for two statements that must be atomic.
    autocommit_factory: sessionmaker[Session]
    # `pengcheng score` and `jobs run`: the same pool, longer limits per transaction.
    batch_factory: sessionmaker[Session]
    keyring: Keyring
    signer: Signer
    store: FastStore
    limiter: RateLimits
    clock: Clock
    idp: IdentityProvider
    tokens: TokenContext
    resident_slots: ResidentSlots
    # app.auth's principals by (model, key hash) -> (expiry, principal); the one mutable part.
    principal_cache: dict[tuple[type, str], tuple[float, Any]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        """Our issuer name (tokens, receipts, reports)."""
        return str(self.settings["ISSUER"])

    def uow(self, *, autocommit: bool = False) -> UnitOfWork:
        """A unit of work; `autocommit=True` only where each statement may stand alone."""
        return UnitOfWork(self.autocommit_factory if autocommit else self.session_factory,
                          autocommit=autocommit)

    def batch_uow(self) -> UnitOfWork:
        """A unit of work for batch and job work: the batch limits (`DB_BATCH_*`)."""
        return UnitOfWork(self.batch_factory)

    def warm(self) -> None:
        """Make a new server worker's first requests cost what its later ones do: the ORM's
        mappers configured, the active model parsed (~50 ms), every pooled connection opened
        (a new PostgreSQL connection costs a backend's start, ~5-25 ms) and every hot path run
        once on each, then rolled back (`app.warmup`: the statements compiled in this process,
        the tables, plpgsql functions and plans loaded in each backend). gunicorn calls it
        once per worker before the worker takes requests (`gunicorn.conf.py`). A database
        that is down, or a probe that fails, fails no worker: it logs `warm-up incomplete`
        and the first requests pay for what was not warmed."""
        from app.warmup import ProbeFailed, probe_all
        from scoring.services import active_model

        configure_mappers()
        opened: list[Any] = []
        try:
            with self.uow() as uow:
                active_model(uow.session)
            for _ in range(self.engine.pool.size()):  # type: ignore[attr-defined]
                opened.append(self.engine.connect())  # held: each a connection of its own
            probe_all(self, opened)
        except Exception as exc:  # whatever it is, warming only saves time: never fail a worker
            log.warning("warm-up incomplete, the first requests will pay for it: %r", exc,
                        exc_info=not isinstance(exc, ProbeFailed))  # a path's refusal: no trace
        finally:
            for connection in opened:
                connection.close()


def build(app: Flask, clock: Clock | None = None) -> Runtime:
    """The app's runtime from its (resolved) config; stored on the app and returned."""
    cfg = app.config
    url = cfg["DATABASE_URL"]
    engine = make_engine(url, timeouts=db_timeouts(cfg), pool_size=int(cfg["DB_POOL_SIZE"]))
    # /healthz never queues behind the request pool: one connection of its own (a second
    # while the first is busy), and a short timeout on everything it does.
    health = make_engine(url, timeouts=db_timeouts(cfg, "health"), pool_size=1, max_overflow=1)
    weakref.finalize(app, health.dispose)  # closed with the app, never left to the GC
    masters = [parse_key(k) for k in str(cfg["MASTER_KEY"]).split(",")]
    keyring = Keyring(masters, parse_key(str(cfg["INDEX_KEY"])))
    signer = Signer(keyring)
    keyed = {"keyring": keyring}  # sessions encrypt free text with it (rights.models)
    store = make_store(cfg.get("REDIS_URL"))
    limiter = make_limits(cfg.get("REDIS_URL"))
    rt = Runtime(
        settings=cfg,
        engine=engine,
        health_engine=health,
        session_factory=sessionmaker(engine, expire_on_commit=False, info=keyed),
        autocommit_factory=sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"),
                                        expire_on_commit=False, info=keyed),
        batch_factory=longer_waits(sessionmaker(engine, expire_on_commit=False, info=keyed),
                                   db_timeouts(cfg, "batch")),
        keyring=keyring,
        signer=signer,
        store=store,
        limiter=limiter,
        clock=clock or SystemClock(),
        idp=IdentityProvider.from_config(cfg.get("IDP_JWKS"), cfg.get("IDP_ISSUER")),
        tokens=TokenContext(signer=signer, keyring=keyring, issuer=str(cfg["ISSUER"]),
                            code_misses=CodeMisses(limiter, str(cfg["RATE_LIMIT_CODE_MISSES"]))),
        resident_slots=ResidentSlots(int(cfg["RESIDENT_CONCURRENCY"])),
    )
    app.extensions[EXTENSION] = rt
    return rt


def runtime() -> Runtime:
    """The current app's runtime (needs an app context)."""
    rt: Runtime = current_app.extensions[EXTENSION]
    return rt
