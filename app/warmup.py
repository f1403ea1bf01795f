"""The hot paths run once on a pooled connection, and nothing they did is kept (issue 26).

Design overview
---------------
* Why: a new server worker's first requests paid for what its later ones find ready. Once per
  process, SQLAlchemy compiles the composed statements (`core.pgcall.compiled`, the ORM's
  compiled cache); once per PostgreSQL backend — per pooled connection — the server loads
  the catalog entries of every table and index a statement touches, compiles each plpgsql
  function on its first call and plans each statement inside it the first time that statement
  runs. So a probe that stops at its first check warms little: `probe` takes every hot path
  the whole way, through the same functions a request calls (no SQL of its own): the score
  read's fast path (`scoring.read.current_read`), a partner key's look-up
  (`core.identity.by_api_key`), a token's issue (`rewards.entitlements.checked_read` and
  `issue_checked`, the token written), its introspection (`pc_introspect`), a 先诊后付 hold
  (`pc_credit_authorize`, the resident's first: their credit account opened) and its capture
  (`pc_credit_capture`), a points redemption (`pc_redeem`, the merchant's first: its clearing
  account opened).
* Why it is harmless: everything runs in one transaction on that connection, which is always
  rolled back, on a world made inside it (`_world`): a resident of its own (a data key that
  holds no key, a session, consents to scoring and both scenarios, three good records from a
  data source of its own, the score they give, points), and a hospital and a merchant of its
  own. No other transaction sees those rows, so no real resident's rows are read, written or
  locked, and nothing written survives: the token and its code, the pseudonym mappings, the
  access-log entries, the idempotency claims, the hold, bill, credit account and
  notification, the redemption and its ledger transfer, the outbox events. The world is made
  without `core.audit` (no entry, and not its chain's advisory lock either); the probe's
  partners have no webhook endpoint, so no delivery is queued; nothing is sent out of the
  process and the fast store is not used.
* What a rollback cannot undo: two sequences advance, the outbox's `events.seq` and
  `points_legs.id`, which only order rows, are never shown, and skip values already whenever
  a write is refused after its insert (tests/integration/test_worker_warm.py holds the list).
  Shared rows the world refers to (the current notices, the active model, the points issuance
  account) are locked `FOR KEY SHARE` by the foreign keys, which blocks nothing but their
  deletion, for the probe's few milliseconds. On a database that never awarded points the
  probe opens the issuance account itself: another transaction opening it then waits for the
  probe to end.
* A path that fails (a scenario switched off or without its notice, a refusal) goes back to
  its savepoint and the probe goes on with the others; anything else (the database away, a
  world that does not hold) rolls the probe's transaction back and raises. Either way
  `Runtime.warm` logs `warm-up incomplete` with why, the connection goes back to the pool as
  clean as it came, and the worker starts.
"""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from consent.gate import SCORING
from consent.models import ConsentRecord
from consent.notices import current
from core.crypto import DataKey
from core.db import UnitOfWork
from core.identity import DataSource, Partner, Resident, by_api_key, hash_key, new_api_key
from core.records import Record
from core.sessions import open_session
from rewards import tokens
from rewards.credit import services as credit
from rewards.credit import terms as credit_terms
from rewards.entitlements import checked_read, issue_checked
from rewards.points import redemption
from rewards.points.earning import award
from rewards.scenarios import purpose_of
from rewards.tokens import Issued
from scoring.read import current_read
from scoring.services import fresh_score

if TYPE_CHECKING:
    from app.runtime import Runtime

CREDIT, POINTS = credit_terms.SCENARIO, redemption.SCENARIO
# What the probe resident consents to: purpose -> (the current notice's id, its categories).
Consents = dict[str, tuple[uuid.UUID, list[str]]]


class ProbeFailed(Exception):
    """A path answered other than a request would have (the probe warmed less than it should)."""


class _Probe(UnitOfWork):
    """A unit of work whose session and driver calls (`core.pgcall`) share the probe's one
    transaction on `connection`: a commit (autocommit: a flush) ends nothing, and the
    transaction is the probe's to roll back."""

    def __init__(self, connection: Connection, info: dict[str, Any]):
        # A session on a connection already in a transaction only joins it: its commit and
        # close leave that transaction alone.
        super().__init__(sessionmaker(connection, expire_on_commit=False, info=info),
                         autocommit=True)
        self._connection = connection

    def driver_connection(self) -> Any:
        return self._connection.connection  # inside the transaction: never autocommit


