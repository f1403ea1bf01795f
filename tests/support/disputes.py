"""Arrangements shared by the rights tests (disputes, repair, review, export, erasure; no tests).

A resident with a good history plus a few negative records, pushed by a real data source, with
consent to scoring granted through the consent API; a second resident with records of their
own; operators of each role.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from app.runtime import runtime
from core.identity import Person, create_resident
from core.recordops import write_internal
from tests.support.factories import T0, bearer, id_number, login, new_operator, new_source
from tests.support.tokens import good_history, grant, push, rec

A, B = 21, 22


def arrange(app: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """A resident with one negative record; (resident id, record id)."""
    with app.app_context(), runtime().uow() as uow:
        resident = create_resident(uow.session, runtime().keyring,
                                   Person("周九", id_number(40), None), now=T0)
        record = write_internal(uow.session, resident_id=resident.id,
                                category="scenario_performance", type="deposit_defaulted",
                                source_record_id="waiver-1", occurred_at=T0 - timedelta(days=1),
                                now=T0)
        uow.commit()
        return resident.id, record.id


def negatives(n: int) -> list[dict]:
    """An old and a recent administrative penalty, a late utility payment, a debtor listing."""
    return [
        rec(n, "pen-old", "public_credit", "admin_penalty", "2026-03-01T00:00:00Z"),
        rec(n, "pen-new", "public_credit", "admin_penalty", "2026-10-01T00:00:00Z"),
        rec(n, "late", "utilities", "payment_overdue", "2026-09-20T00:00:00Z",
            amount_fen=12000),
        rec(n, "debtor", "judicial", "dishonest_debtor", "2025-06-01T00:00:00Z"),
    ]


def sign_in(client: Any, idp: Any, clock: Any, n: int, name: str) -> str:
    """Log in at the clock's current time (the assertion is only valid for minutes)."""
    return login(client, idp, n, name, now=clock.now())


class Residents:
    """Resident A (with negatives and scoring consent) and resident B; operators by role."""

    def __init__(self, app: Any, client: Any, idp: Any, clock: Any) -> None:
        self.app, self.client, self.idp, self.clock = app, client, idp, clock
        _src, self.source_key = new_source(app)
        push(client, self.source_key, good_history(A) + negatives(A) + good_history(B)
             + negatives(B))
        self.a = sign_in(client, idp, clock, A, "赵六")
        self.b = sign_in(client, idp, clock, B, "钱七")
        self.scoring_consent = grant(client, self.a, "scoring")
        grant(client, self.b, "scoring")
        self.reviewer, self.reviewer_key = new_operator(app, "reviewer")
        self.auditor, self.auditor_key = new_operator(app, "auditor")
        self.admin, self.admin_key = new_operator(app, "admin")

    def records(self, token: str | None = None) -> list[dict]:
        response = self.client.get("/api/v1/me/records", headers=bearer(token or self.a))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def record(self, type_: str, when: str = "", token: str | None = None) -> dict:
        return next(r for r in self.records(token)
                    if r["type"] == type_ and r["occurred_at"].startswith(when))

    def score(self, token: str | None = None) -> int:
        response = self.client.get("/api/v1/me/score", headers=bearer(token or self.a))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["score"]

    def dispute(self, record_id: str, reason: str = "这笔罚款已被撤销", token: str | None = None,
                **extra: Any) -> Any:
        return self.client.post("/api/v1/me/disputes", headers=bearer(token or self.a),
                                json={"record_id": record_id, "reason": reason, **extra})

    def resolve(self, dispute_id: str, outcome: str, key: str | None = None,
                note: str = "已核实", **extra: Any) -> Any:
        return self.client.post(f"/admin/v1/disputes/{dispute_id}/resolve",
                                headers=bearer(key or self.reviewer_key),
                                json={"outcome": outcome, "note": note, **extra})

    def notifications(self, token: str | None = None) -> list[dict]:
        response = self.client.get("/api/v1/me/notifications", headers=bearer(token or self.a))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def access_log(self, token: str | None = None) -> list[dict]:
        response = self.client.get("/api/v1/me/access-log", headers=bearer(token or self.a))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

