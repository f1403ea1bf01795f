"""Persistence base: the declarative Base, column types, engines and the unit of work.

Design overview
---------------
* One `Base` for every table in every domain package, so Alembic sees one metadata.
* Ids are UUIDs, times are timezone-aware UTC, money is integer fen. PostgreSQL is the only
  database (embedded by default, `core.embedded`; a server in production).
* A `UnitOfWork` owns one session and commits once; callbacks registered with
  `after_commit` run only once the transaction is durable (side effects leave the process
  only after commit — Indico's rule).
* Every wait is bounded (`Timeouts`): each connection of an engine starts with its
  `lock_timeout`, `statement_timeout` and `idle_in_transaction_session_timeout` (startup
  options: no extra round trip), connecting gives up after `connect_timeout` and a checkout
  after `pool_timeout`. A row lock held elsewhere therefore costs a request at most
  `lock_ms`, never a thread for as long as the holder likes. Longer work (the batch, the
  periodic jobs) runs in units whose transactions raise the limits with `SET LOCAL`
  (`longer_waits`), on the same pool, so no connection goes back to the pool changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import (
    JSON,
    DateTime,
    MetaData,
    Text,
    Uuid,
    bindparam,
    cast,
    create_engine,
    event,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.expression import Cast
from sqlalchemy.types import TypeDecorator

from core.clock import utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime; a naive one is refused rather than guessed at."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def normalize_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Timeouts:
    """How long a connection may wait, in one place (values from `app.config`).

    `lock_ms`: for a row or table lock (SQLSTATE 55P03 when it runs out); `statement_ms`: for
    one statement (57014); `idle_in_transaction_ms`: a transaction left open and idle is ended
    by the server (its locks go with it); `connect_s`: to open a connection; `pool_s`: to get
    one from the pool. 0 means no limit (PostgreSQL's own meaning).
    """

    lock_ms: int
    statement_ms: int
    idle_in_transaction_ms: int
    connect_s: int = 3
    pool_s: float = 2.0

    def server_settings(self) -> dict[str, str]:
        return {"lock_timeout": str(int(self.lock_ms)),
                "statement_timeout": str(int(self.statement_ms)),
                "idle_in_transaction_session_timeout": str(int(self.idle_in_transaction_ms))}

    def startup_options(self) -> str:
        """The settings as libpq's `options` (`-c name=value …`), sent when connecting."""
        return " ".join(f"-c {name}={value}" for name, value in self.server_settings().items())


def make_engine(url: str, *, timeouts: Timeouts | None = None, **kwargs: Any) -> Engine:
    """An engine for the configured PostgreSQL URL; with `timeouts`, every connection it
    opens waits at most that long (the app always passes them; a bare engine, as tests and
    migrations use, keeps the server's settings)."""
    url = normalize_url(url)
    if not url.startswith("postgresql+psycopg://"):
        raise ValueError(f"PENGCHENG_DATABASE_URL must be a postgresql:// URL, not {url!r}")
    # No pre-ping round trip on every checkout: when PostgreSQL restarts, the first statement
    # on a dead connection fails (the request gets 503 + Retry-After) and SQLAlchemy then
    # invalidates the whole pool, so the service heals by itself on the next request.
    kwargs.setdefault("pool_pre_ping", False)
    # A statement error's message and log line never carry its bound parameters: they are
    # residents' personal data (names, ID numbers, free text).
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_size", 10)
    # json and jsonb values (our own, written through the app's validation) parsed by orjson:
    # the same Python values as `json.loads`, in a third of the time (a stored score's
    # explanation, ~6 KB, 108 -> ~30 µs; read on every score read).
    kwargs.setdefault("json_deserializer", orjson.loads)
    kwargs.setdefault("max_overflow", 20)
    if timeouts is not None:
        kwargs.setdefault("pool_timeout", timeouts.pool_s)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("connect_timeout", max(1, int(timeouts.connect_s)))
        # Options already in the URL (`?options=…`) are kept; ours come after, so they win.
        given = make_url(url).query.get("options") or ""
        given = given if isinstance(given, str) else " ".join(given)
        connect_args["options"] = f"{given} {timeouts.startup_options()}".strip()
        kwargs["connect_args"] = connect_args
    return create_engine(url, **kwargs)


def longer_waits(factory: sessionmaker[Session], timeouts: Timeouts) -> sessionmaker[Session]:
    """`factory`, whose every transaction first raises the server-side limits to `timeouts`
    with `SET LOCAL` (undone at its end): batch work on the request pool's connections."""
    settings = timeouts.server_settings()
    sql = "SELECT " + ", ".join(f"set_config('{name}', %(v{i})s, true)"
                                 for i, name in enumerate(settings))
    params = {f"v{i}": value for i, value in enumerate(settings.values())}

    def begin(session: Session, transaction: Any, connection: Connection) -> None:
        connection.exec_driver_sql(sql, params)

    event.listen(factory, "after_begin", begin)
    return factory


class UnitOfWork:
    """One transaction. Use as a context manager; call `commit()` once; rollback otherwise."""

    def __init__(self, session_factory: sessionmaker[Session], *, autocommit: bool = False):
        self._factory = session_factory
        self._autocommit = autocommit  # the factory's connections commit every statement
        self._after_commit: list[Callable[[], None]] = []
        self._driver: Any = None
        self._session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        self._session = None
        self._after_commit = []
        return self

    @property
    def session(self) -> Session:
        """The unit's session, made on first use (a request answered from caches or by one
        driver-level call never builds one)."""
        if self._session is None:
            self._session = self._factory()
        return self._session

    def __exit__(self, *exc: object) -> None:
        # close() rolls back anything uncommitted and detaches objects without expiring them,
        # so handlers can still read what the service returned.
        if self._session is not None:
            self._session.close()
        if self._driver is not None:
            pooled, self._driver = self._driver, None
            dbapi = pooled.driver_connection
            try:
                if dbapi is not None and not dbapi.closed:
                    dbapi.autocommit = False  # as the pool's other users expect it
            finally:
                pooled.close()

    def driver_connection(self) -> Any:
        """A pooled DB-API connection of this unit's own, in autocommit mode, for the
        one-statement calls of `core.pgcall` (PostgreSQL): no session or statement machinery
        on a hot path. Back to the pool, as it was, when the unit ends."""
        if self._driver is None:
            bind = self.bind
            try:
                pooled: Any = bind.raw_connection()
            except bind.dialect.loaded_dbapi.Error as exc:
                # The pool hands back the driver's own error (`engine.connect()` wraps it):
                # wrap it the same way, so a database that is away is a 503, not a 500.
                raise DBAPIError.instance(
                    None, None, exc, bind.dialect.loaded_dbapi.Error,
                    connection_invalidated=bind.dialect.is_disconnect(exc, None, None),
                    dialect=bind.dialect) from exc
            pooled.driver_connection.autocommit = True
            self._driver = pooled
        return self._driver

    @property
    def info(self) -> dict[str, Any]:
        """The `info` every session of this unit carries (bound contexts), without making one."""
        info: dict[str, Any] = self._factory.kw.get("info") or {}
        return info

    @property
    def bind(self) -> Engine:
        """The engine (with this unit's execution options) its connections come from."""
        return self._factory.kw["bind"]

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        if self._autocommit:  # each statement committed as it ran: only send what is pending
            if self._session is not None:
                self._session.flush()
        else:
            self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this unit of work has committed (never if it rolls back)."""
        self._after_commit.append(callback)


class NewUnitOfWork(Protocol):
    """Opens a unit of work (`services.uow`); `autocommit=True` for a single-statement call
    (`core.pgcall`)."""

    def __call__(self, *, autocommit: bool = False) -> UnitOfWork: ...


def uuid_array_text(ids: Iterable[uuid.UUID]) -> str:
    """The ids as one PostgreSQL array literal: one text parameter (psycopg would dump each
    element of a list, ~3 µs an id)."""
    return "{" + ",".join([i.hex for i in ids]) + "}"


def uuid_array(ids: Iterable[uuid.UUID]) -> Cast[Any]:
    """The ids as one ``uuid[]`` for ``= ANY(…)`` (the batch's many residents at once): one
    text parameter (`uuid_array_text`), cast once by a subquery (a cast in the condition itself
    is evaluated again for every row a plan filters: 2 ms a row for 5,000 ids)."""
    array: ARRAY[Any] = ARRAY(Uuid())
    once = select(cast(bindparam("ids", uuid_array_text(ids), type_=Text()), array)
                  ).scalar_subquery()
    return cast(once, array)  # ANY ((SELECT …)) would read as a subquery of rows
