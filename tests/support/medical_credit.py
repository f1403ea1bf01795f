"""Arrangements shared by the 先诊后付 and deposit-waiver tests (no tests here)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select

from tests.support.factories import bearer, cli, id_number, new_partner
from tests.support.tokens import World

BASE = "/partner/v1/medical-credit"
WAIVERS = "/partner/v1/deposit-waivers"


class Credit(World):
    """The token world plus a payment channel and short helpers for the partner calls."""

    def __init__(self, app: Any, client: Any, idp: Any) -> None:
        super().__init__(app, client, idp)
        self.idp = idp
        self.channel, self.channel_key = new_partner(app, "payment_channel", ["medical_credit"])

    def advance(self, **delta: float) -> None:
        """Move the clock and sign in again (a session lasts an hour)."""
        from app.runtime import runtime

        with self.app.app_context():
            clock = runtime().clock
            clock.advance(**delta)
            assertion = self.idp.assertion(id_number(7), "王五", now=clock.now())
        response = self.client.post("/api/v1/auth/session", json={"assertion": assertion})
        assert response.status_code == 201, response.get_json()
        self.resident = response.get_json()["token"]

    def authorize(self, amount: int, *, token: str | None = None, key: str | None = None,
                  no: str | None = None) -> Any:
        return self.client.post(f"{BASE}/authorizations", headers=bearer(key or self.hospital_key),
                                json={"token": token or self.token(),
                                      "out_request_no": no or uuid.uuid4().hex,
                                      "amount_fen": amount})

    def hold(self, amount: int) -> dict:
        response = self.authorize(amount)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def capture(self, authorization_id: str, amount: int, *, no: str | None = None,
                key: str | None = None) -> Any:
        return self.client.post(f"{BASE}/authorizations/{authorization_id}/capture",
                                headers=bearer(key or self.hospital_key),
                                json={"amount_fen": amount, "out_bill_no": no or uuid.uuid4().hex})

    def bill(self, amount: int, hold: int | None = None) -> dict:
        held = self.hold(hold or amount)
        response = self.capture(held["authorization_id"], amount)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def void(self, authorization_id: str, key: str | None = None) -> Any:
        return self.client.post(f"{BASE}/authorizations/{authorization_id}/void",
                                headers=bearer(key or self.hospital_key))

    def pay(self, bill_id: str, amount: int, *, no: str | None = None,
            key: str | None = None) -> Any:
        return self.client.post(f"{BASE}/bills/{bill_id}/payments",
                                headers=bearer(key or self.channel_key),
                                json={"out_payment_no": no or uuid.uuid4().hex,
                                      "amount_fen": amount})

    def waive(self, deposit: int, *, due_at: str = "2026-11-02T08:00:00Z",
              token: str | None = None, key: str | None = None, no: str | None = None,
              item: str = "单车 #SZ-1024") -> Any:
        return self.client.post(WAIVERS, headers=bearer(key or self.bikes_key), json={
            "token": token or self.token("deposit_waiver_bike", self.bikes),
            "out_order_no": no or uuid.uuid4().hex, "deposit_fen": deposit, "due_at": due_at,
            "item": item})

    def waiver(self, deposit: int = 29900, **kw: Any) -> dict:
        response = self.waive(deposit, **kw)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def close(self, waiver_id: str, how: str, key: str | None = None) -> Any:
        return self.client.post(f"{WAIVERS}/{waiver_id}/{how}",
                                headers=bearer(key or self.bikes_key))

    def my_waivers(self) -> list[dict]:
        response = self.client.get("/api/v1/me/deposit-waivers", headers=bearer(self.resident))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def mine(self) -> dict:
        response = self.client.get("/api/v1/me/medical-credit", headers=bearer(self.resident))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def entitlement(self, scenario: str = "medical_credit") -> dict:
        response = self.client.get("/api/v1/me/entitlements", headers=bearer(self.resident))
        return next(e for e in response.get_json()["items"] if e["scenario"] == scenario)

    def notifications(self, kind: str) -> list[dict]:
        response = self.client.get("/api/v1/me/notifications?limit=200",
                                   headers=bearer(self.resident))
        return [n for n in response.get_json()["items"] if n["kind"] == kind]

    def jobs(self) -> dict:
        result = cli(self.app, "jobs", "run")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    def records(self, type_: str) -> list[Any]:
        from app.runtime import runtime
        from core.records import Record

        with self.app.app_context(), runtime().uow() as uow:
            return list(uow.session.scalars(select(Record).where(Record.type == type_)))

    def count(self, model: Any) -> int:
        from app.runtime import runtime

        with self.app.app_context(), runtime().uow() as uow:
            return int(uow.session.scalar(select(func.count()).select_from(model)))

    def rows(self, model: Any) -> list[Any]:
        from app.runtime import runtime

        with self.app.app_context(), runtime().uow() as uow:
            return list(uow.session.scalars(select(model)))

    def row(self, model: Any, key: Any) -> Any:
        from app.runtime import runtime

        with self.app.app_context(), runtime().uow() as uow:
            return uow.session.get(model, key)

    def snapshot(self) -> tuple[int, ...]:
        """The account's balances and the count of every row a partner write could add."""
        from core.idempotency import PartnerRequest
        from core.notifications import Notification
        from rewards.credit.models import CreditBill, CreditHold
        from rewards.models import AccessEntry, ConsumedToken

        return (*self.balances(), *(self.count(m) for m in (
            CreditHold, CreditBill, ConsumedToken, AccessEntry, Notification, PartnerRequest)))

    def opened(self) -> None:
        """Give the resident an account (their first authorization opens it), nothing held."""
        held = self.hold(100)
        assert self.void(held["authorization_id"]).status_code == 200

    def balances(self) -> tuple[int, int, int]:
        from app.runtime import runtime
        from rewards.credit.models import CreditAccount

        with self.app.app_context(), runtime().uow() as uow:
            acct = uow.session.scalars(select(CreditAccount)).first()
            return (0, 0, 0) if acct is None else (acct.line_fen, acct.held_fen, acct.owed_fen)


def problem(response: Any, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code, body
    return body


