"""Arrangements for the points tests (no tests here): a resident with a good score who consented
to points redemption, merchants serving it, and points given through the earning service; for
residents made directly in the database, their consent and a token (`consent_to_redemption`,
`token_for`); a points job run as operators run it (`run_job`)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from tests.support.factories import bearer, cli, id_number, new_operator, new_partner
from tests.support.tokens import World, ask_token, grant

SCENARIO = "points_redemption"


class PointsWorld(World):
    def __init__(self, app: Any, client: Any, idp: Any) -> None:
        super().__init__(app, client, idp)
        self.consents[SCENARIO] = grant(client, self.resident, f"scenario:{SCENARIO}")
        self.shop, self.shop_key = new_partner(app, "merchant", [SCENARIO])
        self.other_shop, self.other_shop_key = new_partner(app, "merchant", [SCENARIO])
        self.resident_id = self._resident_id()
        self.idp = idp
        self.awards = 0

    def relogin(self) -> None:
        """A fresh session after the test clock moved past the old one's expiry."""
        from app.runtime import runtime

        with self.app.app_context():
            now = runtime().clock.now()
        response = self.client.post("/api/v1/auth/session", json={
            "assertion": self.idp.assertion(id_number(7), "王五", now=now)})
        assert response.status_code == 201, response.get_json()
        self.resident = response.get_json()["token"]

    def _resident_id(self) -> uuid.UUID:
        from app.runtime import runtime
        from core.identity import find_resident

        with self.app.app_context(), runtime().uow() as uow:
            found = find_resident(uow.session, runtime().keyring, id_number(7))
            assert found is not None
            return found.id

    def give(self, points: int, *, expires_in: timedelta = timedelta(days=730)) -> None:
        """Award points through the earning service (as a rule would)."""
        from app.runtime import runtime
        from rewards.points.earning import award

        self.awards += 1
        with self.app.app_context(), runtime().uow() as uow:
            now = runtime().clock.now()
            assert award(uow.session, resident_id=self.resident_id, points=points,
                         key=f"earn:test:{self.resident_id.hex}:{self.awards}", rule="test",
                         now=now, expires_at=now + expires_in)
            uow.commit()

    def points_token(self, partner: Any = None) -> str:
        response = ask_token(self.client, self.resident, SCENARIO,
                             (partner or self.shop).client_id)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["token"]

    def redeem(self, points: Any, out_order_no: str = "order-1", *, token: str | None = None,
               key: str | None = None) -> Any:
        return self.client.post("/partner/v1/points/redemptions",
                                headers=bearer(key or self.shop_key),
                                json={"token": token or self.points_token(),
                                      "out_order_no": out_order_no, "points": points})

    def refund(self, redemption_id: str, out_refund_no: str, points: Any = None, *,
               key: str | None = None) -> Any:
        body: dict[str, Any] = {"out_refund_no": out_refund_no}
        if points is not None:
            body["points"] = points
        return self.client.post(f"/partner/v1/points/redemptions/{redemption_id}/refund",
                                headers=bearer(key or self.shop_key), json=body)

    def mine(self) -> dict[str, Any]:
        response = self.client.get("/api/v1/me/points", headers=bearer(self.resident))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def balance(self) -> int:
        return self.mine()["balance"]

    def reconciliation(self) -> dict[str, Any]:
        from app.runtime import runtime
        from rewards.points.ledger import reconcile

        with self.app.app_context(), runtime().uow() as uow:
            return reconcile(uow.session).as_dict()

    def operator(self, role: str = "admin") -> str:
        return new_operator(self.app, role)[1]



def consent_to_redemption(app: Any, resident_id: uuid.UUID, now: Any) -> None:
    """The resident's consents to scoring (every token relies on it) and to points redemption
    (inside the app context)."""
    from app.runtime import runtime
    from consent.notices import current
    from consent.services import Signing, grant
    from core.identity import Resident

    signing = Signing(runtime().signer, app.config["ISSUER"])
    for purpose, categories in (("scoring", ["utilities"]), (f"scenario:{SCENARIO}", None)):
        with runtime().uow() as uow:
            notice = current(uow.session, purpose)
            assert notice is not None
            grant(uow, uow.session.get(Resident, resident_id), notice.id, now=now,
                  categories=categories, separate_consent=True, signing=signing)


def token_for(resident_id: uuid.UUID, partner: Any, now: Any) -> str:
    """A points-redemption token for `partner` (inside the app context), limit 5000 an order."""
    from app.runtime import runtime
    from rewards.scenarios import get
    from rewards.tokens import issue

    with runtime().uow() as uow:
        issued = issue(uow.session, resident_id=resident_id, partner=partner,
                       scenario=get(uow.session, SCENARIO), now=now,
                       limits={"max_points_per_order": 5000}, ctx=runtime().tokens)
        uow.commit()
    return issued.token


def run_job(app: Any, name: str) -> dict[str, Any]:
    """`pengcheng jobs run --only <name>`: that job's result."""
    result = cli(app, "jobs", "run", "--only", name)
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)[name]
    return out
