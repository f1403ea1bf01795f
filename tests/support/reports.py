"""Arrangements shared by the report tests (no tests here): a resident with a good history,
scoring consent, and a few negative records that a no-violation certificate must list."""

from __future__ import annotations

from typing import Any

from tests.support.factories import bearer, id_number, login, new_source
from tests.support.tokens import good_history, grant, push, rec

N = 11  # the resident's ID number sequence (tests.factories.id_number)


class People:
    """`alice` has a clean record and scoring consent; `bob` has a traffic violation and an
    unpaid tax bill and has given no consent at all."""

    def __init__(self, app: Any, client: Any, idp: Any) -> None:
        self.client, self.idp = client, idp
        _src, self.source_key = new_source(app)
        push(client, self.source_key, good_history(N) + [
            rec(N, "old-traffic", "traffic", "violation", "2026-01-10T02:00:00Z"),  # past 90 days
            rec(N, "rep", "public_credit", "commendation", "2025-05-01T00:00:00Z"),
            rec(N + 1, "t1", "traffic", "violation", "2026-10-20T02:00:00Z"),
            rec(N + 1, "tax1", "tax", "arrears", "2026-08-01T00:00:00Z", amount_fen=120000),
            rec(N + 1, "u1", "utilities", "payment_on_time", "2026-09-05T00:00:00Z"),
        ])
        self.alice = login(client, idp, N, "李丽")
        self.bob = login(client, idp, N + 1, "赵强")
        grant(client, self.alice, "scoring")
        self.alice_id_number = id_number(N)
        self.bob_id_number = id_number(N + 1)

    def login_again(self, now: Any) -> None:
        """Fresh sessions after the clock moved past the session lifetime."""
        self.alice = self.client.post("/api/v1/auth/session", json={
            "assertion": self.idp.assertion(self.alice_id_number, "李丽", now=now)}
        ).get_json()["token"]

    def issue(self, token: str, **body: Any) -> Any:
        return self.client.post("/api/v1/me/reports", headers=bearer(token), json=body)

    def issued(self, token: str, **body: Any) -> dict:
        response = self.issue(token, **body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def verify(self, code: str) -> dict:
        response = self.client.get("/reports/verify", query_string={"code": code},
                                   headers={"Accept": "application/json"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def verify_document(self, **body: Any) -> dict:
        response = self.client.post("/reports/verify", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()
