"""Consent use cases: grant, withdraw, expire, the auditor export — each in one unit of work.

Design overview
---------------
* `grant` validates against the *current* notice version (categories within the notice, the
  separate acknowledgement for sensitive scope), then either returns the identical consent
  already in force (idempotent: same record, same receipt) or ends the one in force and records
  a new one. Two identical grants racing both try to insert; the partial unique index on active
  records lets one win and the loser retries and finds it — one record, never two.
* `withdraw` is a compare-and-set from `active`, so a consent is withdrawn once; the gate sees
  it on the next query. Any change to the scoring consent marks the resident's score stale.
* A withdrawal and a token's use are ordered by the consent record's row lock: the use holds it
  shared from its consent check to its commit (`pc_consume_token`, rewards/sql/tokens.sql), a
  withdrawal takes it `FOR UPDATE` before anything else, so it waits for a use in flight and a
  use arriving later waits for it and is refused. Holding the row, the withdrawal takes effect
  no earlier than the last use it waited for (`_effective`), so that use is before it in the
  resident's access log too. Lock order everywhere: consent rows, then anything else.
* Every event is appended to `consent_events` and to the hash-chained audit log (ids, hashes
  and codes only — no personal fields). Grants and withdrawals carry a signed receipt.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import exists, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent import history, receipts
from consent.errors import (
    CategoriesInvalid,
    ConsentConflict,
    ConsentNotActive,
    ConsentNotFound,
    SeparateConsentRequired,
)
from consent.gate import SCORING, is_valid
from consent.models import ConsentEvent, ConsentRecord, Notice
from consent.notices import current, expiry, grantable
from core import audit
from core.clock import utc
from core.db import UnitOfWork
from core.identity import Operator, Resident
from core.registry import CORE
from core.signing import Signer

DEFAULT_ISSUER = "https://pengcheng.sz.gov.cn"
DEMO_SCENARIOS = ("medical_credit", "deposit_waiver_bike", "deposit_waiver_powerbank",
                  "library_no_deposit", "points_redemption", "fewer_documents")


@dataclass(frozen=True)
class Signing:
    """How receipts are signed: the signer (None: no receipt, e.g. bulk jobs) and our issuer."""

    signer: Signer | None
    issuer: str = DEFAULT_ISSUER


@dataclass(frozen=True)
class Outcome:
    record: ConsentRecord
    event: ConsentEvent | None
    receipt: str | None
    created: bool


def _event(session: Session, record: ConsentRecord, notice: Notice, kind: str, *,
           now: datetime, actor: str, channel: str, language: str = "zh",
           reason: str | None = None, signing: Signing | None = None) -> ConsentEvent:
    """Append one consent event (with its receipt) and its audit entry."""
    event = ConsentEvent(
        id=uuid.uuid4(), consent_id=record.id, resident_id=record.resident_id,
        purpose=record.purpose, event=kind, at=now, actor=actor, channel=channel,
        notice_id=notice.id, notice_hash=notice.hash, language=language,
        categories=list(record.categories), reason=reason,
    )
    if signing is not None and signing.signer is not None:
        body = receipts.claims(issuer=signing.issuer, record=record, notice=notice, event=event)
        event.receipt = receipts.sign(session, signing.signer, body)
    session.add(event)
    session.flush()
    audit.record(session, actor=actor, action=f"consent.{kind}", now=now,
                 subject=str(record.resident_id),
                 data={"consent_id": str(record.id), "event_id": str(event.id),
                       "purpose": record.purpose, "notice_hash": notice.hash,
                       "categories": list(record.categories), "channel": channel})
    return event


def _end(session: Session, record: ConsentRecord, status: str, now: datetime) -> bool:
    """Move `record` from active to `status` once (compare-and-set); False if already ended."""
    result = cast(CursorResult[Any], session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.id == record.id, ConsentRecord.status == "active")
        .values(status=status, ended_at=now)
        .execution_options(synchronize_session=False)
    ))
    done = result.rowcount
    if done:
        record.status, record.ended_at = status, now
    return bool(done)


def _effective(session: Session, record: ConsentRecord, now: datetime) -> datetime:
    """When ending `record` (its row locked by the caller) takes effect: `now`, or the time of
    a use of a token that relied on it, if later — a use that committed while this waited for
    the row may have read its clock a moment after our caller did."""
    last = session.scalar(select(func.pc_consent_last_use(record.resident_id, record.purpose)))
    return max(now, utc(last)) if last is not None else now


def _mark_stale(session: Session, resident_id: uuid.UUID, purpose: str, now: datetime) -> None:
    if purpose == SCORING:
        resident = session.get(Resident, resident_id)
        if resident is not None:
            resident.score_stale_at = now


def _chosen(notice: Notice, categories: Iterable[str] | None) -> list[str]:
    """The categories a grant covers: for scoring the core the notice offers plus the
    supplements chosen (none is fine), fixed by the notice otherwise."""
    offered = set(notice.categories)
    if notice.purpose != SCORING:
        if categories is not None and set(categories) != offered:
            raise CategoriesInvalid(
                f"the {notice.purpose} notice covers exactly {sorted(offered) or 'no categories'}"
                "; omit `categories`", detail_zh="该场景授权的数据类别由告知书确定，请勿指定")
        return sorted(offered)
    chosen = sorted(set(categories or []) | (offered & CORE))
    unknown = sorted(set(chosen) - offered)
    if not chosen or unknown:
        raise CategoriesInvalid(
            f"choose one or more categories from the notice; not in it: {unknown}" if unknown
            else "choose at least one category to consent to scoring",
            detail_zh="请从告知书列出的数据类别中选择至少一项", invalid=unknown or None)
    return chosen


def _receipt_of(session: Session, record: ConsentRecord) -> tuple[ConsentEvent | None, str | None]:
    event = session.scalars(
        select(ConsentEvent).where(ConsentEvent.consent_id == record.id,
                                   ConsentEvent.receipt.is_not(None))
        .order_by(ConsentEvent.seq.desc()).limit(1)).first()
    return event, (event.receipt if event else None)


def _grant(session: Session, resident: Resident, notice_id: uuid.UUID, *,
           categories: Iterable[str] | None, separate_consent: bool, now: datetime,
           signing: Signing, channel: str, language: str, actor: str) -> Outcome:
    notice = grantable(session, notice_id)
    chosen = _chosen(notice, categories)
    sensitive = sorted(set(chosen) & set(notice.separate_consent_categories))
    if (notice.requires_separate_consent or sensitive) and not separate_consent:
        what = f"the sensitive categories {sensitive}" if sensitive else notice.purpose
        raise SeparateConsentRequired(
            f"{what} need a separate acknowledgement: send `separate_consent: true` once the "
            "resident has confirmed it on its own screen",
            detail_zh="该授权涉及敏感个人信息或向第三方提供，需要您单独同意",
            purpose=notice.purpose)
    in_force = session.scalars(
        select(ConsentRecord).where(ConsentRecord.resident_id == resident.id,
                                    ConsentRecord.purpose == notice.purpose,
                                    ConsentRecord.status == "active")
        .with_for_update()).first()
    if in_force is not None:
        live = is_valid(session, in_force, now)
        if live and in_force.notice_id == notice.id and list(in_force.categories) == chosen:
            event, receipt = _receipt_of(session, in_force)
            return Outcome(in_force, event, receipt, created=False)
        old_notice = session.get(Notice, in_force.notice_id)
        assert old_notice is not None
        if live:
            if _end(session, in_force, "withdrawn", now):
                _event(session, in_force, old_notice, "withdrawn", now=now, actor=actor,
                       channel=channel, language=language, reason="replaced by a new consent",
                       signing=signing)
        elif _end(session, in_force, "expired", now):
            _event(session, in_force, old_notice, "expired", now=now, actor="system",
                   channel="system", language=language)
    before = session.scalar(select(exists().where(
        ConsentRecord.resident_id == resident.id, ConsentRecord.purpose == notice.purpose)))
    record = ConsentRecord(
        id=uuid.uuid4(), resident_id=resident.id, purpose=notice.purpose, notice_id=notice.id,
        categories=chosen, separate_consent=bool(separate_consent), status="active",
        given_at=now, expires_at=expiry(notice, now), ended_at=None)
    session.add(record)
    session.flush()  # the partial unique index refuses a second active record here
    event = _event(session, record, notice, "renewed" if before else "given", now=now,
                   actor=actor, channel=channel, language=language, signing=signing)
    _mark_stale(session, resident.id, notice.purpose, now)
    return Outcome(record, event, event.receipt, created=True)


def grant(uow: UnitOfWork, resident: Resident, notice_id: uuid.UUID, *, now: datetime,
          signing: Signing, categories: Iterable[str] | None = None,
          separate_consent: bool = False, channel: str = "api", language: str = "zh",
          actor: str | None = None) -> Outcome:
    """Record the resident's explicit consent to the current notice `notice_id` (idempotent)."""
    resident_id = resident.id
    actor = actor or f"resident:{resident_id}"
    for attempt in range(2):
        try:
            outcome = _grant(uow.session, resident, notice_id, categories=categories,
                             separate_consent=separate_consent, now=now, signing=signing,
                             channel=channel, language=language, actor=actor)
            if outcome.created:
                uow.commit()
            return outcome
        except IntegrityError:
            # A concurrent grant for the same purpose committed first; look again.
            uow.session.rollback()
            resident = uow.session.get(Resident, resident_id) or resident
            if attempt:
                raise ConsentConflict(
                    "another change to this consent happened at the same time; retry",
                    detail_zh="授权正在被同时修改，请重试") from None
    raise AssertionError("unreachable")


