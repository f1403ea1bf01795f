"""Rate limits cannot be turned into a city-wide lockout (issue 21, part 5).

Sign-in and report verification are limited per client address and per subject (the identity an
assertion proves, the code asked about); the client address comes from X-Forwarded-For only
through the configured trusted proxy hops. Each test attacks one way of locking others out.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app import create_app
from app.config import ConfigError
from app.ratelimit import RedisRateLimits
from tests.support.factories import id_number

PROXY = "10.0.0.1"  # the load balancer: every request arrives from it
A, B = "198.51.100.7", "203.0.113.20"
JUNK = "eyJhbGciOiJFZERTQSIsImtpZCI6ImlkcC0xIn0.e30.AAAA"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "RATE_LIMIT_LOGIN": "5/60", "RATE_LIMIT_LOGIN_IDENTITY": "3/60",
            "RATE_LIMIT_REPORT_VERIFY": "6/60", "RATE_LIMIT_REPORT_VERIFY_CODE": "2/60"}


def sign_in(client: Any, assertion: str, *, remote: str = A,
            forwarded: str | None = None) -> Any:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/api/v1/auth/session", json={"assertion": assertion}, headers=headers,
                       environ_base={"REMOTE_ADDR": remote})


def verify(client: Any, code: str, *, remote: str = A, forwarded: str | None = None) -> Any:
    headers = {"Accept": "application/json"}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return client.get("/reports/verify", query_string={"code": code}, headers=headers,
                      environ_base={"REMOTE_ADDR": remote})


def refused(response: Any) -> None:
    assert response.status_code == 429, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def flood_junk(client: Any, **where: Any) -> None:
    answers = [sign_in(client, JUNK, **where).status_code for _ in range(7)]
    assert answers == [401] * 5 + [429] * 2


# -- sign-in ---------------------------------------------------------------------------------

def test_junk_from_one_address_does_not_lock_out_another(client, idp):
    flood_junk(client, remote=A)
    refused(sign_in(client, idp.assertion(id_number(1)), remote=A))
    assert sign_in(client, idp.assertion(id_number(1)), remote=B).status_code == 201


class TestBehindOneTrustedProxy:
    @pytest.fixture
    def config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "TRUSTED_PROXIES": 1}

    def test_junk_from_one_client_does_not_lock_out_another(self, client, idp):
        flood_junk(client, remote=PROXY, forwarded=A)
        refused(sign_in(client, idp.assertion(id_number(1)), remote=PROXY, forwarded=A))
        assert sign_in(client, idp.assertion(id_number(2)), remote=PROXY,
                       forwarded=B).status_code == 201

    def test_a_client_cannot_forge_its_way_past_the_proxy(self, client, idp):
        # The proxy appends the address it saw; whatever the client wrote before it is not
        # believed: A stays A whatever it claims.
        for n in range(5):
            assert sign_in(client, JUNK, remote=PROXY,
                           forwarded=f"192.0.2.{n}, {A}").status_code == 401
        refused(sign_in(client, JUNK, remote=PROXY, forwarded=f"{B}, {A}"))
        assert sign_in(client, idp.assertion(id_number(2)), remote=PROXY,
                       forwarded=B).status_code == 201


class TestWithoutTrustedProxies:
    def test_a_forged_forwarded_for_changes_nothing(self, client, idp):
        for n in range(5):
            assert sign_in(client, JUNK, remote=A, forwarded=f"192.0.2.{n}").status_code == 401
        refused(sign_in(client, JUNK, remote=A, forwarded="192.0.2.99"))
        refused(sign_in(client, idp.assertion(id_number(1)), remote=A, forwarded=B))

    def test_another_client_is_not_blamed_for_a_forged_header(self, client, idp):
        flood_junk(client, remote=A, forwarded=B)
        assert sign_in(client, idp.assertion(id_number(1)), remote=B).status_code == 201


def test_a_flood_against_one_identity_leaves_its_address_to_the_others(client, idp):
    answers = [sign_in(client, idp.assertion(id_number(1)), remote=A).status_code
               for _ in range(10)]  # fresh assertions: a replayed one is refused outright
    assert answers == [201] * 3 + [429] * 7
    refused(sign_in(client, idp.assertion(id_number(1)), remote=A))
    refused(sign_in(client, idp.assertion(id_number(1)), remote=B))  # the identity, anywhere
    assert sign_in(client, idp.assertion(id_number(2)), remote=A).status_code == 201
    assert sign_in(client, idp.assertion(id_number(3)), remote=A).status_code == 201


def test_junk_does_not_count_against_any_identity(client, idp):
    flood_junk(client, remote=A)
    for _ in range(3):
        assert sign_in(client, idp.assertion(id_number(1)), remote=B).status_code == 201


def test_an_ipv6_client_counts_by_its_prefix(client, idp):
    for n in range(5):
        assert sign_in(client, JUNK, remote=f"2001:db8:1:2::{n + 1}").status_code == 401
    refused(sign_in(client, JUNK, remote="2001:db8:1:2:ffff::1"))
    assert sign_in(client, idp.assertion(id_number(1)), remote="2001:db8:1:3::1"
                   ).status_code == 201


class TestWithRedisUnreachable:
    @pytest.fixture
    def client(self, app: Any) -> Any:
        app.extensions["pengcheng"] = dataclasses.replace(
            app.extensions["pengcheng"], limiter=RedisRateLimits("redis://127.0.0.1:1/0"))
        return app.test_client()

    def test_the_in_process_fallback_still_limits(self, client, idp):
        flood_junk(client, remote=A)
        assert sign_in(client, idp.assertion(id_number(1)), remote=B).status_code == 201
        answers = [sign_in(client, idp.assertion(id_number(2)), remote=B).status_code
                   for _ in range(4)]
        assert answers == [201] * 3 + [429]


# -- report verification ---------------------------------------------------------------------

CODE_X, CODE_Y = "X" * 24, "Y" * 24  # well-formed codes; no report has them


def test_a_flood_against_one_code_leaves_its_address_to_the_others(client):
    answers = [verify(client, CODE_X, remote=A).status_code for _ in range(8)]
    assert answers == [200] * 2 + [429] * 6
    refused(verify(client, CODE_X, remote=B))
    assert verify(client, CODE_Y, remote=A).get_json()["reason"] == "unknown_code"


def test_code_guessing_from_one_address_does_not_lock_out_another(client):
    for n in range(6):
        assert verify(client, f"{n:024d}", remote=A).status_code == 200
    refused(verify(client, CODE_Y, remote=A))
    assert verify(client, CODE_Y, remote=B).status_code == 200
    page = client.get("/reports/verify", query_string={"code": CODE_X},
                      environ_base={"REMOTE_ADDR": A})
    assert page.status_code == 429 and page.mimetype == "text/html"


def test_posted_documents_are_limited_per_document_and_address(client):
    def post(document: str, remote: str = A) -> int:
        return client.post("/reports/verify", json={"jws": document},
                           environ_base={"REMOTE_ADDR": remote}).status_code

    assert [post("a.b.c") for _ in range(3)] == [200, 200, 429]
    assert [post(f"{n}.b.c") for n in range(5)] == [200] * 4 + [429]
    assert post("z.b.c", remote=B) == 200


class TestVerificationBehindOneTrustedProxy:
    @pytest.fixture
    def config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "TRUSTED_PROXIES": 1}

    def test_guessing_from_one_client_does_not_lock_out_another(self, client):
        for n in range(6):
            assert verify(client, f"{n:024d}", remote=PROXY, forwarded=A).status_code == 200
        refused(verify(client, CODE_Y, remote=PROXY, forwarded=A))
        assert verify(client, CODE_Y, remote=PROXY, forwarded=B).status_code == 200


# -- configuration ---------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value"), [
    ("TRUSTED_PROXIES", -1), ("TRUSTED_PROXIES", "two"), ("TRUSTED_PROXIES", True),
    ("RATE_LIMIT_LOGIN", "twenty"), ("RATE_LIMIT_LOGIN_IDENTITY", "5/x")])
def test_a_bad_proxy_or_limit_setting_does_not_start(config, key, value):
    with pytest.raises(ConfigError, match=f"PENGCHENG_{key}"):
        create_app({**config, key: value})
