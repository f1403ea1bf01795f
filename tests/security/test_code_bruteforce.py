"""Guessing one-time codes (issue 20 item 3): the attacker is a partner that sends made-up
18-digit codes, hoping to hit a live code of one of its own residents (a code works only at the
partner it was issued for). Wrong codes are limited per partner; past the limit every code is
refused alike, right or wrong, so the refusal cannot be used to test a guess either.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from app import create_app
from tests.support.codes import CALLS, Call, Codes, unknown_code, without_request_id

LIMIT = 3
INTROSPECT = CALLS[0]


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "RATE_LIMIT_CODE_MISSES": f"{LIMIT}/60"}


@pytest.fixture
def codes(app: Any, client: Any, idp: Any) -> Codes:
    return Codes(app, client, idp)


def refused(response: Any) -> None:
    assert response.status_code == 429, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def miss(w: Codes, call: Call, partner: Any = None) -> None:
    response = call.send(w, unknown_code(), partner=partner)
    if call.uses:
        assert response.get_json()["code"] == "code_unknown", response.get_json()
    else:
        assert response.get_json() == {"active": False}


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
def test_wrong_codes_past_the_limit_are_refused_with_429_and_retry_after(codes: Codes,
                                                                         call: Call) -> None:
    for _ in range(LIMIT):
        miss(codes, call)
    refused(call.send(codes, unknown_code()))


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
def test_past_the_limit_a_live_code_is_refused_exactly_as_a_wrong_one(codes: Codes,
                                                                      call: Call) -> None:
    live = call.issue(codes)
    for _ in range(LIMIT):
        miss(codes, call)
    right, wrong = call.send(codes, live["code"]), call.send(codes, unknown_code())
    refused(right)
    assert without_request_id(right) == without_request_id(wrong)
    assert right.headers["Retry-After"] == wrong.headers["Retry-After"]
    # The signed token is not a guess: it still works, and so the code was not spent.
    assert call.send(codes, live["token"]).status_code == call.ok


def test_another_partners_live_codes_count_as_wrong_codes(codes: Codes) -> None:
    twin = codes.twin(codes.hospital)
    theirs = [codes.issue("medical_credit", twin)["code"] for _ in range(LIMIT)]
    for code in theirs:
        assert INTROSPECT.send(codes, code).get_json() == {"active": False}
    refused(INTROSPECT.send(codes, theirs[0]))
    assert INTROSPECT.send(codes, theirs[0], partner=twin).get_json()["active"] is True


def test_wrong_codes_count_across_the_calls_of_one_partner(codes: Codes) -> None:
    authorize = next(c for c in CALLS if c.name == "authorize")
    miss(codes, INTROSPECT)
    miss(codes, authorize)
    miss(codes, CALLS[1])  # introspection as a form
    refused(authorize.send(codes, unknown_code()))
    refused(INTROSPECT.send(codes, unknown_code()))


def test_the_limit_is_per_partner(codes: Codes) -> None:
    for _ in range(LIMIT):
        miss(codes, INTROSPECT)
    refused(INTROSPECT.send(codes, unknown_code()))
    twin = codes.twin(codes.hospital)
    theirs = codes.issue("medical_credit", twin)["code"]
    assert INTROSPECT.send(codes, theirs, partner=twin).get_json()["active"] is True
    miss(codes, INTROSPECT, partner=twin)


def test_right_codes_do_not_count(codes: Codes) -> None:
    code = codes.issue("medical_credit", codes.hospital)["code"]
    for _ in range(LIMIT * 3):
        assert INTROSPECT.send(codes, code).get_json()["active"] is True


@pytest.mark.services
def test_the_count_is_shared_by_every_app_instance(codes: Codes, config: dict[str, Any],
                                                   clock: Any, redis_url: str) -> None:
    other = create_app(config, clock=clock)
    try:
        for _ in range(LIMIT):
            miss(codes, INTROSPECT)
        elsewhere = other.test_client().post(
            "/partner/v1/tokens/introspect", headers={"Authorization":
                                                      f"Bearer {codes.hospital_key}"},
            json={"token": unknown_code()})
        refused(elsewhere)
    finally:
        other.extensions["pengcheng"].engine.dispose()


def test_codes_work_again_once_the_window_ends(codes: Codes, config: dict[str, Any],
                                               clock: Any) -> None:
    short = create_app({**config, "RATE_LIMIT_CODE_MISSES": f"{LIMIT}/2"}, clock=clock)
    try:
        client = short.test_client()

        def introspect(token: str) -> Any:
            return client.post("/partner/v1/tokens/introspect",
                               headers={"Authorization": f"Bearer {codes.hospital_key}"},
                               json={"token": token})

        code = codes.issue("medical_credit", codes.hospital)["code"]
        for _ in range(LIMIT * 10):  # until a window is spent (a slow machine may start two)
            answer = introspect(unknown_code())
            if answer.status_code == 429:
                break
        else:
            pytest.fail("wrong codes were never limited")
        assert introspect(code).status_code == 429
        time.sleep(int(answer.headers["Retry-After"]) + 0.2)
        assert introspect(code).get_json()["active"] is True
    finally:
        short.extensions["pengcheng"].engine.dispose()
