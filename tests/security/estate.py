"""Objects that belong to someone, made through the real APIs, for the object-level checks.

`Estate` extends the cast of actors with resident A's objects (consents, records, a dispute, a
report, a hold, a bill, a deposit waiver, a points redemption), resident B with a session of
their own, and for each partner kind a second partner (the intruder) registered for the same
scenarios. `ids[param]` maps an OpenAPI path parameter name to the id of A's object (or A's
partner's object) it names.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import select

from tests.security.actors import Cast
from tests.support.factories import bearer, id_number, login, new_partner
from tests.support.tokens import ask_token, good_history, grant, push

B = 8  # resident B's ID number sequence (A is the token world's resident 7)
DAY = "2026-11-20T08:00:00Z"


def ok(response: Any, *statuses: int) -> dict:
    assert response.status_code in (statuses or (200, 201)), (
        response.status_code, response.get_data(as_text=True)[:500])
    return response.get_json()


class Estate(Cast):
    """The cast, resident A's objects, resident B, and an intruder partner of each kind."""

    def __init__(self, app: Any, client: Any, idp: Any) -> None:
        super().__init__(app, client, idp)
        push(client, self.source_key, good_history(B))
        self.resident_b = login(client, idp, B, "赵六")
        grant(client, self.resident_b, "scoring")
        self.intruders = {kind: new_partner(app, kind, list(partner.scenarios))
                          for kind, (partner, _key) in self.partners.items()}
        self.ids: dict[str, str] = {}
        self._resident_objects()
        self._partner_objects()

    # -- A's objects ---------------------------------------------------------------------------

    def _as_a(self, method: str, path: str, **kw: Any) -> Any:
        return self.client.open(path, method=method, headers=bearer(self.resident), **kw)

    def _resident_objects(self) -> None:
        self.ids["consent_id"] = self.consents["scoring"]
        ok(self._as_a("GET", "/api/v1/me/score"))
        records = ok(self._as_a("GET", "/api/v1/me/records"))["items"]
        self.ids["record_id"] = records[0]["id"]
        dispute = ok(self._as_a("POST", "/api/v1/me/disputes", json={
            "record_id": records[1]["id"], "reason": "这条记录不是我的"}), 201)
        self.ids["dispute_id"] = dispute["id"]
        report = ok(self._as_a("POST", "/api/v1/me/reports", json={"kind": "credit_report"}), 201)
        self.ids["report_id"] = report["report_id"]

    def token(self, scenario: str, kind: str) -> str:
        partner = self.partners[kind][0]
        return ok(ask_token(self.client, self.resident, scenario, partner.client_id), 201)["token"]

    def _partner(self, kind: str, method: str, path: str, body: dict | None = None) -> Any:
        return self.client.open(path, method=method, headers=bearer(self.partner_key(kind)),
                                json=body)

    def _partner_objects(self) -> None:
        credit = "/partner/v1/medical-credit"
        hold = ok(self._partner("hospital", "POST", f"{credit}/authorizations", {
            "token": self.token("medical_credit", "hospital"),
            "out_request_no": uuid.uuid4().hex, "amount_fen": 30000}), 201)
        self.ids["authorization_id"] = hold["authorization_id"]
        other = ok(self._partner("hospital", "POST", f"{credit}/authorizations", {
            "token": self.token("medical_credit", "hospital"),
            "out_request_no": uuid.uuid4().hex, "amount_fen": 20000}), 201)
        bill = ok(self._partner("hospital", "POST",
                                f"{credit}/authorizations/{other['authorization_id']}/capture",
                                {"amount_fen": 15000, "out_bill_no": uuid.uuid4().hex}), 201)
        self.ids["bill_id"] = bill["bill_id"]
        waiver = ok(self._partner("deposit_partner", "POST", "/partner/v1/deposit-waivers", {
            "token": self.token("deposit_waiver_bike", "deposit_partner"),
            "out_order_no": uuid.uuid4().hex, "deposit_fen": 29900, "due_at": DAY,
            "item": "单车 #SZ-1"}), 201)
        self.ids["waiver_id"] = waiver["waiver_id"]
        self._give_points(500)
        redemption = ok(self._partner("merchant", "POST", "/partner/v1/points/redemptions", {
            "token": self.token("points_redemption", "merchant"),
            "out_order_no": uuid.uuid4().hex, "points": 100}), 201)
        self.ids["redemption_id"] = redemption["redemption_id"]

    def _give_points(self, points: int) -> None:
        """Points as an earning rule would award them (there is no HTTP API for earning)."""
        from app.runtime import runtime
        from rewards.points.earning import award

        resident = resident_id(self.app, 7)
        with self.app.app_context(), runtime().uow() as uow:
            now = runtime().clock.now()
            award(uow.session, resident_id=resident, points=points,
                  key=f"earn:security:{resident.hex}", rule="test", now=now,
                  expires_at=now.replace(year=now.year + 2))
            uow.commit()


def resident_id(application: Any, n: int) -> uuid.UUID:
    """The internal id of the resident with ID number sequence `n`."""
    from app.runtime import runtime
    from core.identity import find_resident

    with application.app_context(), runtime().uow() as uow:
        found = find_resident(uow.session, runtime().keyring, id_number(n))
        assert found is not None
        return found.id


def fingerprint(application: Any) -> dict[str, str]:
    """A digest of every table's rows: a refused request must leave every one unchanged."""
    from app.runtime import runtime
    from core.db import Base

    out = {}
    with application.app_context(), runtime().uow() as uow:
        for table in Base.metadata.sorted_tables:
            rows = sorted(repr(tuple(row)) for row in uow.session.execute(select(table)))
            out[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out
