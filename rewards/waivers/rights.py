"""What residents' rights (export, erasure) need from deposit waivers: the resident's data, and
what must outlive an erasure request and why."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.idempotency import iso
from core.identity import Partner
from rewards.waivers.models import DepositWaiver

DISPUTE_PERIOD = timedelta(days=3 * 365)  # Civil Code art. 188: the general limitation period


def export_section(session: Session, resident_id: uuid.UUID) -> dict[str, Any]:
    """Everything held about the resident in the deposit-waiver tables, JSON-ready."""
    rows = session.execute(
        select(DepositWaiver, Partner.client_id, Partner.name)
        .join(Partner, Partner.id == DepositWaiver.partner_id)
        .where(DepositWaiver.resident_id == resident_id).order_by(DepositWaiver.created_at))
    return {"waivers": [{
        "waiver_id": str(w.id), "partner": {"client_id": cid, "name": name},
        "scenario": w.scenario, "out_order_no": w.out_order_no, "item": w.item,
        "deposit_fen": w.deposit_fen, "cap_fen": w.cap_fen, "status": w.status,
        "created_at": iso(w.created_at), "due_at": iso(w.due_at),
        "completed_at": iso(w.completed_at), "defaulted_at": iso(w.defaulted_at),
        "settled_at": iso(w.settled_at),
        "record_id": str(w.record_id) if w.record_id else None} for w, cid, name in rows]}


def retention(session: Session, resident_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """What must be kept after an erasure request, until when and why. A waiver completed
    without a default need not be kept."""
    out: list[dict[str, Any]] = []
    for w in session.scalars(select(DepositWaiver).where(
            DepositWaiver.resident_id == resident_id,
            DepositWaiver.status.in_(("active", "defaulted", "settled")))):
        if w.status == "active":
            out.append({
                "what": f"deposit_waiver:{w.id}", "until": None,
                "why_zh": "免押物品尚未归还：归还前须保留",
                "why_en": "The item is still out under a waived deposit; kept until returned"})
        elif w.status == "defaulted":
            out.append({
                "what": f"deposit_waiver:{w.id}", "until": None,
                "why_zh": "免押违约尚未结清：结清前须保留，结清后再保留三年以备争议",
                "why_en": "An unsettled default is kept until settled, then three years for "
                          "disputes (Civil Code art. 188)"})
        elif w.settled_at is not None and w.settled_at + DISPUTE_PERIOD > now:
            out.append({
                "what": f"deposit_waiver:{w.id}", "until": iso(w.settled_at + DISPUTE_PERIOD),
                "why_zh": "已结清的免押违约保留三年以备争议（民法典第一百八十八条）",
                "why_en": "A settled default is kept three years after settlement for "
                          "disputes (Civil Code art. 188)"})
    return out
