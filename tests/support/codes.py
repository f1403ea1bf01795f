"""Arrangements for the short one-time code tests (no tests here).

`Codes` is the points world (a resident with points, consents and partners) with a counter
that serves a scenario used up by `POST /partner/v1/tokens/consume`, and a second partner of
each kind (`twin`) serving the same scenarios. `CALLS` is every partner call that takes `token`,
each as the scenario and partner it needs and how to send it (a fresh idempotency key unless
one is given).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.factories import bearer, new_partner
from tests.support.points import PointsWorld
from tests.support.tokens import ask_token, grant

USE = "fewer_documents"  # used up by POST /partner/v1/tokens/consume
CODE = re.compile(r"28[0-9]{16}")


class Codes(PointsWorld):
    def __init__(self, app: Any, client: Any, idp: Any) -> None:
        super().__init__(app, client, idp)
        self.consents[USE] = grant(client, self.resident, f"scenario:{USE}")
        self.desk, self.desk_key = new_partner(app, "merchant", [USE])
        desk_twin = new_partner(app, "merchant", [USE])
        bikes_twin = new_partner(app, "deposit_partner", ["deposit_waiver_bike"])
        self.keys = {p.id: k for p, k in (
            (self.hospital, self.hospital_key), (self.other, self.other_key),
            (self.bikes, self.bikes_key), bikes_twin, (self.shop, self.shop_key),
            (self.other_shop, self.other_shop_key), (self.desk, self.desk_key), desk_twin)}
        self.twins = {self.hospital.id: self.other, self.bikes.id: bikes_twin[0],
                      self.shop.id: self.other_shop, self.desk.id: desk_twin[0]}
        self.give(1000)

    def key(self, partner: Any) -> str:
        return self.keys[partner.id]

    def twin(self, partner: Any) -> Any:
        """Another partner of the same kind, serving the same scenarios."""
        return self.twins[partner.id]

    def issue(self, scenario: str, partner: Any) -> dict[str, Any]:
        """`POST /api/v1/me/tokens`: the answer (token, code, qr_svg, …)."""
        response = ask_token(self.client, self.resident, scenario, partner.client_id)
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body


Send = Callable[[Codes, str, str, str], Any]  # (world, partner key, token or code, idem key)


def _introspect(w: Codes, key: str, token: str, _no: str) -> Any:
    return w.client.post("/partner/v1/tokens/introspect", headers=bearer(key),
                         json={"token": token})


def _introspect_form(w: Codes, key: str, token: str, _no: str) -> Any:
    return w.client.post("/partner/v1/tokens/introspect", headers=bearer(key),
                         data={"token": token})


def _consume(w: Codes, key: str, token: str, no: str) -> Any:
    return w.client.post("/partner/v1/tokens/consume", headers=bearer(key),
                         json={"token": token, "out_use_no": no})


def _authorize(w: Codes, key: str, token: str, no: str) -> Any:
    return w.client.post("/partner/v1/medical-credit/authorizations", headers=bearer(key),
                         json={"token": token, "out_request_no": no, "amount_fen": 30000})


def _waive(w: Codes, key: str, token: str, no: str) -> Any:
    return w.client.post("/partner/v1/deposit-waivers", headers=bearer(key), json={
        "token": token, "out_order_no": no, "deposit_fen": 29900,
        "due_at": "2026-11-02T08:00:00Z", "item": "单车 #SZ-1024"})


def _redeem(w: Codes, key: str, token: str, no: str) -> Any:
    return w.client.post("/partner/v1/points/redemptions", headers=bearer(key),
                         json={"token": token, "out_order_no": no, "points": 10})


@dataclass(frozen=True)
class Call:
    name: str
    scenario: str
    partner: str  # the Codes attribute naming the partner the token is for
    send_fn: Send
    ok: int  # the status of a success
    uses: bool  # the call uses the token up

    def partner_of(self, w: Codes) -> Any:
        return getattr(w, self.partner)

    def send(self, w: Codes, token: str, *, partner: Any = None, no: str | None = None) -> Any:
        key = w.key(partner or self.partner_of(w))
        return self.send_fn(w, key, token, no or uuid.uuid4().hex)

    def issue(self, w: Codes) -> dict[str, Any]:
        return w.issue(self.scenario, self.partner_of(w))


CALLS = (
    Call("introspect", "medical_credit", "hospital", _introspect, 200, False),
    Call("introspect_form", "medical_credit", "hospital", _introspect_form, 200, False),
    Call("consume", USE, "desk", _consume, 201, True),
    Call("authorize", "medical_credit", "hospital", _authorize, 201, True),
    Call("waive", "deposit_waiver_bike", "bikes", _waive, 201, True),
    Call("redeem", "points_redemption", "shop", _redeem, 201, True),
)
WRITES = tuple(c for c in CALLS if c.uses)


def unknown_code() -> str:
    """A well-formed code no token has (1 in 10**11 that one has, with the few issued here)."""
    return "28" + str(uuid.uuid4().int % 10**16).zfill(16)


def without_request_id(response: Any) -> tuple[int, str, bytes]:
    """What a partner receives, apart from the id of its request."""
    data = response.get_data()
    body = response.get_json(silent=True)
    if isinstance(body, dict) and body.get("request_id"):
        data = data.replace(str(body["request_id"]).encode(), b"")
    return response.status_code, response.mimetype, data
