"""Settlement for hospitals (先诊后付) and deposit partners (免押): their holds, bills and
waivers, listed with filters and a cursor, and a signed daily statement.

Design overview
---------------
* A partner sees only its own rows, each with the resident's pairwise pseudonym (`sub`) and the
  ids and references the partner sent. Never a tier, a credit line, a deposit cap or an
  available amount: `credit_holds.line_fen` and `deposit_waivers.cap_fen` depend on the tier and
  never leave (decision-only disclosure — what a partner sees is the same for every tier).
* A statement covers one day (Asia/Shanghai) and lists every movement on the partner's balances,
  dated when it happened. Hospitals: `held` (open authorizations: + authorized, − captured,
  voided or expired) and `owed` (unpaid bills: + billed, − each payment). Deposit partners:
  `active` (waived deposits out: + waived, − returned, − defaulted) and `defaulted` (unsettled
  defaults: + defaulted, − settled). The movements are read from the rows the ledger keeps
  (`credit_holds`, `credit_bills`, `credit_payments`, `deposit_waivers`), so each balance's
  closing = opening + its lines, consecutive days chain, and a closing balance is what those
  rows hold at the end of the day.
* An operator (admin or auditor) may read any hospital's or deposit partner's statement
  (`operator_statement`); the read is audited.
* The statement is sealed with one signature (`reports.signing`: compact JWS, EdDSA, verified
  against /.well-known/report-keys.json, typ `pc-statement+jws`) over a small JSON: the
  balances, the SHA-256 of the statement's canonical JSON (`core.canonical`) and of its CSV
  rendering. The seal is small enough for an HTTP header, so one signature covers both forms.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, literal, null, or_, select, union_all
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Session

from core import audit
from core.canonical import canonical
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.idempotency import iso
from core.identity import Partner
from core.signing import Signer
from reports import signing
from rewards.credit.models import CreditBill, CreditHold, CreditPayment
from rewards.entitlements import partner_by_client_id
from rewards.errors import UnknownPartner
from rewards.models import PartnerPseudonym
from rewards.waivers.models import DepositWaiver

DAY_ZONE = ZoneInfo("Asia/Shanghai")  # a statement's day is a calendar day in Shenzhen
TYP = "pc-statement+jws"
MAX_PAGE = 200
ACCOUNTS = {"hospital": ("held", "owed"), "deposit_partner": ("active", "defaulted")}
CSV_COLUMNS = ("at", "type", "account", "amount_fen", "sub", "authorization_id", "bill_id",
               "payment_id", "waiver_id", "out_no")


class InvalidCursor(InvalidInput):
    code, status, title = "invalid_cursor", 422, "The cursor is not one this list gave"


# -- lists ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Listing:
    """What one partner's list is read from: the table and what an item shows."""

    model: Any
    fields: tuple[str, ...]  # the item's columns (never line_fen or cap_fen)
    id_key: str


