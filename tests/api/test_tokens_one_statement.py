"""Whether a token is live for its partner is decided by PostgreSQL alone (`pc_token_state`,
rewards/sql/tokens.sql): an introspection is one statement (`pc_introspect`) and a consumption one
statement (`pc_consume_token`) in the caller's own transaction. Each answers, and logs for the
resident, what the token's state calls for: active, consumed, revoked (consent or subject),
replayed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.runtime import runtime
from core.identity import Partner
from rewards.errors import TokenReplayed, TokenRevoked
from rewards.models import AccessEntry, ConsumedToken
from rewards.tokens import consume
from tests.support.statements import statements
from tests.support.tokens import World, claims_of, consume_as, introspect, signed, withdraw


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


def _access_log(client, resident):
    response = client.get("/api/v1/me/access-log",
                          headers={"Authorization": f"Bearer {resident}"})
    return response.get_json()["items"]


def _count(app, model, *where) -> int:
    with app.app_context(), runtime().uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.services
def test_an_introspection_is_one_statement(world, client, app):
    token = world.token()
    introspect(client, world.hospital_key, token)  # the partner's key is now cached
    with statements(app) as seen:
        answer = introspect(client, world.hospital_key, token).get_json()
    assert answer["active"] is True
    assert len(seen) == 1 and "pc_introspect" in seen[0]


@pytest.mark.services
def test_a_refused_introspection_is_one_statement_and_logged_with_its_reason(
        world, client, app, clock):
    token = world.token()
    introspect(client, world.hospital_key, token)
    clock.advance(seconds=301)
    with statements(app) as seen:
        assert introspect(client, world.hospital_key, token).get_json() == {"active": False}
    assert len(seen) == 1
    newest = _access_log(client, world.resident)[0]
    assert (newest["action"], newest["outcome"], newest["learned"]) == (
        "introspect", "token_expired", {})


@pytest.mark.services
def test_a_forged_token_costs_no_statement(world, client, app):
    token = world.token()
    introspect(client, world.hospital_key, token)
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{'A' * len(signature)}"
    with statements(app) as seen:
        assert introspect(client, world.hospital_key, forged).get_json() == {"active": False}
    assert seen == []


def test_introspection_reports_a_consumed_and_a_revoked_token_as_their_reasons(
        world, client, app):
    used = world.token()
    consume_as(app, world.hospital, used)
    assert introspect(client, world.hospital_key, used).get_json() == {"active": False}
    revoked = world.token()
    withdraw(client, world.resident, world.consents["medical_credit"])
    assert introspect(client, world.hospital_key, revoked).get_json() == {"active": False}
    outcomes = sorted((e["action"], e["outcome"]) for e in _access_log(client, world.resident))
    assert outcomes == [("consume", "consumed"), ("introspect", "token_replayed"),
                        ("introspect", "token_revoked")]


@pytest.mark.services
def test_a_consumption_is_one_statement_that_commits_with_the_caller(world, client, app):
    token = world.token()
    introspect(client, world.hospital_key, token)  # the key is cached: no key read below
    with app.app_context(), runtime().uow() as uow:
        partner = uow.session.get(Partner, world.hospital.id)
        with statements(app) as seen:
            claims = consume(uow, token, partner=partner, scenario="medical_credit",
                             now=runtime().clock.now(), ctx=runtime().tokens)
        assert len(seen) == 1 and "pc_consume_token" in seen[0]
        # in the caller's transaction: nobody else sees the consumption before it commits
        assert _count(app, ConsumedToken) == 0
        uow.commit()
    assert claims.resident_id is not None and claims.jti == claims_of(token)["jti"]
    assert _count(app, ConsumedToken, ConsumedToken.jti == claims.jti) == 1
    consumptions = [(e["actor"]["client_id"], e["outcome"], e["learned"])
                    for e in _access_log(client, world.resident) if e["action"] == "consume"]
    assert consumptions == [(world.hospital.client_id, "consumed",
                             {"sub": claims.sub, "scn": "medical_credit",
                              "ent": {"eligible": True}})]


def test_a_consumption_its_caller_rolls_back_leaves_no_trace(world, client, app):
    token = world.token()
    with app.app_context(), runtime().uow() as uow:
        consume(uow, token, partner=uow.session.get(Partner, world.hospital.id),
                scenario="medical_credit", now=runtime().clock.now(), ctx=runtime().tokens)
        # the caller's own step fails here: nothing commits
    assert _count(app, ConsumedToken) == 0
    assert _count(app, AccessEntry, AccessEntry.action == "consume") == 0
    assert consume_as(app, world.hospital, token).jti == claims_of(token)["jti"]


def test_the_refusals_say_why_a_token_is_dead(world, client, app):
    used = world.token()
    consume_as(app, world.hospital, used)
    with pytest.raises(TokenReplayed) as replayed:
        consume_as(app, world.hospital, used)
    assert replayed.value.detail == "the token has already been used"
    revoked = world.token()
    withdraw(client, world.resident, world.consents["medical_credit"])
    with pytest.raises(TokenRevoked) as caught:
        consume_as(app, world.hospital, revoked)
    assert caught.value.detail == "the resident withdrew the consent this token relied on"
    assert caught.value.status == 403
    # the replayed token is refused as revoked now: consent is checked before single use
    with pytest.raises(TokenRevoked):
        consume_as(app, world.hospital, used)
    assert _count(app, ConsumedToken) == 1


def test_a_pseudonym_issued_to_another_partner_names_no_subject_here(world, client, app):
    """A token (signed with our own key) that carries another partner's pseudonym for this
    partner: its subject is unknown here, so it is revoked, and the resident sees the try."""
    claims = claims_of(world.token(partner=world.other))
    token = signed(app, {**claims, "aud": world.hospital.client_id})
    with pytest.raises(TokenRevoked) as caught:
        consume_as(app, world.hospital, token)
    assert caught.value.detail == "the token's subject is not known to this service"
    assert introspect(client, world.hospital_key, token).get_json() == {"active": False}
    seen = [(e["actor"]["client_id"], e["action"], e["outcome"], e["learned"])
            for e in _access_log(client, world.resident)]
    assert seen == [(world.hospital.client_id, "introspect", "token_revoked", {})]
    assert _count(app, ConsumedToken) == 0


def test_a_token_of_an_unknown_subject_is_inactive_and_logged_for_nobody(world, client, app):
    claims = claims_of(world.token())
    token = signed(app, {**claims, "sub": "p_" + "0" * 40})
    assert introspect(client, world.hospital_key, token).get_json() == {"active": False}
    with pytest.raises(TokenRevoked):
        consume_as(app, world.hospital, token)
    assert _count(app, AccessEntry) == 0