def withdraw(uow: UnitOfWork, resident: Resident, consent_id: uuid.UUID, *, now: datetime,
             signing: Signing, channel: str = "api", language: str = "zh",
             actor: str | None = None) -> Outcome:
    """Withdraw the resident's consent `consent_id`: effective at once, receipt returned."""
    session = uow.session
    # The row lock first: it waits for a use of a token in flight (which holds it shared) to
    # commit, and then keeps every later use out until this commits (see the module docstring).
    record = session.scalars(
        select(ConsentRecord).where(ConsentRecord.id == consent_id,
                                    ConsentRecord.resident_id == resident.id)
        .with_for_update().execution_options(populate_existing=True)).first()
    if record is None:
        raise ConsentNotFound(f"you have no consent {consent_id}", detail_zh="未找到该授权记录")
    if not is_valid(session, record, now):
        state = record.status if record.status != "active" else "expired"
        raise ConsentNotActive(f"this consent is already {state}; nothing to withdraw",
                               detail_zh="该授权已失效或已撤回，无需再次撤回", consent_status=state)
    now = _effective(session, record, now)
    if not _end(session, record, "withdrawn", now):
        raise ConsentNotActive("this consent was withdrawn a moment ago",
                               detail_zh="该授权已撤回", consent_status="withdrawn")
    notice = session.get(Notice, record.notice_id)
    assert notice is not None
    event = _event(session, record, notice, "withdrawn", now=now,
                   actor=actor or f"resident:{resident.id}", channel=channel,
                   language=language, signing=signing)
    _mark_stale(session, resident.id, record.purpose, now)
    uow.commit()
    return Outcome(record, event, event.receipt, created=True)


