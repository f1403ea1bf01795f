"""The resident's data export (PIPL art. 45): everything held about them, as JSON with a schema.

The document follows `SCHEMA` (JSON Schema 2020-12, served at `SCHEMA_PATH`); its `$schema`
member names the schema's URL. Sections: the profile (decrypted — it is the resident's own
data), consents with their events and signed receipts and the notice texts they refer to,
records with their disputes and repairs, every stored score with its explanation and inputs,
the access log (查询记录), notifications, disputes, repairs, review requests, sessions, the
statement of an earlier erasure of the account (one the person signed in to again after erasing
it, re-attached to what was retained), and one section per provider module in `PROVIDERS`
(credit care, deposit waivers, points) — each module has `export_section(session, resident_id)
-> dict` and `retention(session, resident_id, now)`.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.history import export_json as consent_events
from consent.history import records_for as consent_records
from core.crypto import Keyring
from core.db import UnitOfWork
from core.idempotency import iso
from core.identity import Resident, SessionToken, read_personal
from core.notifications import Notification
from rewards.models import AccessEntry
from rights import disputes, repair, reviews
from rights.models import Erasure
from rights.view import records_for
from scoring.services import explanation_of
from scoring.store import Score

FORMAT = "pengcheng-export/1"
SCHEMA_PATH = "/api/v1/me/export/schema"
PROVIDERS: tuple[str, ...] = (
    "rewards.credit.rights",
    "rewards.waivers.rights",
    "rewards.points.rights",
)


def providers() -> list[tuple[str, ModuleType]]:
    """(section name, module) of every provider: `rewards.credit.rights` -> `credit`."""
    return [(name.split(".")[-2], importlib.import_module(name)) for name in PROVIDERS]


def _profile(session: Session, keyring: Keyring, resident: Resident) -> dict[str, Any]:
    person = read_personal(session, keyring, resident)
    return {"id": str(resident.id), "name": person.name, "id_number": person.id_number,
            "phone": person.phone, "birth_year": resident.birth_year,
            "district": resident.district, "status": resident.status,
            "created_at": iso(resident.created_at)}


def _consents(session: Session, resident: Resident) -> dict[str, Any]:
    events = consent_events(session, resident_id=resident.id, limit=100_000)
    records = [{"id": str(r.id), "purpose": r.purpose, "notice_id": str(r.notice_id),
                "categories": list(r.categories), "separate_consent": r.separate_consent,
                "status": r.status, "given_at": iso(r.given_at),
                "expires_at": iso(r.expires_at), "ended_at": iso(r.ended_at)}
               for r in consent_records(session, resident.id)]
    return {"records": records, "events": events["events"], "notices": events["notices"]}


def _scores(session: Session, resident: Resident) -> list[dict[str, Any]]:
    rows = session.scalars(select(Score).where(Score.resident_id == resident.id)
                           .order_by(Score.computed_at, Score.basis_version))
    return [{"id": str(s.id), "score": s.score, "tier": s.tier, "model": s.model_id,
             "computed_at": iso(s.computed_at), "trigger": s.trigger,
             "inputs_hash": s.inputs_hash, "inputs": s.inputs,
             "explanation": explanation_of(session, s)}
            for s in rows]


def _access_log(session: Session, resident: Resident) -> list[dict[str, Any]]:
    rows = session.scalars(select(AccessEntry).where(AccessEntry.resident_id == resident.id)
                           .order_by(AccessEntry.at, AccessEntry.id))
    return [{"at": iso(e.at), "actor": {"kind": e.actor_kind, "client_id": e.actor_id,
                                        "name": e.actor_name},
             "action": e.action, "scenario": e.scenario, "outcome": e.outcome,
             "learned": e.learned} for e in rows]


def _notifications(session: Session, resident: Resident) -> list[dict[str, Any]]:
    rows = session.scalars(select(Notification).where(Notification.resident_id == resident.id)
                           .order_by(Notification.created_at, Notification.id))
    return [{"id": str(n.id), "kind": n.kind, "title": {"zh": n.title_zh, "en": n.title_en},
             "body": {"zh": n.body_zh, "en": n.body_en}, "data": n.data,
             "created_at": iso(n.created_at), "read_at": iso(n.read_at)} for n in rows]


def _sessions(session: Session, resident: Resident) -> list[dict[str, Any]]:
    rows = session.scalars(select(SessionToken).where(SessionToken.resident_id == resident.id)
                           .order_by(SessionToken.created_at))
    return [{"channel": s.channel, "created_at": iso(s.created_at),
             "expires_at": iso(s.expires_at), "revoked_at": iso(s.revoked_at)} for s in rows]


def _erasure(session: Session, resident: Resident) -> dict[str, Any] | None:
    done = session.get(Erasure, resident.id)
    return None if done is None else done.statement


def export(uow: UnitOfWork, keyring: Keyring, resident: Resident, *, now: datetime,
           schema_url: str) -> dict[str, Any]:
    """Everything held about `resident`, JSON-ready, following `SCHEMA`. Reads only."""
    session = uow.session
    return {
        "$schema": schema_url,
        "format": FORMAT,
        "generated_at": iso(now),
        "profile": _profile(session, keyring, resident),
        "consents": _consents(session, resident),
        "records": records_for(uow, resident.id, now=now),
        "scores": _scores(session, resident),
        "access_log": _access_log(session, resident),
        "notifications": _notifications(session, resident),
        "disputes": [asdict(d) for d in disputes.mine(uow, resident.id, now=now)],
        "repairs": [asdict(r) for r in repair.mine(uow, resident.id)],
        "review_requests": [asdict(r) for r in reviews.mine(uow, resident.id)],
        "sessions": _sessions(session, resident),
        "erasure": _erasure(session, resident),
        "sections": {name: module.export_section(session, resident.id)
                     for name, module in providers()},
    }


# -- the schema -----------------------------------------------------------------------------------

def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None,
         extra: bool = False) -> dict[str, Any]:
    return {"type": "object", "required": sorted(required),
            "properties": {**required, **(optional or {})}, "additionalProperties": extra}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


STR = {"type": "string"}
STR_N = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time"}
TIME_N = {"type": ["string", "null"], "format": "date-time"}
INT = {"type": "integer"}
INT_N = {"type": ["integer", "null"]}
NUM_N = {"type": ["number", "null"]}
BOOL = {"type": "boolean"}
ANY_OBJ = {"type": "object"}
ANY_OBJ_N = {"type": ["object", "null"]}
LANG = _obj({"zh": STR, "en": STR})

_RECORD = _obj({
    "id": STR, "category": STR, "type": STR, "occurred_at": TIME, "status": STR,
    "severity": STR_N, "publicity_ends_at": TIME_N, "source": STR, "amount_fen": INT_N,
    "quantity": NUM_N, "counts": BOOL, "dispute": ANY_OBJ_N, "repair": ANY_OBJ_N,
})
_DISPUTE = _obj({
    "id": STR, "record_id": STR, "status": {"enum": ["open", "resolved"]}, "reason": STR,
    "evidence": STR_N, "opened_at": TIME, "due_at": TIME, "overdue": BOOL,
    "outcome": {"enum": [None, "upheld", "corrected", "removed"]}, "note": STR_N,
    "correction": ANY_OBJ_N, "resolved_at": TIME_N,
})
_REPAIR = _obj({
    "id": STR, "record_id": STR, "status": {"enum": ["pending", "approved", "rejected"]},
    "statement": STR_N, "pledge_hash": STR, "note": STR_N, "requested_at": TIME,
    "decided_at": TIME_N,
})
_REVIEW = _obj({
    "id": STR, "subject": {"enum": ["score", "eligibility"]}, "scenario": STR_N,
    "reason": STR, "snapshot": ANY_OBJ, "status": {"enum": ["open", "decided"]},
    "outcome": {"enum": [None, "confirmed", "changed"]}, "note": STR_N, "effect": ANY_OBJ_N,
    "requested_at": TIME, "decided_at": TIME_N,
})

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://pengcheng.sz.gov.cn" + SCHEMA_PATH,
    "title": "鹏城分 data export — everything held about one resident",
    "description": "PIPL art. 45 portability export. Times are UTC ISO 8601; money in fen.",
    **_obj({
        "$schema": STR,
        "format": {"const": FORMAT},
        "generated_at": TIME,
        "profile": _obj({
            "id": STR, "name": STR, "id_number": STR, "phone": STR_N, "birth_year": INT_N,
            "district": STR_N, "status": STR, "created_at": TIME}),
        "consents": _obj({
            "records": _list(_obj({
                "id": STR, "purpose": STR, "notice_id": STR, "categories": _list(STR),
                "separate_consent": BOOL, "status": STR, "given_at": TIME,
                "expires_at": TIME_N, "ended_at": TIME_N})),
            "events": _list({**_obj({
                "event_id": STR, "consent_id": STR, "purpose": STR, "event": STR, "at": TIME,
                "notice_id": STR, "notice_hash": STR, "receipt": STR_N}, extra=True),
                "description": "receipt: the compact JWS given for the event"}),
            "notices": {"type": "object", "additionalProperties": ANY_OBJ}}),
        "records": _list(_RECORD),
        "scores": _list(_obj({
            "id": STR, "score": INT, "tier": STR, "model": STR, "computed_at": TIME,
            "trigger": STR, "inputs_hash": STR, "explanation": ANY_OBJ, "inputs": {
                **ANY_OBJ, "description": "what the score was computed from: model id and "
                "hash, instant, categories counted, each feature's value (null: a supplement "
                "not added); with the spec (GET /api/v1/model/spec?model=<model>) anyone "
                "recomputes the score (docs/model-card.md)"}})),
        "access_log": _list(_obj({
            "at": TIME, "actor": _obj({"kind": STR, "client_id": STR, "name": STR}),
            "action": STR, "scenario": STR_N, "outcome": STR, "learned": ANY_OBJ})),
        "notifications": _list(_obj({
            "id": STR, "kind": STR, "title": LANG, "body": LANG, "data": ANY_OBJ,
            "created_at": TIME, "read_at": TIME_N})),
        "disputes": _list(_DISPUTE),
        "repairs": _list(_REPAIR),
        "review_requests": _list(_REVIEW),
        "sessions": _list(_obj({
            "channel": STR, "created_at": TIME, "expires_at": TIME, "revoked_at": TIME_N})),
        "erasure": {**ANY_OBJ_N, "description": "the statement of an earlier erasure of this "
                    "account (what was deleted, what was retained until when and why); null "
                    "if it was never erased"},
        "sections": {
            "type": "object",
            "description": "One section per provider (credit care, deposit waivers, points)",
            "required": [p.split(".")[-2] for p in PROVIDERS],
            "additionalProperties": ANY_OBJ,
        },
    }),
}
