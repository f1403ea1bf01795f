"""Short one-time codes (issue 20 item 3): every partner call that takes `token` takes the
token's 18-digit code in the same field, answered only to the partner it was issued for,
single use with its token, and the QR shows it.

The attack the promise "never reveal whether a code exists for another partner" invites: a
partner sends another partner's live code and compares the answer with an unknown code's. The
answers here are compared byte for byte (apart from the request id), and with an expired and a
used code's too.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select, text

from app.runtime import runtime
from core.clock import FrozenClock
from core.qr import svg
from rewards.models import IssuedToken
from rewards.token_jobs import KEEP
from rewards.tokens import _BY_CODE
from tests.support.codes import CALLS, CODE, WRITES, Call, Codes, unknown_code, without_request_id
from tests.support.points import run_job
from tests.support.statements import statements
from tests.support.tokens import consume_as


@pytest.fixture
def codes(app: Any, client: Any, idp: Any) -> Codes:
    return Codes(app, client, idp)


def now(w: Codes) -> datetime:
    with w.app.app_context():
        return runtime().clock.now()


def advance(w: Codes, seconds: float) -> None:
    with w.app.app_context():
        clock = runtime().clock
        assert isinstance(clock, FrozenClock)
        clock.advance(seconds=seconds)
    w.relogin()


def lifetime(w: Codes, issued: dict[str, Any]) -> float:
    """Seconds from now until `issued` expires."""
    return (datetime.fromisoformat(issued["expires_at"]) - now(w)).total_seconds()


def use_up(w: Codes, call: Call, token: str) -> None:
    """Use the token up the way `call`'s scenario is used (introspection uses nothing: a hold)."""
    if call.uses:
        response = call.send(w, token)
        assert response.status_code == call.ok, response.get_json()
    else:
        consume_as(w.app, call.partner_of(w), token, call.scenario)


def test_a_token_comes_with_an_18_digit_code_and_its_qr_shows_the_code(codes: Codes) -> None:
    first = codes.issue("medical_credit", codes.hospital)
    second = codes.issue("medical_credit", codes.hospital)
    assert CODE.fullmatch(first["code"]) and CODE.fullmatch(second["code"])
    assert first["code"] != second["code"]
    assert first["qr_svg"] == svg(first["code"])  # the QR carries the code, not the JWS
    assert len(first["qr_svg"]) < len(svg(first["token"])) // 5


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
def test_every_partner_call_takes_the_code_in_the_token_field(codes: Codes, call: Call) -> None:
    issued = call.issue(codes)
    response = call.send(codes, issued["code"])
    assert response.status_code == call.ok, response.get_json()
    if call.uses:
        assert response.get_json()["sub"].startswith("ps_")
    else:
        assert response.get_json()["active"] is True


