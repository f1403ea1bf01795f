"""Partner tokens end to end: issue, introspect, consume once, revoke, access log."""

from __future__ import annotations

import base64
import json
import re

import pytest
from sqlalchemy import select

from rewards.errors import TokenReplayed, TokenRevoked
from rewards.models import ConsumedToken, PartnerPseudonym
from tests.support.factories import bearer, id_number, login, new_partner
from tests.support.tokens import (
    World,
    ask_token,
    consume_as,
    grant,
    introspect,
    withdraw,
)


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


def segments(token: str) -> tuple[dict, dict]:
    def dec(s: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))

    head, body, _sig = token.split(".")
    return dec(head), dec(body)


def test_a_token_is_an_eddsa_jws_with_exactly_the_pinned_claims(world, client):
    response = ask_token(client, world.resident, "medical_credit", world.hospital.client_id)
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    header, claims = segments(body["token"])
    assert header == {"alg": "EdDSA", "typ": "pc-entitlement+jwt", "kid": header["kid"]}
    jwks = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert header["kid"] in {k["kid"] for k in jwks}
    assert set(claims) == {"iss", "aud", "sub", "scn", "ent", "iat", "exp", "jti"}
    assert claims["aud"] == world.hospital.client_id
    assert claims["scn"] == "medical_credit"
    assert claims["ent"] == {"eligible": True}  # the same for every tier (issue 20)
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) >= 16
    assert body["qr_svg"].startswith("<svg") and body["expires_at"]


def test_a_token_never_carries_score_tier_name_or_id_number(world, client):
    score = client.get("/api/v1/me/score", headers=bearer(world.resident)).get_json()
    token = world.token()
    text = json.dumps(segments(token), ensure_ascii=False)
    for secret in ("score", "tier", "王五", id_number(7), score["tier"]):
        assert secret not in text
    # The score as a number standing alone: its digits may occur by chance inside the random
    # jti or the pseudonym (base64url) or iat, which discloses nothing.
    assert not re.search(rf"(?<![0-9A-Za-z_-]){score['score']}(?![0-9A-Za-z_-])", text)


def test_the_pseudonym_is_stable_per_partner_and_different_across_partners(world, app):
    first = segments(world.token())[1]["sub"]
    again = segments(world.token())[1]["sub"]
    other = segments(world.token(partner=world.other))[1]["sub"]
    assert first == again != other
    from app.runtime import runtime

    with app.app_context(), runtime().uow() as uow:
        rows = uow.session.scalars(select(PartnerPseudonym)).all()
    assert {r.pseudonym for r in rows} == {first, other}
    assert len({r.resident_id for r in rows}) == 1  # the settlement mapping


def test_each_token_has_a_fresh_jti(world):
    assert segments(world.token())[1]["jti"] != segments(world.token())[1]["jti"]


def test_no_token_without_the_scenario_consent(world, client):
    partner, _ = new_partner(world.app, "deposit_partner", ["hotel_no_deposit"])
    response = ask_token(client, world.resident, "hotel_no_deposit", partner.client_id)
    assert response.status_code == 403
    assert response.get_json()["code"] == "consent_required"


def test_no_token_without_the_scoring_consent(world, client):
    withdraw(client, world.resident, world.scoring_consent)
    response = ask_token(client, world.resident, "medical_credit", world.hospital.client_id)
    assert response.status_code == 403
    assert response.get_json()["code"] == "consent_required"


def test_no_token_for_a_partner_that_does_not_serve_the_scenario(world, client):
    response = ask_token(client, world.resident, "medical_credit", world.bikes.client_id)
    assert response.status_code == 422
    assert response.get_json()["code"] == "partner_not_serving"
    response = ask_token(client, world.resident, "medical_credit", "ptn_nobody")
    assert response.get_json()["code"] == "unknown_partner"
    response = ask_token(client, world.resident, "time_travel", world.hospital.client_id)
    assert response.get_json()["code"] == "unknown_scenario"


def test_a_resident_without_a_good_enough_score_is_told_why_and_only_they_are(app, client,
                                                                                idp):
    token = login(client, idp, 31)  # no records: a low score
    grant(client, token, "scoring")
    grant(client, token, "scenario:medical_credit")
    hospital, _ = new_partner(app, "hospital", ["medical_credit"])
    response = ask_token(client, token, "medical_credit", hospital.client_id)
    assert response.status_code == 403
    problem = response.get_json()
    assert problem["code"] == "not_eligible"
    assert problem["reasons"] == ["tier_too_low"]
    assert problem["detail_zh"]


