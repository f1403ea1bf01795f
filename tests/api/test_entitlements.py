"""The resident's entitlements: eligible or not and why, limits, the consent still missing."""

from __future__ import annotations

import pytest

from tests.support.factories import bearer, login
from tests.support.tokens import World, ask_token, push, rec


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


def entitlements(client, token) -> dict:
    response = client.get("/api/v1/me/entitlements", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return {i["scenario"]: i for i in response.get_json()["items"]}


def test_every_scenario_is_listed_with_its_standing(world, client):
    found = entitlements(client, world.resident)
    assert len(found) >= 10
    medical = found["medical_credit"]
    assert medical["eligible"] and medical["usable"] and medical["missing_consent"] == []
    assert medical["limits"] == {"limit_fen": 500000}
    hotel = found["hotel_no_deposit"]
    assert hotel["eligible"] and not hotel["usable"]
    assert hotel["missing_consent"] == ["scenario:hotel_no_deposit"]


def test_without_scoring_consent_nothing_is_eligible_and_the_missing_consent_is_named(
        client, idp):
    token = login(client, idp, 50)
    found = entitlements(client, token)
    assert not any(e["eligible"] for e in found.values())
    assert all(e["missing_consent"][0] == "scoring" for e in found.values())


def test_an_active_dishonest_debtor_record_excludes_and_says_so(world, client):
    push(client, world.source_key, [rec(7, "dd1", "judicial", "dishonest_debtor",
                                        "2026-10-01T00:00:00Z", severity="serious")])
    found = entitlements(client, world.resident)
    assert not found["medical_credit"]["eligible"]
    assert "dishonest_debtor" in [r["code"] for r in found["medical_credit"]["reasons"]]
    response = ask_token(client, world.resident, "medical_credit", world.hospital.client_id)
    assert response.status_code == 403
    assert "dishonest_debtor" in response.get_json()["reasons"]
