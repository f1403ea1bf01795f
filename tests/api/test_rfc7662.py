"""What a partner's OAuth / JOSE library expects (issue 20 item 5): RFC 7662 form requests and
members, JWKS caching and one document per key purpose, canonical base64url signatures, and
`WWW-Authenticate` on every 401 (RFC 6750)."""

from __future__ import annotations

import base64

import pytest

from tests.support.factories import bearer
from tests.support.tokens import World, claims_of, introspect

INTROSPECT = "/partner/v1/tokens/introspect"
DOCUMENTS = {"/.well-known/jwks.json": "token", "/.well-known/receipt-keys.json": "receipt",
             "/.well-known/report-keys.json": "report", "/.well-known/audit-keys.json": "audit"}


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


def test_introspection_accepts_a_form_request_and_answers_the_standard_members(world, client):
    token = world.token()
    response = client.post(INTROSPECT, headers=bearer(world.hospital_key),
                           data={"token": token, "token_type_hint": "access_token"})
    assert response.status_code == 200
    body = response.get_json()
    claims = claims_of(token)
    assert body["active"] is True
    for member in ("scn", "sub", "exp", "iat", "aud", "iss", "jti"):
        assert body[member] == claims[member], member
    assert body["scope"] == claims["scn"]
    assert body["client_id"] == world.hospital.client_id
    assert body["token_type"] == "pc-entitlement+jwt"
    # The same answer as a JSON request.
    assert introspect(client, world.hospital_key, token).get_json() == body


def test_a_form_request_for_another_partner_is_exactly_inactive(world, client):
    token = world.token()
    for key in (world.other_key, world.bikes_key):
        response = client.post(INTROSPECT, headers=bearer(key), data={"token": token})
        assert response.status_code == 200
        assert response.get_data(as_text=True).strip() in ('{"active":false}',
                                                           '{"active": false}')


def test_a_form_request_without_a_token_is_refused(world, client):
    response = client.post(INTROSPECT, headers=bearer(world.hospital_key), data={"tok": "x"})
    assert response.status_code == 422


def test_a_form_field_is_held_to_the_same_text_rules_as_json(world, client):
    response = client.post(INTROSPECT, headers=bearer(world.hospital_key),
                           data={"token": "abc\x00def"})
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_failed"


def test_a_form_body_elsewhere_is_still_refused(world, client):
    response = client.post("/partner/v1/tokens/consume", headers=bearer(world.hospital_key),
                           data={"token": world.token(), "out_use_no": "use-1"})
    assert response.status_code == 415


def test_each_key_purpose_has_its_own_cached_jwks(client):
    seen: set[str] = set()
    for path, purpose in DOCUMENTS.items():
        response = client.get(path)
        assert response.status_code == 200, path
        cache = response.headers["Cache-Control"]
        assert "public" in cache and "max-age=" in cache, path
        keys = response.get_json()["keys"]
        assert len(keys) >= 2  # active and next
        assert all(k["kid"].startswith(f"{purpose}-") and k["use"] == "sig" for k in keys), path
        assert not seen & {k["kid"] for k in keys}
        seen |= {k["kid"] for k in keys}


def test_the_token_jwks_is_cached_no_longer_than_a_token_lives(client):
    cache = client.get("/.well-known/jwks.json").headers["Cache-Control"]
    max_age = int(cache.split("max-age=")[1].split(",")[0])
    assert 0 < max_age <= 300


def _noncanonical(signature: str) -> list[str]:
    """The same 64 signature bytes in other base64url spellings: extra trailing bits set in
    the last character (86 characters carry 516 bits for 512), and padding."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    other = alphabet[last | 0b1111 if last & 0b1111 == 0 else last & ~0b1111]
    spelled = signature[:-1] + other
    raw = base64.urlsafe_b64decode(signature + "==")
    assert base64.urlsafe_b64decode(spelled + "==") == raw
    return [spelled, signature + "=="]


def test_a_non_canonical_signature_is_refused(world, client):
    token = world.token()
    head, body, signature = token.split(".")
    for spelled in _noncanonical(signature):
        forged = f"{head}.{body}.{spelled}"
        assert introspect(client, world.hospital_key, forged).get_json() == {"active": False}
        response = client.post("/partner/v1/tokens/consume", headers=bearer(world.hospital_key),
                               json={"token": forged, "out_use_no": "use-1"})
        assert response.status_code in (400, 401, 403, 409, 422)
        assert response.get_json()["code"] in ("token_malformed", "token_bad_signature")
    assert introspect(client, world.hospital_key, token).get_json()["active"] is True


def test_a_401_without_credentials_names_the_bearer_scheme(client):
    response = client.post(INTROSPECT, json={"token": "x"})
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer realm=")
    assert "error=" not in challenge  # RFC 6750 §3.1: no error code when none was sent


def test_a_401_for_a_wrong_credential_says_invalid_token(client):
    response = client.post(INTROSPECT, headers=bearer("pk_not_a_key"), json={"token": "x"})
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer realm=") and 'error="invalid_token"' in challenge
    response = client.get("/api/v1/me", headers=bearer("not-a-session"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
