"""What 先诊后付 tells the resident when a bill is posted (`services.capture` passes it to the
PostgreSQL function that posts the bill)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.idempotency import iso
from rewards.credit.errors import yuan


@dataclass(frozen=True)
class Notice:
    kind: str
    dedupe_key: str
    title: tuple[str, str]  # (zh, en)
    body: tuple[str, str]
    data: dict[str, Any]


def bill_posted(partner_name: str, bill_id: uuid.UUID, amount_fen: int,
                due_at: datetime) -> Notice:
    """The notice of a new bill of `amount_fen` from `partner_name`, due at `due_at`."""
    day = due_at.date().isoformat()
    return Notice(
        kind="medical_credit_bill", dedupe_key=f"credit-bill:{bill_id}",
        title=("先诊后付账单已生成", "A credit care bill was posted"),
        body=(f"{partner_name} 账单 {yuan(amount_fen)} 元，请于 {day} 前还款。",
              f"{partner_name} posted a bill of ¥{yuan(amount_fen)}; please pay by {day}."),
        data={"bill_id": str(bill_id), "amount_fen": amount_fen, "due_at": iso(due_at)})