@dataclass(frozen=True)
class _World:
    """The probe's own resident (by their session token) and partners."""

    session_token: str
    hospital: Partner
    hospital_key: str
    merchant: Partner


def probe_all(rt: Runtime, connections: list[Connection]) -> None:
    """`probe` every connection: the first alone, which compiles this process's statements
    once, then the others at once (each waits mostly for its own backend). Once every probe
    has ended (each rolled back), raises `ProbeFailed` naming the paths that did not go
    through; any other error at once."""
    if not connections:
        return
    consents, missed = probe(rt, connections[0])
    with ThreadPoolExecutor(max(1, len(connections) - 1)) as threads:
        for more in threads.map(lambda connection: probe(rt, connection, consents)[1],
                                connections[1:]):
            missed |= more
    if missed:
        raise ProbeFailed("; ".join(sorted(missed)))


def probe(rt: Runtime, connection: Connection, consents: Consents | None = None
          ) -> tuple[Consents, set[str]]:
    """Run every hot path once on `connection` (a `Runtime`'s pooled connection, idle) and
    roll it all back: the consents it gave (pass them to the next probe: the notices are read
    once) and the paths that did not go through, by name and why. Raises what went wrong
    outside a path, the connection then rolled back too."""
    now = rt.clock.now()
    transaction = connection.begin()
    try:
        units = _Units(connection, rt.session_factory.kw.get("info") or {})
        with units() as uow:
            consents = consents or _consents(uow)
            world = _world(uow, rt, consents, now)
            return consents, _paths(uow, units, rt, world, now)
    finally:
        if transaction.is_active:  # else a failed flush has rolled it back already
            transaction.rollback()


class _Units:
    """New `_Probe`s on one connection: what a partner write opens (`NewUnitOfWork`)."""

    def __init__(self, connection: Connection, info: dict[str, Any]):
        self.connection, self._info = connection, info

    def __call__(self, *, autocommit: bool = False) -> UnitOfWork:
        return _Probe(self.connection, self._info)


def _consents(uow: UnitOfWork) -> Consents:
    """The notices the probe resident consents to: scoring's (without it there is no score
    to read: no probe) and each scenario's that has one (a scenario without its notice is not
    available: its paths refuse, `_paths` goes on)."""
    found: Consents = {}
    for purpose in (SCORING, purpose_of(CREDIT), purpose_of(POINTS)):
        notice = current(uow.session, purpose)
        if notice is not None:
            found[purpose] = notice.id, list(notice.categories)
        elif purpose == SCORING:
            raise ProbeFailed("no notice for scoring")
    return found


def _world(uow: UnitOfWork, rt: Runtime, consents: Consents, now: datetime) -> _World:
    """A resident with a session, consents, a score from a few records and points; a
    hospital and a merchant. Made directly, not by the use cases that audit."""
    session = uow.session
    resident_id = uuid.uuid4()
    key = DataKey(id=uuid.uuid4(), owner=str(resident_id), master_kid=rt.keyring.current_kid,
                  wrapped=None, created_at=now, destroyed_at=now)  # encrypts nothing
    resident = Resident(id=resident_id, id_index=f"warm-up:{resident_id.hex}",
                        data_key_id=key.id, created_at=now, score_stale_at=None,
                        score_version=0, status="active")
    given = now - timedelta(seconds=1)  # before the tokens' `iat`
    consented = [ConsentRecord(id=uuid.uuid4(), resident_id=resident_id, purpose=purpose,
                               notice_id=notice_id, categories=categories,
                               separate_consent=True, status="active", given_at=given,
                               expires_at=None, ended_at=None)
                 for purpose, (notice_id, categories) in consents.items()]
    (hospital, hospital_key), (merchant, _) = (_partner("hospital", CREDIT, now),
                                               _partner("merchant", POINTS, now))
    source = DataSource(id=uuid.uuid4(), client_id=f"src_warmup_{secrets.token_hex(8)}",
                        name="warm-up", api_key_hash=hash_key(new_api_key("sk")),
                        categories=[c for c, _, _ in _GOOD_RECORDS], active=True,
                        created_at=now)
    # Flushed in the order of their foreign keys (no relationship() tells the ORM).
    for rows in ([key, source, hospital, merchant], [resident],
                 [*consented, *_history(resident, source.id, now)]):
        session.add_all(rows)
        session.flush()
    token, _ = open_session(session, resident, now=now, ttl=timedelta(minutes=5),
                            channel="warm-up")
    fresh_score(session, resident, now=now)
    award(session, resident_id=resident_id, points=10, key=f"warm-up:{resident_id.hex}",
          rule="warm-up", now=now, expires_at=now + timedelta(days=1))
    return _World(token, hospital, hospital_key, merchant)


