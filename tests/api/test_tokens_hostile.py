"""Hostile tokens: each is refused by `consume` with its own code, and introspects inactive."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.runtime import runtime
from rewards.errors import TokenRejected
from tests.support.tokens import World, consume_as, introspect, signed


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64json(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def parts(token: str) -> tuple[dict, dict, str]:
    head, body, sig = token.split(".")
    dec = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))  # noqa: E731
    return dec(head), dec(body), sig


def public_raw(app: Any, kid: str) -> bytes:
    from core.signing import SigningKey

    with app.app_context(), runtime().uow() as uow:
        return uow.session.get(SigningKey, kid).public_raw


def hostile(world: Any, app: Any, case: str) -> str:
    good = world.token()
    header, claims, sig = parts(good)
    h, c, _ = good.split(".")
    if case == "alg_none":
        return f"{b64json({**header, 'alg': 'none'})}.{c}."
    if case == "hs256_with_public_key":
        head = b64json({**header, "alg": "HS256"})
        key = public_raw(app, header["kid"])
        mac = hmac.new(key, f"{head}.{c}".encode(), hashlib.sha256).digest()
        return f"{head}.{c}.{b64(mac)}"
    if case == "unknown_kid":
        return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                          headers={"kid": "token-20261101-deadbeef",
                                   "typ": "pc-entitlement+jwt"})
    if case == "key_of_another_purpose":
        return signed(app, claims, purpose="receipt")
    if case == "tampered_payload":
        return f"{h}.{b64json({**claims, 'ent': {'eligible': True, 'limit_fen': 9999999}})}.{sig}"
    if case == "tampered_signature":
        raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
        raw[0] ^= 1
        return f"{h}.{c}.{b64(bytes(raw))}"
    if case == "not_yet_valid":
        return signed(app, {**claims, "iat": claims["iat"] + 120, "exp": claims["exp"] + 120})
    if case == "lifetime_too_long":
        return signed(app, {**claims, "exp": claims["iat"] + 3600})
    if case == "foreign_issuer":
        return signed(app, {**claims, "iss": "https://evil.example"})
    if case == "wrong_audience":
        return world.token(partner=world.other)
    if case == "wrong_typ":
        return signed(app, claims, typ="JWT")
    if case == "missing_claim":
        return signed(app, {k: v for k, v in claims.items() if k != "jti"})
    if case == "oversized":
        return signed(app, {**claims, "ent": {"eligible": True, "pad": "x" * 3000}})
    if case == "not_a_jws":
        return "this is not a token"
    if case == "json_instead_of_jws":
        return json.dumps(claims)
    if case == "garbage_segments":
        return "a.b.c"
    raise AssertionError(case)


CASES = {
    "alg_none": "token_alg_not_allowed",
    "hs256_with_public_key": "token_alg_not_allowed",
    "unknown_kid": "token_unknown_key",
    "key_of_another_purpose": "token_unknown_key",
    "tampered_payload": "token_bad_signature",
    "tampered_signature": "token_bad_signature",
    "not_yet_valid": "token_not_yet_valid",
    "lifetime_too_long": "token_malformed",
    "foreign_issuer": "token_malformed",
    "wrong_audience": "token_wrong_audience",
    "wrong_typ": "token_malformed",
    "missing_claim": "token_malformed",
    "oversized": "token_too_large",
    "not_a_jws": "token_malformed",
    "json_instead_of_jws": "token_malformed",
    "garbage_segments": "token_malformed",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_token_is_refused_with_a_clear_code(world, app, client, case):
    token = hostile(world, app, case)
    with pytest.raises(TokenRejected) as caught:
        consume_as(app, world.hospital, token)
    assert caught.value.code == CASES[case]
    assert introspect(client, world.hospital_key, token).get_json() == {"active": False}


def test_an_expired_token_is_refused(world, app, client, clock):
    token = world.token()
    clock.advance(seconds=301)
    with pytest.raises(TokenRejected) as caught:
        consume_as(app, world.hospital, token)
    assert caught.value.code == "token_expired"
    assert introspect(client, world.hospital_key, token).get_json() == {"active": False}


def test_a_replayed_token_is_refused(world, app, client):
    token = world.token()
    consume_as(app, world.hospital, token)
    with pytest.raises(TokenRejected) as caught:
        consume_as(app, world.hospital, token)
    assert (caught.value.code, caught.value.status) == ("token_replayed", 409)
    assert introspect(client, world.hospital_key, token).get_json() == {"active": False}


def test_a_revoked_token_is_refused(world, app, client):
    from tests.support.tokens import withdraw

    token = world.token()
    withdraw(client, world.resident, world.consents["medical_credit"])
    with pytest.raises(TokenRejected) as caught:
        consume_as(app, world.hospital, token)
    assert caught.value.code == "token_revoked"


def test_a_token_for_another_scenario_is_refused(world, app):
    bike = world.token("deposit_waiver_bike", world.bikes)
    with pytest.raises(TokenRejected) as caught:
        consume_as(app, world.bikes, bike, scenario="deposit_waiver_powerbank")
    assert caught.value.code == "token_wrong_scenario"


@pytest.mark.parametrize("body", [{"token": 42}, {"token": None}, {}, {"token": ["a"]}])
def test_an_introspection_request_without_a_string_token_is_a_validation_error(world, client,
                                                                               body):
    response = client.post("/partner/v1/tokens/introspect", json=body,
                           headers={"Authorization": f"Bearer {world.hospital_key}"})
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_failed"
