"""Attacks on identity assertions (issue 20 item 7): replay, long lifetimes, missing `iat` or
`jti`, and claims of the wrong type. Each is refused with 401 problem+json, never a 500."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jwt
import pytest

from tests.conftest import T0
from tests.support.factories import id_number


def _session(client: Any, assertion: str) -> Any:
    return client.post("/api/v1/auth/session", json={"assertion": assertion})


def _refused(response: Any, code: str) -> dict[str, Any]:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code, body
    assert "token" not in body
    return body


def _signed(idp: Any, claims: dict[str, Any]) -> str:
    """Signed as the identity provider would, whatever the claims hold (no client-side checks)."""
    return jwt.api_jws.encode(json.dumps(claims).encode(), idp.key, algorithm="EdDSA",
                              headers={"kid": "idp-1"})


def _claims(idp: Any) -> dict[str, Any]:
    return dict(jwt.decode(idp.assertion(id_number(1)), options={"verify_signature": False}))


def test_the_same_assertion_presented_twice_opens_one_session(client, idp):
    assertion = idp.assertion(id_number(1))
    assert _session(client, assertion).status_code == 201
    _refused(_session(client, assertion), "assertion_replayed")


def test_a_replay_is_refused_until_the_assertion_expires(client, idp, clock):
    assertion = idp.assertion(id_number(1))
    assert _session(client, assertion).status_code == 201
    clock.advance(minutes=4)
    _refused(_session(client, assertion), "assertion_replayed")


@pytest.mark.parametrize("lifetime", [timedelta(hours=1), timedelta(minutes=10, seconds=1)])
def test_an_assertion_with_a_long_lifetime_is_refused(client, idp, lifetime):
    claims = _claims(idp) | {"iat": int(T0.timestamp()), "exp": int((T0 + lifetime).timestamp())}
    _refused(_session(client, _signed(idp, claims)), "assertion_invalid")


def test_an_assertion_of_exactly_ten_minutes_is_accepted(client, idp):
    claims = _claims(idp) | {"exp": int((T0 + timedelta(minutes=10)).timestamp())}
    assert _session(client, _signed(idp, claims)).status_code == 201


@pytest.mark.parametrize("claim", ["jti", "iat"])
def test_an_assertion_without_jti_or_iat_is_refused(client, idp, claim):
    claims = _claims(idp)
    del claims[claim]
    _refused(_session(client, _signed(idp, claims)), "assertion_invalid")


def test_an_assertion_issued_in_the_future_is_refused(client, idp):
    claims = _claims(idp) | {"iat": int((T0 + timedelta(minutes=5)).timestamp()),
                             "exp": int((T0 + timedelta(minutes=9)).timestamp())}
    _refused(_session(client, _signed(idp, claims)), "assertion_invalid")


@pytest.mark.parametrize("claim,value", [
    ("phone_number", 13912345678), ("phone_number", ["13912345678"]),
    ("phone_number", {"n": "1"}), ("phone_number", "1391234\ud8005678"),
    ("phone_number", "x" * 200),
    ("name", "张\ud800三"), ("name", "\udfff"), ("name", "x" * 1000), ("name", "张\x00三"),
    ("jti", 12345), ("jti", ""), ("jti", "j" * 300), ("iat", "now"), ("iat", True),
    ("iss", 7), ("sub", 42), ("sub", ["u-1"]),
])
def test_a_claim_of_the_wrong_type_is_a_401_not_a_500(client, idp, claim, value):
    claims = _claims(idp) | {claim: value}
    response = _session(client, _signed(idp, claims))
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] in {"assertion_invalid", "unauthorized"}
    # and the account was not created on the way
    assert _session(client, idp.assertion(id_number(1))).status_code == 201


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_time_that_is_not_a_finite_number_is_refused(client, idp, claim, value):
    """`NaN` as `exp` compares false with everything: it would never expire."""
    claims = _claims(idp) | {claim: f"@{value}@"}
    payload = json.dumps(claims).replace(f'"@{value}@"', value).encode()
    assertion = jwt.api_jws.encode(payload, idp.key, algorithm="EdDSA", headers={"kid": "idp-1"})
    _refused(_session(client, assertion), "assertion_invalid")


def test_two_fresh_assertions_for_the_same_person_each_sign_in(client, idp):
    assert _session(client, idp.assertion(id_number(1))).status_code == 201
    assert _session(client, idp.assertion(id_number(1))).status_code == 201


def test_a_replay_to_another_process_is_refused_through_redis(app, client, idp, config, clock,
                                                              tmp_path, monkeypatch, redis_url):
    """Two app instances (two processes in production) share the seen `jti`s in Redis."""
    from tests.conftest import new_app

    assert config["REDIS_URL"] == redis_url
    other = new_app(config, clock, tmp_path, monkeypatch)
    try:
        assertion = idp.assertion(id_number(1))
        assert _session(client, assertion).status_code == 201
        _refused(_session(other.test_client(), assertion), "assertion_replayed")
    finally:
        other.extensions["pengcheng"].engine.dispose()
