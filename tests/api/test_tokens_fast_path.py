"""On PostgreSQL an introspection is one statement (`pc_introspect`, migration 0010) and a
token consumption inside a partner write is `pc_consume_token`; both answer, and log for the
resident, exactly what the portable path does (the rest of the token tests run on both)."""

from __future__ import annotations

import pytest

from tests.api.test_tokens_support import World, consume_as, introspect, withdraw
from tests.statements import on_pg, statements


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


@pytest.fixture
def pg_only(pg_url, app):
    """The one-statement path exists on PostgreSQL only (CI requires it)."""
    assert on_pg(app)


def _access_log(client, resident):
    response = client.get("/api/v1/me/access-log",
                          headers={"Authorization": f"Bearer {resident}"})
    return response.get_json()["items"]


@pytest.mark.services
def test_an_introspection_is_one_statement_on_postgresql(pg_only, world, client, app):
    token = world.token()
    introspect(client, world.hospital_key, token)  # the partner's key is now cached
    with statements(app) as seen:
        answer = introspect(client, world.hospital_key, token).get_json()
    assert answer["active"] is True
    assert len(seen) == 1 and "pc_introspect" in seen[0]


@pytest.mark.services
def test_a_refused_introspection_is_one_statement_and_logged_with_its_reason(
        pg_only, world, client, app, clock):
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
def test_a_forged_token_costs_no_statement(pg_only, world, client, app):
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
