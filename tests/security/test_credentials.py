"""Forged, expired, replayed, revoked and oversized credentials are refused with 401 problem+json.

Covers every credential kind: resident sessions (and the identity assertions they come from),
partner / data-source / operator API keys.
"""

from __future__ import annotations

import time
import types
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.security.estate import Estate, ok
from tests.support.factories import (
    FakeIdp,
    bearer,
    id_number,
    new_operator,
    new_partner,
    new_source,
)

PROBLEM = "application/problem+json"
ME = "/api/v1/me"
INTROSPECT = "/partner/v1/tokens/introspect"
INGEST = "/ingest/v1/records"
# Valid bodies: the credential check, not input validation, must be what refuses these calls.
RECORDS = {"records": [{"source_record_id": "c-1", "id_number": id_number(40),
                        "category": "utilities", "type": "payment_on_time",
                        "occurred_at": "2026-10-01T00:00:00Z"}]}


def refused(response: Any, status: int = 401) -> dict:
    assert response.status_code == status, (response.status_code, response.get_json())
    assert response.mimetype == PROBLEM
    return response.get_json()


def deactivate(app: Any, model: Any, principal: Any) -> None:
    """What an operator's deactivation does: the key's holder is marked inactive."""
    from app.runtime import runtime

    with app.app_context(), runtime().uow() as uow:
        uow.session.get(model, principal.id).active = False
        uow.commit()


def test_forged_and_tampered_session_tokens_are_refused(estate: Estate) -> None:
    real = estate.resident
    tampered = real[:-2] + ("AA" if not real.endswith("AA") else "BB")
    for token in ("rs_" + "A" * 43, tampered, real.upper(), real + "x", "rs_",
                  estate.partner_key("hospital"), estate.operator_key("admin"),
                  estate.source_key):
        body = refused(estate.client.get(ME, headers=bearer(token)))
        assert body["code"] == "unauthorized"
    ok(estate.client.get(ME, headers=bearer(real)))  # the genuine token still works


def test_credentials_are_read_from_the_authorization_header_only(estate: Estate) -> None:
    refused(estate.client.get(ME, query_string={"access_token": estate.resident}))
    refused(estate.client.get(ME, headers={"Cookie": f"session={estate.resident}"}))
    refused(estate.client.get(ME, headers={"Authorization": estate.resident}))  # no scheme
    refused(estate.client.get(ME, headers={"Authorization": f"Token {estate.resident}"}))


def test_an_expired_session_is_refused(estate: Estate, app: Any) -> None:
    from app.runtime import runtime

    ok(estate.client.get(ME, headers=bearer(estate.resident)))
    with app.app_context():
        runtime().clock.advance(seconds=int(app.config["SESSION_TTL_SECONDS"]) + 1)
    refused(estate.client.get(ME, headers=bearer(estate.resident)))


def test_a_session_replayed_after_logout_is_refused(estate: Estate) -> None:
    response = estate.client.delete("/api/v1/auth/session", headers=bearer(estate.resident))
    assert response.status_code == 204
    refused(estate.client.get(ME, headers=bearer(estate.resident)))
    refused(estate.client.delete("/api/v1/auth/session", headers=bearer(estate.resident)))


def test_forged_expired_and_misaddressed_identity_assertions_are_refused(
        client: Any, idp: FakeIdp) -> None:
    from tests.support.factories import T0

    other = Ed25519PrivateKey.generate()
    claims = {"iss": FakeIdp.ISSUER, "aud": "pengcheng", "sub": "u-1", "name": "张三",
              "id_number": id_number(41), "iat": int(T0.timestamp()),
              "exp": int((T0 + timedelta(minutes=5)).timestamp())}
    forged = [
        jwt.encode(claims, other, algorithm="EdDSA", headers={"kid": "idp-1"}),  # wrong key
        jwt.encode(claims, None, algorithm="none"),  # unsigned
        jwt.encode(claims, "s" * 32, algorithm="HS256", headers={"kid": "idp-1"}),
        idp.assertion(id_number(41), now=T0 - timedelta(hours=1)),  # expired
        idp.assertion(id_number(41), aud="someone-else"),
        idp.assertion(id_number(41), iss="https://evil.example"),
        idp.assertion(id_number(41)[:-1] + ("0" if id_number(41)[-1] != "0" else "1")),
    ]
    for assertion in forged:
        response = client.post("/api/v1/auth/session", json={"assertion": assertion})
        assert response.status_code in (401, 422), (response.status_code, response.get_json())
        assert response.mimetype == PROBLEM
    assert client.post("/api/v1/auth/session", json={
        "assertion": idp.assertion(id_number(41))}).status_code == 201


@pytest.mark.parametrize("kind", ["partner", "source", "operator"])
def test_a_deactivated_principals_key_is_refused(app: Any, client: Any, kind: str) -> None:
    from core.identity import DataSource, Operator, Partner

    made = {"partner": (new_partner, Partner, "POST", INTROSPECT, {"token": "x"}),
            "source": (new_source, DataSource, "POST", INGEST, RECORDS),
            "operator": (new_operator, Operator, "GET", "/admin/v1/disputes", None)}
    factory, model, method, path, body = made[kind]
    principal, key = factory(app)
    deactivate(app, model, principal)
    body_out = refused(client.open(path, method=method, headers=bearer(key), json=body))
    assert body_out["code"] == "unauthorized"


def test_a_deactivated_key_stops_working_within_the_cache_lifetime(
        app: Any, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import auth
    from core.identity import Partner

    partner, key = new_partner(app, "hospital", ["medical_credit"])
    ok(client.post(INTROSPECT, headers=bearer(key), json={"token": "x"}))  # now cached
    deactivate(app, Partner, partner)
    later = time.monotonic() + float(app.config["AUTH_CACHE_SECONDS"]) + 0.1
    monkeypatch.setattr(auth, "time", types.SimpleNamespace(monotonic=lambda: later))
    refused(client.post(INTROSPECT, headers=bearer(key), json={"token": "x"}))


@pytest.mark.parametrize("size", [513, 4096, 60_000])
def test_oversized_authorization_headers_are_refused(estate: Estate, size: int) -> None:
    for path, method, body in ((ME, "GET", None), (INTROSPECT, "POST", {"token": "x"}),
                               ("/admin/v1/disputes", "GET", None), (INGEST, "POST", RECORDS)):
        response = estate.client.open(path, method=method, json=body,
                                      headers={"Authorization": "Bearer " + "a" * size})
        refused(response)


def test_a_used_token_cannot_be_replayed(estate: Estate) -> None:
    token = estate.token("medical_credit", "hospital")
    key = bearer(estate.partner_key("hospital"))
    path = "/partner/v1/medical-credit/authorizations"
    assert estate.client.post(path, headers=key, json={
        "token": token, "out_request_no": "first", "amount_fen": 1000}).status_code == 201
    replay = estate.client.post(path, headers=key, json={
        "token": token, "out_request_no": "second", "amount_fen": 1000})
    assert 400 <= replay.status_code < 500 and replay.mimetype == PROBLEM
    assert ok(estate.client.post(INTROSPECT, headers=key, json={"token": token})) == {
        "active": False}