def test_introspection_answers_the_addressed_partner_and_does_not_consume(world, client):
    token = world.token()
    for _ in range(2):
        response = introspect(client, world.hospital_key, token)
        assert response.status_code == 200
        body = response.get_json()
        claims = segments(token)[1]
        assert body == {"active": True, "scn": "medical_credit", "scope": "medical_credit",
                        "sub": claims["sub"], "ent": {"eligible": True},
                        "client_id": world.hospital.client_id, "aud": world.hospital.client_id,
                        "iss": claims["iss"], "token_type": "pc-entitlement+jwt",
                        "iat": claims["iat"], "exp": claims["exp"], "jti": claims["jti"]}
    assert consume_as(world.app, world.hospital, token).scn == "medical_credit"


def test_introspection_by_another_partner_learns_nothing(world, client):
    token = world.token()
    assert introspect(client, world.other_key, token).get_json() == {"active": False}
    assert introspect(client, world.bikes_key, token).get_json() == {"active": False}


def test_introspection_needs_a_partner_key(world, client):
    response = client.post("/partner/v1/tokens/introspect", json={"token": world.token()})
    assert response.status_code == 401


def test_a_token_is_consumed_once_and_a_replay_is_refused(world, client):
    token = world.token()
    claims = consume_as(world.app, world.hospital, token)
    assert claims.resident_id is not None and claims.ent == {"eligible": True}
    with pytest.raises(TokenReplayed) as caught:
        consume_as(world.app, world.hospital, token)
    assert caught.value.code == "token_replayed" and caught.value.status == 409
    assert introspect(client, world.hospital_key, token).get_json() == {"active": False}


def test_a_consumption_rolled_back_by_its_caller_leaves_the_token_usable(world, app):
    from app.runtime import runtime
    from core.identity import Partner
    from rewards.tokens import consume

    token = world.token()
    with app.app_context(), runtime().uow() as uow:
        consume(uow, token, partner=uow.session.get(Partner, world.hospital.id),
                scenario="medical_credit", now=runtime().clock.now(),
                ctx=runtime().tokens)
        # the caller's own step fails here, so nothing commits
    assert consume_as(app, world.hospital, token).jti == segments(token)[1]["jti"]
    with app.app_context(), runtime().uow() as uow:
        assert uow.session.scalars(select(ConsumedToken)).all()[0].scenario == "medical_credit"


def test_withdrawing_the_scenario_consent_revokes_outstanding_tokens(world, client, clock):
    token = world.token()
    withdraw(client, world.resident, world.consents["medical_credit"])
    assert introspect(client, world.hospital_key, token).get_json() == {"active": False}
    with pytest.raises(TokenRevoked):
        consume_as(world.app, world.hospital, token)
    clock.advance(seconds=2)
    grant(client, world.resident, "scenario:medical_credit")
    assert introspect(client, world.hospital_key, token).get_json() == {"active": False}
    fresh = world.token()
    assert introspect(client, world.hospital_key, fresh).get_json()["active"] is True


def test_every_introspection_and_consumption_is_in_the_residents_access_log(world, client):
    token = world.token()
    introspect(client, world.hospital_key, token)
    introspect(client, world.other_key, token)
    consume_as(world.app, world.hospital, token)
    items = client.get("/api/v1/me/access-log", headers=bearer(world.resident)).get_json()["items"]
    seen = sorted((i["actor"]["client_id"], i["action"], i["outcome"]) for i in items)
    assert seen == sorted([(world.hospital.client_id, "introspect", "active"),
                           (world.other.client_id, "introspect", "token_wrong_audience"),
                           (world.hospital.client_id, "consume", "consumed")])
    learned = {i["outcome"]: i["learned"] for i in items}
    assert learned["token_wrong_audience"] == {}
    assert learned["active"]["ent"] == {"eligible": True}
    assert all("score" not in json.dumps(i) for i in items)


def test_the_access_log_is_the_residents_own(world, client, idp):
    introspect(client, world.hospital_key, world.token())
    stranger = login(client, idp, 40)
    assert client.get("/api/v1/me/access-log", headers=bearer(stranger)).get_json() == \
        {"items": []}


def test_tokens_survive_a_key_rotation_until_they_expire(world, client, app, clock):
    from app.runtime import runtime
    from core.rotation import rotate_signing

    token = world.token()
    with app.app_context(), runtime().uow() as uow:
        rotate_signing(uow, runtime().signer, "token", now=clock.now())
    assert introspect(client, world.hospital_key, token).get_json()["active"] is True
    fresh = world.token()
    assert segments(fresh)[0]["kid"] != segments(token)[0]["kid"]
    assert introspect(client, world.hospital_key, fresh).get_json()["active"] is True
