"""An independent JOSE implementation (jwcrypto) verifies issued tokens against the JWKS."""

from __future__ import annotations

import json

import pytest
from jwcrypto import jwk, jws, jwt

from tests.support.tokens import World


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


def test_jwcrypto_verifies_an_issued_token_with_the_published_jwks(world, client, clock):
    token = world.token()
    keyset = jwk.JWKSet.from_json(json.dumps(client.get("/.well-known/jwks.json").get_json()))
    # Signature and header by jwcrypto; the time claims against the tests' frozen clock.
    verified = jwt.JWT(jwt=token, key=keyset, algs=["EdDSA"], check_claims=False)
    claims = json.loads(verified.claims)
    assert claims["aud"] == world.hospital.client_id
    assert claims["iat"] <= clock.now().timestamp() < claims["exp"]
    header = json.loads(verified.header)
    assert header["typ"] == "pc-entitlement+jwt" and header["alg"] == "EdDSA"
    assert claims["scn"] == "medical_credit" and claims["ent"]["eligible"] is True
    published = {k["kid"]: k for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    assert published[header["kid"]]["use"] == "sig"
    assert published[header["kid"]]["alg"] == "EdDSA"


def test_jwcrypto_rejects_a_tampered_token(world, client):
    head, body, sig = world.token().split(".")
    keyset = jwk.JWKSet.from_json(json.dumps(client.get("/.well-known/jwks.json").get_json()))
    forged = f"{head}.{body[:-2]}AA.{sig}"
    with pytest.raises((jws.InvalidJWSSignature, jws.InvalidJWSObject, jwt.JWTMissingKey)):
        jwt.JWT(jwt=forged, key=keyset, algs=["EdDSA"], check_claims=False)