# A history that lifts the score of a resident with no records (fair, ~570 under the shipped
# model) to the tier every hot path's scenario asks (good: 600 for 先诊后付).
_GOOD_RECORDS = (("public_credit", "commendation", None), ("volunteer", "service_hours", 80.0),
                 ("blood_donation", "donation", None))


def _history(resident: Resident, source_id: uuid.UUID, now: datetime) -> list[Record]:
    """The probe resident's records (`_GOOD_RECORDS`), from the data source `source_id`."""
    return [Record(id=uuid.uuid4(), source_id=source_id, source_record_id=type_,
                   subject_index=resident.id_index, resident_id=resident.id, category=category,
                   type=type_, occurred_at=now - timedelta(days=30), quantity=quantity,
                   status="active", received_at=now)
            for category, type_, quantity in _GOOD_RECORDS]


def _partner(kind: str, scenario: str, now: datetime) -> tuple[Partner, str]:
    """A partner of the probe's own serving `scenario`, and its API key."""
    api_key = new_api_key("pk")
    return Partner(id=uuid.uuid4(), client_id=f"ptn_warmup_{secrets.token_hex(8)}",
                   name="warm-up", api_key_hash=hash_key(api_key), kind=kind,
                   scenarios=[scenario], active=True, created_at=now), api_key


def _paths(uow: UnitOfWork, units: _Units, rt: Runtime, world: _World, now: datetime
           ) -> set[str]:
    """Each hot path once, as a request takes it, each answering as a request's would; those
    that did not, by name and why. Each goes back to its savepoint when it fails and the
    others go on: a scenario switched off costs only its own paths' warm-up."""
    missed = set()
    for name, path in (("score read", _score_read), (CREDIT, _credit), (POINTS, _points)):
        savepoint = units.connection.begin_nested()
        try:
            path(uow, units, rt, world, now)
        except Exception as exc:  # a refusal, a path answering otherwise: only this one lost
            savepoint.rollback()
            missed.add(f"{name}: {exc!r}")
        else:
            savepoint.commit()  # released: the probe's transaction still rolls it back
    return missed


def _score_read(uow: UnitOfWork, units: _Units, rt: Runtime, world: _World,
                now: datetime) -> None:
    if current_read(uow, world.session_token, now=now, lang="zh") is None:
        raise ProbeFailed("the score read did not take its fast path")


def _credit(uow: UnitOfWork, units: _Units, rt: Runtime, world: _World, now: datetime) -> None:
    """The hospital's key looked up, a token issued, introspected, held and captured."""
    if by_api_key(uow.session, Partner, world.hospital_key) is None:
        raise ProbeFailed("the partner's key was not found")
    held = _issue(uow, rt, world, CREDIT, world.hospital, now)
    if not tokens.introspect(uow, held.token, partner=world.hospital, now=now,
                             ctx=rt.tokens)["active"]:
        raise ProbeFailed("introspection found the token inactive")
    terms = credit_terms.from_config(rt.settings)
    hold = credit.authorize(units, held.token, partner=world.hospital, amount_fen=100,
                            out_request_no="warm-up", now=now, terms=terms, ctx=rt.tokens)
    credit.capture(units, uuid.UUID(hold["authorization_id"]), partner=world.hospital,
                   amount_fen=100, out_bill_no="warm-up", now=now, terms=terms)


def _points(uow: UnitOfWork, units: _Units, rt: Runtime, world: _World, now: datetime) -> None:
    """A token issued to the merchant and a point redeemed with it."""
    spent = _issue(uow, rt, world, POINTS, world.merchant, now)
    redemption.redeem(units, spent.token, partner=world.merchant, out_order_no="warm-up",
                      points=1, now=now, ctx=rt.tokens)


def _issue(uow: UnitOfWork, rt: Runtime, world: _World, scenario: str, partner: Partner,
           now: datetime) -> Issued:
    """A token's issue as `POST /api/v1/me/tokens` takes it when the stored score is current."""
    checked = checked_read(uow, world.session_token, scenario=scenario,
                           partner=partner.client_id, now=now)
    if checked is None:
        raise ProbeFailed(f"the token issue for {scenario} did not take its fast path")
    return issue_checked(uow, checked, scenario=scenario, partner=partner.client_id, now=now,
                         ctx=rt.tokens)
