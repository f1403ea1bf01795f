"""The OpenAPI document names every refusal: each operation's 4xx/503 answers, with their codes.

The registry (`app.refusals`) is the one source; these tests check that /openapi.json is written
from it, that it covers every operation, and that docs/partners.md's table is generated from it.
That it is complete — every code an operation answers is listed — is checked on every request of
every API test (`tests/api/refusals_seen.py`, autouse), and by the fuzzing suite, whose
schema-conformance check compares each answer's `code` with the operation's enum.
"""

from __future__ import annotations

from typing import Any

import pytest

from app import openapi_errors, refusals
from app.openapi_errors import PARTNER_DOC, documented_codes, schemes_of
from core.errors import DomainError
from tests.api.refusals_seen import Answer, undocumented

PROBLEM = "application/problem+json"


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    return client.get("/openapi.json").get_json()


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{method.upper()} {path}": operation for path, item in spec["paths"].items()
            for method, operation in item.items() if method != "parameters"}


def test_every_operation_has_an_entry_in_the_registry_and_every_entry_is_an_operation(spec):
    assert set(operations(spec)) == set(refusals.OPERATIONS)


def test_each_operation_lists_exactly_the_codes_of_its_entry_under_their_statuses(spec):
    listed = documented_codes(spec)
    for label, operation in operations(spec).items():
        method, path = label.split(" ", 1)
        expected: dict[int, set[str]] = {}
        for refusal in refusals.refusals(label, schemes_of(operation)):
            expected.setdefault(refusal.status, set()).add(refusal.code)
        statuses = {int(s) for s in operation["responses"] if s.isdigit() and int(s) >= 400}
        assert statuses == set(expected), label
        for status, codes in expected.items():
            assert listed[(method, path, status)] == codes, (label, status)


def test_a_refusal_is_problem_json_with_its_codes_as_an_enum_and_retry_after_where_sent(spec):
    answer = spec["paths"]["/partner/v1/medical-credit/authorizations"]["post"]["responses"]
    schema = answer["409"]["content"][PROBLEM]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Problem"}
    assert schema["allOf"][1]["properties"]["code"]["enum"] == [
        "idempotency_conflict", "token_replayed"]
    assert answer["503"]["headers"]["Retry-After"]["required"] is True
    assert "database_unavailable" in answer["503"]["content"][PROBLEM]["schema"]["allOf"][1][
        "properties"]["code"]["enum"]
    assert "Retry-After" not in answer["409"].get("headers", {})
    assert "Problem" in spec["components"]["schemas"]


def test_every_operation_names_the_refusals_of_the_door_its_scheme_and_the_database(spec):
    for label, operation in operations(spec).items():
        method, path = label.split(" ", 1)
        codes = {code for (m, p, _s), found in documented_codes(spec).items()
                 if (m, p) == (method, path) for code in found}
        assert {"uri_too_long", "validation_failed"} <= codes, label
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            assert {"malformed_json", "payload_too_large", "unsupported_media_type"} <= codes
        if schemes_of(operation):
            assert "unauthorized" in codes, label
        if label not in refusals.NO_DATABASE:
            assert "database_unavailable" in codes, label


def test_rate_limited_operations_document_429_with_retry_after(spec):
    limited = {"POST /api/v1/auth/session", "POST /ingest/v1/records", "POST /api/v1/me/tokens",
               "POST /api/v1/me/disputes", "POST /api/v1/me/repairs", "POST /api/v1/me/reports",
               "POST /api/v1/me/review-requests", "GET /reports/verify", "POST /reports/verify",
               "POST /partner/v1/staff/sessions",
               # a partner past its limit of wrong one-time codes, in every call taking `token`
               "POST /partner/v1/tokens/introspect", "POST /partner/v1/tokens/consume",
               "POST /partner/v1/medical-credit/authorizations",
               "POST /partner/v1/deposit-waivers", "POST /partner/v1/points/redemptions"}
    for label, operation in operations(spec).items():
        assert ("429" in operation["responses"]) == (label in limited), label
    answer = spec["paths"]["/api/v1/auth/session"]["post"]["responses"]["429"]
    assert answer["headers"]["Retry-After"]["required"] is True