def withdraw_all(session: Session, resident: Resident, *, now: datetime, signing: Signing,
                 reason: str, channel: str = "api", actor: str | None = None) -> list[Outcome]:
    """Withdraw every consent in force (account erasure), with receipts; no commit."""
    outcomes = []
    for record in session.scalars(
            select(ConsentRecord).where(ConsentRecord.resident_id == resident.id,
                                        ConsentRecord.status == "active")
            # the order a token's use takes its shared locks in (pc_consume_token): no deadlock
            .order_by(ConsentRecord.given_at, ConsentRecord.id).with_for_update()).all():
        at = _effective(session, record, now)
        if not _end(session, record, "withdrawn", at):
            continue
        notice = session.get(Notice, record.notice_id)
        assert notice is not None
        event = _event(session, record, notice, "withdrawn", now=at,
                       actor=actor or f"resident:{resident.id}", channel=channel, reason=reason,
                       signing=signing)
        _mark_stale(session, resident.id, record.purpose, now)
        outcomes.append(Outcome(record, event, event.receipt, created=True))
    return outcomes


def invalidate_outdated(session: Session, notice: Notice, *, now: datetime, actor: str) -> int:
    """Invalidate consents in force under older versions of `notice`'s purpose (no commit)."""
    stale = list(session.scalars(
        select(ConsentRecord).where(ConsentRecord.purpose == notice.purpose,
                                    ConsentRecord.status == "active",
                                    ConsentRecord.notice_id != notice.id)
        .with_for_update()))
    count = 0
    for record in stale:
        old = session.get(Notice, record.notice_id)
        assert old is not None
        if _end(session, record, "invalidated", now):
            _event(session, record, old, "invalidated", now=now, actor=actor, channel="system",
                   reason=f"notice version {notice.version} changed the scope")
            _mark_stale(session, record.resident_id, record.purpose, now)
            count += 1
    return count