LISTINGS = {
    "holds": Listing(CreditHold,
                     ("out_request_no", "amount_fen", "status", "created_at", "expires_at",
                      "closed_at"), "authorization_id"),
    "bills": Listing(CreditBill,
                     ("hold_id", "out_bill_no", "amount_fen", "paid_fen", "status",
                      "created_at", "due_at", "overdue_at", "paid_at"), "bill_id"),
    "waivers": Listing(DepositWaiver,
                       ("scenario", "out_order_no", "item", "deposit_fen", "status",
                        "created_at", "due_at", "completed_at", "defaulted_at", "settled_at"),
                       "waiver_id"),
}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([iso(at), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        found = datetime.fromisoformat(at.replace("Z", "+00:00")), uuid.UUID(row_id)
    except (ValueError, TypeError, AttributeError) as exc:  # not ours: any shape at all
        raise InvalidCursor("cursor: pass back the next_cursor of the previous page",
                            detail_zh="cursor 无效：请使用上一页返回的 next_cursor") from exc
    if found[0].tzinfo is None:
        raise InvalidCursor("cursor: pass back the next_cursor of the previous page")
    return found


def _sub(model: Any) -> Any:
    return and_(PartnerPseudonym.partner_id == model.partner_id,
                PartnerPseudonym.resident_id == model.resident_id)


def listing(session: Session, partner: Partner, what: str, *, status: str | None,
            start: datetime | None, end: datetime | None, cursor: str | None,
            limit: int) -> Page:
    """The partner's `what` (holds | bills | waivers), oldest first, created in [start, end)
    and in `status` when given; `limit` an answer, then `next_cursor` for the rest."""
    spec = LISTINGS[what]
    model = spec.model
    query = (select(model, PartnerPseudonym.pseudonym)
             .outerjoin(PartnerPseudonym, _sub(model))
             .where(model.partner_id == partner.id)
             .order_by(model.created_at, model.id).limit(min(limit, MAX_PAGE) + 1))
    if status is not None:
        query = query.where(model.status == status)
    if start is not None:
        query = query.where(model.created_at >= start)
    if end is not None:
        query = query.where(model.created_at < end)
    if cursor is not None:
        at, row_id = _after(cursor)
        query = query.where(or_(model.created_at > at,
                                and_(model.created_at == at, model.id > row_id)))
    rows = list(session.execute(query))
    more = len(rows) > min(limit, MAX_PAGE)
    rows = rows[:min(limit, MAX_PAGE)]
    items = [_item(spec, row, sub) for row, sub in rows]
    last = rows[-1][0] if rows else None
    return Page(items, _cursor(last.created_at, last.id) if more and last is not None else None)


def _item(spec: Listing, row: Any, sub: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {spec.id_key: str(row.id), "sub": sub}
    for name in spec.fields:
        value = getattr(row, name)
        key = "authorization_id" if name == "hold_id" else name
        out[key] = iso(value) if isinstance(value, datetime) else (
            str(value) if isinstance(value, uuid.UUID) else value)
    if isinstance(row, CreditBill):
        out["owed_fen"] = row.owed_fen
    return out


# -- the daily statement --------------------------------------------------------------------------

def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in Asia/Shanghai."""
    start = datetime.combine(day, time(0), tzinfo=DAY_ZONE)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=DAY_ZONE)


def _movement(at: Any, type_: str, account: str, amount: Any, sub: Any, *,
              authorization: Any = None, bill: Any = None, payment: Any = None,
              waiver: Any = None, out_no: Any = None) -> list[Any]:
    none = null().cast(PG_UUID(as_uuid=True))
    return [at.label("at"), literal(type_).label("type"), literal(account).label("account"),
            amount.label("amount_fen"), sub.label("sub"),
            (none if authorization is None else authorization).label("authorization_id"),
            (none if bill is None else bill).label("bill_id"),
            (none if payment is None else payment).label("payment_id"),
            (none if waiver is None else waiver).label("waiver_id"),
            (null() if out_no is None else out_no).label("out_no")]


def _hospital(partner_id: uuid.UUID) -> list[Select[Any]]:
    h, b, p, sub = CreditHold, CreditBill, CreditPayment, PartnerPseudonym.pseudonym

    def holds(*columns: Any) -> Select[Any]:
        return select(*columns).select_from(h).outerjoin(PartnerPseudonym, _sub(h)) \
            .where(h.partner_id == partner_id)

    def bills(*columns: Any) -> Select[Any]:
        return select(*columns).select_from(b).outerjoin(PartnerPseudonym, _sub(b)) \
            .where(b.partner_id == partner_id)

    return [
        holds(*_movement(h.created_at, "authorized", "held", h.amount_fen, sub,
                         authorization=h.id, out_no=h.out_request_no)),
        *(holds(*_movement(h.closed_at, status, "held", -h.amount_fen, sub,
                           authorization=h.id, out_no=h.out_request_no))
          .where(h.status == status) for status in ("captured", "voided", "expired")),
        bills(*_movement(b.created_at, "billed", "owed", b.amount_fen, sub,
                         authorization=b.hold_id, bill=b.id, out_no=b.out_bill_no)),
        bills(*_movement(p.created_at, "paid", "owed", -p.amount_fen, sub,
                         authorization=b.hold_id, bill=b.id, payment=p.id,
                         out_no=b.out_bill_no)).join(p, p.bill_id == b.id),
    ]


def _deposit(partner_id: uuid.UUID) -> list[Select[Any]]:
    w, sub = DepositWaiver, PartnerPseudonym.pseudonym

    def waivers(at: Any, type_: str, account: str, sign: int) -> Select[Any]:
        return (select(*_movement(at, type_, account, w.deposit_fen * sign, sub, waiver=w.id,
                                  out_no=w.out_order_no))
                .select_from(w).outerjoin(PartnerPseudonym, _sub(w))
                .where(w.partner_id == partner_id, at.is_not(None)))

    return [waivers(w.created_at, "waived", "active", 1),
            waivers(w.completed_at, "returned", "active", -1),
            waivers(w.defaulted_at, "defaulted", "active", -1),
            waivers(w.defaulted_at, "defaulted", "defaulted", 1),
            waivers(w.settled_at, "settled", "defaulted", -1)]


@dataclass(frozen=True)
class Statement:
    """A partner's settlement statement for one day: the document, its CSV rendering, and
    `jws`, the signed seal over both (their SHA-256 digests and the balances)."""

    document: dict[str, Any]
    csv: str
    jws: str


def statement(session: Session, signer: Signer, partner: Partner, *, day: date,
              now: datetime) -> Statement:
    """The partner's signed statement for `day` (hospitals and deposit partners only)."""
    start, end = day_bounds(day)
    parts = _hospital(partner.id) if partner.kind == "hospital" else _deposit(partner.id)
    moves = union_all(*parts).subquery()
    opening = dict.fromkeys(ACCOUNTS[partner.kind], 0)
    for account, total in session.execute(
            select(moves.c.account, func.sum(moves.c.amount_fen))
            .where(moves.c.at < start).group_by(moves.c.account)):
        opening[account] = int(total)
    rows = session.execute(select(moves).where(moves.c.at >= start, moves.c.at < end)
                           .order_by(moves.c.at, moves.c.type, moves.c.account, moves.c.out_no))
    lines = [_line(row) for row in rows]
    balances = {a: {"opening_fen": o, "closing_fen": o + sum(
        line["amount_fen"] for line in lines if line["account"] == a)}
        for a, o in opening.items()}
    totals: dict[str, int] = {}
    for line in lines:
        totals[line["type"]] = totals.get(line["type"], 0) + abs(line["amount_fen"])
    document: dict[str, Any] = {
        "partner": {"client_id": partner.client_id, "name": partner.name},
        "kind": partner.kind, "date": day.isoformat(),
        "period": {"from": iso(start), "to": iso(end)}, "generated_at": iso(now),
        "balances": balances, "totals": totals, "count": len(lines), "lines": lines}
    text = as_csv(document)
    seal = {"partner": partner.client_id, "kind": partner.kind, "date": day.isoformat(),
            "balances": balances, "count": len(lines), "generated_at": iso(now),
            "statement_sha256": hashlib.sha256(canonical(document)).hexdigest(),
            "csv_sha256": hashlib.sha256(text.encode()).hexdigest()}
    jws, _kid = signing.sign(signer, session, seal, typ=TYP)
    return Statement(document, text, jws)


def operator_statement(uow: UnitOfWork, signer: Signer, *, operator: str, client_id: str,
                       day: date, now: datetime) -> Statement:
    """A hospital's or deposit partner's statement for `day`, read by the operator `operator`
    (a client id): the read is audited. Commits once."""
    partner = partner_by_client_id(uow.session, client_id)
    if partner.kind not in ACCOUNTS:
        raise UnknownPartner(f"{client_id!r} is not a hospital or deposit partner",
                             detail_zh="该机构不是医院或免押合作方，没有结算对账单")
    found = statement(uow.session, signer, partner, day=day, now=now)
    audit.record(uow.session, actor=f"operator:{operator}", action="settlement.statement.read",
                 now=now, subject=partner.client_id, data={"date": day.isoformat()})
    uow.commit()
    return found


def _line(row: Any) -> dict[str, Any]:
    return {"at": iso(row.at), "type": row.type, "account": row.account,
            "amount_fen": int(row.amount_fen), "sub": row.sub,
            **{k: None if getattr(row, k) is None else str(getattr(row, k))
               for k in ("authorization_id", "bill_id", "payment_id", "waiver_id")},
            "out_no": row.out_no}


def as_csv(document: dict[str, Any]) -> str:
    """The statement as CSV: a header, an `opening_balance` row per balance, one row per line,
    a `closing_balance` row per balance (opening + that account's lines = closing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    padding = [""] * (len(CSV_COLUMNS) - 4)
    period = document["period"]
    for account, balance in document["balances"].items():
        writer.writerow([period["from"], "opening_balance", account, balance["opening_fen"],
                         *padding])
    for line in document["lines"]:
        writer.writerow(["" if line[c] is None else line[c] for c in CSV_COLUMNS])
    for account, balance in document["balances"].items():
        writer.writerow([period["to"], "closing_balance", account, balance["closing_fen"],
                         *padding])
    return out.getvalue()
