"""Arrangements shared by the token, entitlement and scenario tests (no tests here).

A resident with a good score is made through the real services: records pushed by a data
source, consent to scoring and to the scenario granted through the consent API.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from app.runtime import runtime
from tests.support.factories import bearer, id_number, login, new_partner, new_source

NORMAL = ["public_credit", "judicial", "tax", "social_insurance", "housing_fund", "utilities",
          "traffic", "volunteer", "blood_donation", "rental"]


def rec(n: int, srid: str, category: str, type_: str, when: str = "2026-09-01T00:00:00Z",
        **extra: Any) -> dict:
    return {"source_record_id": f"{n}-{srid}", "id_number": id_number(n), "category": category,
            "type": type_, "occurred_at": when, **extra}


def good_history(n: int) -> list[dict]:
    """Three years of on-time payments and contributions, volunteering, a blood donation."""
    out = []
    for m in range(1, 37):
        year, month = 2023 + (m + 9) // 12, (m + 9) % 12 + 1
        when = f"{year}-{month:02d}-05T00:00:00Z"
        out += [rec(n, f"u{m}", "utilities", "payment_on_time", when, amount_fen=9000),
                rec(n, f"s{m}", "social_insurance", "contribution_month", when),
                rec(n, f"h{m}", "housing_fund", "contribution_month", when),
                rec(n, f"r{m}", "rental", "rent_on_time", when, amount_fen=300000)]
    out += [rec(n, f"t{y}", "tax", "filed_on_time", f"{y}-06-01T00:00:00Z")
            for y in (2024, 2025, 2026)]
    out += [rec(n, "v1", "volunteer", "service_hours", quantity=60),
            rec(n, "b1", "blood_donation", "donation"),
            rec(n, "c1", "public_credit", "commendation")]
    return out


def push(client: Any, key: str, records: list[dict]) -> None:
    for i in range(0, len(records), 1000):
        response = client.post("/ingest/v1/records", headers=bearer(key),
                               json={"records": records[i:i + 1000]})
        assert response.status_code == 200, response.get_json()
        assert not response.get_json()["rejected"], response.get_json()


def notice_id(client: Any, purpose: str) -> str:
    notices = client.get("/api/v1/notices").get_json()
    return next(n["id"] for n in notices if n["purpose"] == purpose)


def grant(client: Any, token: str, purpose: str) -> str:
    body: dict[str, Any] = {"notice_id": notice_id(client, purpose), "separate_consent": True}
    if purpose == "scoring":
        body["categories"] = NORMAL
    response = client.post("/api/v1/me/consents", headers=bearer(token), json=body)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["consent_id"]


def withdraw(client: Any, token: str, consent_id: str) -> None:
    response = client.post(f"/api/v1/me/consents/{consent_id}/withdraw", headers=bearer(token))
    assert response.status_code in (200, 201), response.get_json()


def ask_token(client: Any, token: str, scenario: str, partner: str) -> Any:
    return client.post("/api/v1/me/tokens", headers=bearer(token),
                       json={"scenario": scenario, "partner": partner})


def claims_of(token: str) -> dict[str, Any]:
    """A token's claims as anyone holding it can read them (no signature check)."""
    body = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return claims


def introspect(client: Any, key: str, token: Any) -> Any:
    return client.post("/partner/v1/tokens/introspect", headers=bearer(key), json={"token": token})


class World:
    """A resident with a good score and consents, and partners around them."""

    def __init__(self, app: Any, client: Any, idp: Any) -> None:
        self.app, self.client = app, client
        _src, self.source_key = new_source(app)
        push(client, self.source_key, good_history(7))
        self.resident = login(client, idp, 7, "王五")
        self.scoring_consent = grant(client, self.resident, "scoring")
        self.consents = {s: grant(client, self.resident, f"scenario:{s}")
                         for s in ("medical_credit", "deposit_waiver_bike")}
        self.hospital, self.hospital_key = new_partner(app, "hospital", ["medical_credit"])
        self.other, self.other_key = new_partner(app, "hospital", ["medical_credit"])
        self.bikes, self.bikes_key = new_partner(app, "deposit_partner",
                                                 ["deposit_waiver_bike"])

    def token(self, scenario: str = "medical_credit", partner: Any = None) -> str:
        partner = partner or self.hospital
        response = ask_token(self.client, self.resident, scenario, partner.client_id)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["token"]


@pytest.fixture
def world(app: Any, client: Any, idp: Any) -> World:
    return World(app, client, idp)


def consume_as(app: Any, partner: Any, token: Any, scenario: str = "medical_credit") -> Any:
    """Consume through the one domain function, as a partner flow (waiver, hold, …) would."""
    from app.runtime import runtime
    from core.identity import Partner
    from rewards.tokens import consume

    with app.app_context(), runtime().uow() as uow:
        claims = consume(uow, token, partner=uow.session.get(Partner, partner.id),
                         scenario=scenario, now=runtime().clock.now(), ctx=runtime().tokens)
        uow.commit()
    return claims


def signed(app: Any, claims: dict, purpose: str = "token", **header: Any) -> str:
    """A token signed with the service's own key (to test checks after the signature)."""
    with app.app_context(), runtime().uow() as uow:
        kid, private = runtime().signer.active(uow.session, purpose)
    headers = {"kid": kid, "typ": "pc-entitlement+jwt", **header}
    return jwt.encode(claims, private, algorithm="EdDSA", headers=headers)