def test_every_code_in_the_registry_is_a_domain_error_or_an_answer_of_the_door():
    domain = {cls.code: cls.status for cls in _subclasses(DomainError)}
    door = {r.code: r.status for r in (
        refusals.BAD_REQUEST, refusals.MALFORMED_JSON, refusals.PAYLOAD_TOO_LARGE,
        refusals.URI_TOO_LONG, refusals.UNSUPPORTED_MEDIA_TYPE, refusals.VALIDATION_FAILED,
        refusals.HEADER_TOO_LARGE, refusals.DATABASE_UNAVAILABLE, refusals.DATABASE_BUSY,
        refusals.NO_ROUTE, refusals.RESIDENT_BUSY)}
    for label in refusals.OPERATIONS:
        for refusal in refusals.refusals(label, ["partnerKey"]):
            assert {**domain, **door}.get(refusal.code) == refusal.status, (label, refusal)


def test_an_answer_the_document_does_not_list_is_reported(spec):
    seen = [Answer("POST", "/partner/v1/medical-credit/authorizations", 409, "token_replayed"),
            Answer("POST", "/partner/v1/medical-credit/authorizations", 409, "waiver_closed"),
            Answer("POST", "/partner/v1/medical-credit/authorizations", 410, "report_gone"),
            Answer("GET", "/api/v1/me", 500, "internal_error"),  # a 500 is never planned
            Answer("GET", "/h5/{page}", 404, "not_found")]  # a page, not an API operation
    assert undocumented(seen, spec) == seen[1:3]


def test_the_schemas_state_the_refusals_their_validation_applies(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["DisputeIn"]["properties"]["reason"]["minLength"] == 1
    assert schemas["ReviewIn"]["properties"]["reason"]["minLength"] == 1
    assert schemas["RepairIn"]["properties"]["pledge"]["enum"] == [True]
    assert schemas["Resolve"]["properties"]["note"]["minLength"] == 1
    assert schemas["ReviewIn"]["properties"]["subject"]["enum"] == ["score", "eligibility"]
    for name, field in (("CreditAuthorize", "amount_fen"), ("DepositWaiverIn", "deposit_fen"),
                        ("PointsRedeem", "points")):
        assert schemas[name]["properties"][field]["minimum"] == 1, name
        assert schemas[name]["properties"][field]["maximum"] > 1, name


def test_a_refused_pledge_is_a_validation_failure_naming_the_field(client, idp):
    from tests.support.factories import bearer, id_number

    signed_in = client.post("/api/v1/auth/session", json={
        "assertion": idp.assertion(id_number(7), "测试七")}).get_json()
    response = client.post("/api/v1/me/repairs", headers=bearer(signed_in["token"]), json={
        "record_id": "00000000-0000-0000-0000-000000000000", "pledge": False})
    assert response.status_code == 422 and response.get_json()["code"] == "validation_failed"
    assert [e["field"] for e in response.get_json()["errors"]] == ["pledge"]


def test_the_partner_guide_error_table_is_the_generated_one():
    document = PARTNER_DOC.read_text("utf-8")
    table = openapi_errors.markdown()
    assert openapi_errors.replace_table(document, table) == document, (
        "run `python -m app.openapi_errors --write`")
    for code in ("payload_too_large", "unsupported_media_type", "rate_limited",
                 "database_unavailable"):
        row = next(line for line in table.splitlines() if f"`{code}`" in line)
        assert row.split("|")[4].strip(), f"{code} has no advice"
    assert "Retry-After" in next(line for line in table.splitlines()
                                 if "`database_unavailable`" in line)


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]