@pytest.mark.parametrize("call", CALLS[:2], ids=lambda c: c.name)
def test_introspecting_a_code_answers_as_the_token_does_plus_the_signed_token(
        codes: Codes, client: Any, call: Call) -> None:
    issued = call.issue(codes)
    by_code = call.send(codes, issued["code"]).get_json()
    by_token = call.send(codes, issued["token"]).get_json()
    assert by_code == {**by_token, "token": issued["token"]}
    assert "token" not in by_token
    # The partner's record verifies offline against the published keys.
    keys = {k["kid"]: k for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    kid = jwt.get_unverified_header(by_code["token"])["kid"]
    key = jwt.PyJWK(keys[kid]).key
    claims = jwt.decode(by_code["token"], key, algorithms=["EdDSA"],  # the test clock is frozen
                        audience=codes.hospital.client_id, options={"verify_exp": False})
    assert claims["jti"] == by_code["jti"] and claims["sub"] == by_code["sub"]


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
def test_another_partners_code_is_answered_as_an_unknown_an_expired_or_a_used_code(
        codes: Codes, call: Call) -> None:
    partner = call.partner_of(codes)
    twin = codes.twin(partner)
    theirs = codes.issue(call.scenario, twin)["code"]  # live, for the other partner
    used = call.issue(codes)
    use_up(codes, call, used["token"])
    expired = call.issue(codes)["code"]
    answers = {"unknown": without_request_id(call.send(codes, unknown_code())),
               "another partner's": without_request_id(call.send(codes, theirs)),
               "used": without_request_id(call.send(codes, used["code"]))}
    # Still live for the partner it was issued for: trying it elsewhere spent nothing.
    assert CALLS[0].send(codes, theirs, partner=twin).get_json()["active"] is True
    advance(codes, 301)  # past every token's lifetime (at most 300 s)
    answers["expired"] = without_request_id(call.send(codes, expired))
    assert len(set(answers.values())) == 1, answers
    status, _, body = answers["unknown"]
    if call.uses:
        assert (status, json.loads(body)["code"]) == (422, "code_unknown")
    else:
        assert (status, json.loads(body)) == (200, {"active": False})


@pytest.mark.parametrize("call", WRITES, ids=lambda c: c.name)
def test_using_the_code_uses_the_token(codes: Codes, call: Call) -> None:
    issued = call.issue(codes)
    assert call.send(codes, issued["code"]).status_code == call.ok
    replay = call.send(codes, issued["token"])
    assert (replay.status_code, replay.get_json()["code"]) == (409, "token_replayed")


@pytest.mark.parametrize("call", WRITES, ids=lambda c: c.name)
def test_using_the_token_uses_the_code(codes: Codes, call: Call) -> None:
    issued = call.issue(codes)
    assert call.send(codes, issued["token"]).status_code == call.ok
    again = call.send(codes, issued["code"])
    assert (again.status_code, again.get_json()["code"]) == (422, "code_unknown")
    introspected = CALLS[0].send(codes, issued["code"], partner=call.partner_of(codes))
    assert introspected.get_json() == {"active": False}


@pytest.mark.parametrize("call", WRITES, ids=lambda c: c.name)
def test_a_retry_with_the_same_code_gets_the_first_answer(codes: Codes, call: Call) -> None:
    code = call.issue(codes)["code"]
    first = call.send(codes, code, no="retry-1")
    again = call.send(codes, code, no="retry-1")
    assert first.status_code == again.status_code == call.ok
    assert first.data == again.data


def test_a_code_is_refused_once_its_token_has_expired(codes: Codes) -> None:
    call = WRITES[1]  # a hold
    issued = call.issue(codes)
    code = issued["code"]
    advance(codes, lifetime(codes, issued) - 1)
    assert CALLS[0].send(codes, code).get_json()["active"] is True
    advance(codes, 1)
    assert CALLS[0].send(codes, code).get_json() == {"active": False}
    assert call.send(codes, code).get_json()["code"] == "code_unknown"


def test_a_code_is_only_its_digits(codes: Codes) -> None:
    """Spaces (as printed), a full-width or Arabic-Indic digit, a digit more: no code."""
    code = codes.issue("medical_credit", codes.hospital)["code"]
    spaced = f"{code[:2]} {code[2:6]} {code[6:10]} {code[10:14]} {code[14:]}"
    full_width = code[:-1] + chr(0xFF10 + int(code[-1]))
    arabic = code[:-1] + chr(0x0660 + int(code[-1]))
    for variant in (spaced, full_width, arabic, code + "0", " " + code):
        assert CALLS[0].send(codes, variant).get_json() == {"active": False}, variant
    assert CALLS[0].send(codes, code).get_json()["active"] is True


def _sent(sent: list[str]) -> list[str]:
    """Besides reading the partner and the signing keys (cached after a first request)."""
    return [s for s in sent if not s.startswith(("SELECT partners", "SELECT signing_keys"))]


@pytest.mark.parametrize("call", [c for c in CALLS if c.name in ("introspect", "authorize",
                                                                   "redeem")], ids=lambda c: c.name)
def test_a_code_costs_one_indexed_select_more_and_a_token_nothing_more(
        app: Any, codes: Codes, call: Call) -> None:
    function = {"introspect": "pc_introspect", "authorize": "pc_credit_authorize",
                "redeem": "pc_redeem"}[call.name]
    by_token, by_code = call.issue(codes), call.issue(codes)
    with statements(app) as sent:
        assert call.send(codes, by_token["token"]).status_code == call.ok
    assert len(_sent(sent)) == 1 and function in _sent(sent)[0], sent
    with statements(app) as sent:
        assert call.send(codes, by_code["code"]).status_code == call.ok
    lookup, used = _sent(sent)
    assert lookup.startswith("SELECT i.token FROM issued_tokens i WHERE i.code =")
    assert function in used
    with app.app_context(), runtime().uow() as uow:  # a table of some size, rolled back
        uow.session.execute(text(
            "INSERT INTO issued_tokens SELECT md5(g::text), '29' || lpad(g::text, 16, '0'),"
            " partner_id, resident_id, scenario, limits, token, issued_at, expires_at"
            " FROM issued_tokens, generate_series(1, 5000) AS g WHERE code = :code"),
            {"code": by_token["code"]})
        uow.session.execute(text("ANALYZE issued_tokens"))
        plan = "\n".join(uow.session.scalars(text(f"EXPLAIN {_BY_CODE.text}"), {
            "code": by_code["code"], "client_id": call.partner_of(codes).client_id,
            "now": now(codes)}))
    assert "Index Scan using uq_issued_tokens_code" in plan, plan


def _rows(w: Codes) -> int:
    with w.app.app_context(), runtime().uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(IssuedToken)) or 0)


def test_the_job_deletes_the_rows_of_tokens_expired_past_the_margin(codes: Codes) -> None:
    old = codes.issue("medical_credit", codes.hospital)
    advance(codes, lifetime(codes, old) + KEEP.total_seconds() - 60)
    live = codes.issue("medical_credit", codes.hospital)
    assert _rows(codes) == 2
    assert run_job(codes.app, "tokens.forget_expired") == {"deleted": 0}  # inside the margin
    advance(codes, 120)
    assert run_job(codes.app, "tokens.forget_expired") == {"deleted": 1}
    assert run_job(codes.app, "tokens.forget_expired") == {"deleted": 0}
    assert _rows(codes) == 1
    assert CALLS[0].send(codes, live["code"]).get_json()["active"] is True