def expire_due(uow: UnitOfWork, now: datetime, *, limit: int = 1000) -> int:
    """Record `expired` for consents past their validity (a periodic job; safe to repeat)."""
    session = uow.session
    due = list(session.scalars(
        select(ConsentRecord).where(ConsentRecord.status == "active",
                                    ConsentRecord.expires_at <= now)
        .order_by(ConsentRecord.expires_at).limit(limit).with_for_update(skip_locked=True)))
    count = 0
    for record in due:
        notice = session.get(Notice, record.notice_id)
        assert notice is not None
        if _end(session, record, "expired", now):
            _event(session, record, notice, "expired", now=now, actor="system",
                   channel="system", reason="validity period ended")
            _mark_stale(session, record.resident_id, record.purpose, now)
            count += 1
    uow.commit()
    return count


def grant_demo_consents(uow: UnitOfWork, resident: Resident, now: datetime, *,
                        signer: Signer | None = None, issuer: str = DEFAULT_ISSUER,
                        supplements: list[str] | None = None) -> int:
    """Demo seed: scoring for every normal category (or the core and only `supplements`) plus
    a few scenarios; safe to repeat.

    Pass `signer` to give the demo grants receipts. Returns how many consents were created.
    """
    session = uow.session
    signing = Signing(signer, issuer)
    created = 0
    for purpose in ("scoring", *(f"scenario:{code}" for code in DEMO_SCENARIOS)):
        notice = current(session, purpose)
        if notice is None:
            continue
        categories = None
        if purpose == SCORING:
            categories = supplements if supplements is not None else [
                c for c in notice.categories if c not in notice.separate_consent_categories]
        outcome = _grant(session, resident, notice.id, categories=categories,
                         separate_consent=notice.requires_separate_consent, now=now,
                         signing=signing, channel="demo", language="zh",
                         actor=f"resident:{resident.id}")
        created += outcome.created
    uow.commit()
    return created


@dataclass(frozen=True)
class Export:
    """An auditor's export: the JSON `document` (format=json) or the `csv` text and its file
    name (format=csv)."""

    filename: str
    document: dict[str, Any] | None = None
    csv: str | None = None


def export_for_auditor(uow: UnitOfWork, operator: Operator, *, format: str, now: datetime,
                       resident_id: uuid.UUID | None = None, since: datetime | None = None,
                       until: datetime | None = None, after_seq: int = 0) -> Export:
    """Consent events for an auditor (everyone's, or one resident's), audited; one commit.

    The export is recorded (and, for one resident, put in their access log as a read of their
    data, 查询记录) and committed before the events are read.
    """
    from rights.view import operator_read  # rights owns the access log's vocabulary

    session = uow.session
    audit.record(session, actor=f"operator:{operator.client_id}", action="consent.exported",
                 now=now, subject=str(resident_id) if resident_id else "all",
                 data={"format": format})
    if resident_id and session.get(Resident, resident_id) is not None:
        operator_read(session, resident_id=resident_id, operator=operator,
                      action="consent_history_read", now=now,
                      learned={"seen": ["consent_history"]})
    uow.commit()
    filename = f"consents-{resident_id or 'all'}.{format}"
    if format == "csv":
        return Export(filename, csv="".join(history.export_csv(
            session, resident_id=resident_id, since=since, until=until)))
    return Export(filename, document=history.export_json(
        session, resident_id=resident_id, since=since, until=until, after_seq=after_seq))
