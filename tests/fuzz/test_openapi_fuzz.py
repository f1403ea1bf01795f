"""Schemathesis over every operation of /openapi.json, with valid credentials for each actor.

Every answer must be a non-5xx response that matches its documented status, content type and
schema; errors are application/problem+json. Bounded for CI: PENGCHENG_FUZZ_EXAMPLES (default
5) examples per operation and phase. Run it longer with e.g.

    PENGCHENG_FUZZ_EXAMPLES=200 .venv/bin/pytest -q tests/fuzz

and focus it on some operations with PENGCHENG_FUZZ_ONLY (a regex over "METHOD /path").
"""

from __future__ import annotations

import itertools
import os
import re
from datetime import date
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.actors import scheme_of
from tests.security.estate import Estate
from tests.support.factories import bearer, id_number
from tests.support.tokens import ask_token, grant

EXAMPLES = int(os.environ.get("PENGCHENG_FUZZ_EXAMPLES", "5"))
PROBLEM = "application/problem+json"
# No shrinking in CI: a failure is reported as found (rerun longer locally to minimise it).
FUZZ_PHASES = (Phase.explicit, Phase.generate) if EXAMPLES <= 20 else tuple(Phase)

# Operations that end the caller's session or erase the caller: each example gets a resident of
# its own, so the shared resident stays signed in for every other operation.
SELF_DESTRUCTIVE = {("DELETE", "/api/v1/me"), ("DELETE", "/api/v1/auth/session")}
_fresh = itertools.count(1)
# Where a partner operation takes a resident's token: the scenario and the partner kind.
TOKEN_FOR = (("/partner/v1/medical-credit", "medical_credit", "hospital"),
             ("/partner/v1/deposit-waivers", "deposit_waiver_bike", "deposit_partner"),
             ("/partner/v1/points", "points_redemption", "merchant"),
             ("/partner/v1/tokens", "medical_credit", "hospital"))
# Findings in other areas' code, reported to the lead, each with a deterministic strict-xfail
# test of its own (tests/security/test_hostile_input.py, tests/fuzz/test_formats.py). While
# listed, the operation's fuzzing failure is an expected failure (not strict: random examples
# need not hit it every run).
KNOWN_FINDINGS: dict[str, str] = {}
FRESH_BORN = date(1985, 3, 9)  # ID numbers no other actor of this test uses


def problem_json_for_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx is problem+json with the stable `code` and the status repeated."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith(PROBLEM), f"{response.status_code} as {content_type}"
    body = response.json()
    assert body["status"] == response.status_code and body["code"], body
    return True


def valid_credentials_are_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """The credential the operation documents is never refused as unknown (401)."""
    sent = response.request.headers.get("Authorization")
    if scheme_of(case.operation.definition.raw) is None or not sent:
        return None  # public, or a negative case that leaves the credential out on purpose
    assert response.status_code != 401, (
        f"{case.operation.label} refused the credential its security scheme names")
    return True


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, problem_json_for_errors, valid_credentials_are_accepted]


def headers_for(case: Any, estate: Estate) -> dict[str, str]:
    method, path = case.operation.method.upper(), case.operation.path
    if (method, path) == ("DELETE", "/partner/v1/staff/sessions/current"):
        return bearer(estate.fresh_staff_session())  # signing out ends the session it uses
    if (method, path) in SELF_DESTRUCTIVE:
        n = next(_fresh)
        response = estate.client.post("/api/v1/auth/session", json={
            "assertion": estate.idp.assertion(id_number(n % 1000, FRESH_BORN), f"测试{n}")})
        assert response.status_code == 201, response.get_json()
        return bearer(response.get_json()["token"])
    return estate.headers(method, path, scheme_of(case.operation.definition.raw))


def with_real_objects(case: Any, estate: Estate, depth: int) -> None:
    """Aim part of the examples at real objects, so fuzzing reaches past "not found".

    depth 0: as generated; 1: ids of the resident's / partners' real objects in the path and
    body; 2: also a live token for the partner the path serves.
    """
    if depth == 0:
        return
    for name in list(case.path_parameters or {}):
        if name in estate.ids:
            case.path_parameters[name] = estate.ids[name]
    if isinstance(case.body, dict):
        for name in list(case.body):
            if name in estate.ids:
                case.body[name] = estate.ids[name]
        if depth == 2 and "token" in case.body:
            for prefix, scenario, kind in TOKEN_FOR:
                if case.operation.path.startswith(prefix):
                    case.body["token"] = live_token(estate, scenario, kind)
                    break


def live_token(estate: Estate, scenario: str, kind: str) -> str:
    """A token for `kind`'s partner; consents the fuzzing withdrew are given again first."""
    partner = estate.partners[kind][0].client_id
    response = ask_token(estate.client, estate.resident, scenario, partner)
    if response.status_code == 403:
        for purpose in ("scoring", f"scenario:{scenario}"):
            grant(estate.client, estate.resident, purpose)
        response = ask_token(estate.client, estate.resident, scenario, partner)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def fuzz(operation: Any, estate: Estate, mode: GenerationMode) -> None:
    """Hypothesis over one operation's generated cases; fails with the first broken contract."""

    @given(case=operation.as_strategy(generation_mode=mode), depth=st.integers(0, 2))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=FUZZ_PHASES)
    def run(case: Any, depth: int) -> None:
        with_real_objects(case, estate, depth)
        headers = headers_for(case, estate)
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        run()
    except Unsatisfiable:
        # An operation that takes no input has no invalid input to send.
        assert mode == GenerationMode.NEGATIVE, operation.label


def test_every_operation_answers_within_its_contract(app: Any, estate: Estate,
                                                     subtests: Any) -> None:
    """No 500s; status, content type and body as documented, for valid and invalid input."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60, "the OpenAPI document lost operations"
    only = os.environ.get("PENGCHENG_FUZZ_ONLY")  # a regex over "METHOD /path", to focus a run
    operations = [op for op in operations if not only or re.search(only, op.label)]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with subtests.test(msg=f"{operation.label} ({mode})"):
                try:
                    fuzz(operation, estate, mode)
                except (Exception, FailureGroup):
                    if operation.label not in KNOWN_FINDINGS:
                        raise
                    pytest.xfail(KNOWN_FINDINGS[operation.label])
