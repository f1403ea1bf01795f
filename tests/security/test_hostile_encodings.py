"""The five causes of 500 a hostile-input review found (issue 21), each now a 4xx problem+json.

Lone UTF-16 surrogates, JSON nested 1,000 deep, NUL inside a token's header, chunked bodies that
skipped the pre-filter, and dates at the calendar's edges; plus control characters, numbers out
of range, duplicate keys and over-long URLs. Each refusal changes nothing in the database.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from tests.security.actors import operations, scheme_of
from tests.security.estate import Estate, fingerprint
from tests.security.openapi import request_for
from tests.support.factories import bearer, id_number

PROBLEM = "application/problem+json"


def send(estate: Estate, method: str, path: str, text: str | bytes,
         headers: dict[str, str] | None = None) -> Any:
    """A raw JSON text as the body (json.dumps escapes a surrogate as `\\ud800`)."""
    return estate.client.open(path, method=method, data=text, headers=headers or {},
                              content_type="application/json")


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["code"] == code and body["status"] == status, body
    return body


def fields_of(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def surrogate_cases(estate: Estate) -> list[tuple[str, str, dict[str, str], dict, str]]:
    """(method, path, headers, body, field) for every field the review reached, each holding a
    lone surrogate; the rest of each body is valid."""
    credit, ids = "/partner/v1/medical-credit", estate.ids
    hospital, resident = bearer(estate.partner_key("hospital")), bearer(estate.resident)
    s = "单号\ud800"
    return [
        ("POST", "/api/v1/auth/session", {}, {"assertion": "\ud800"}, "assertion"),
        ("POST", "/api/v1/receipts/verify", {}, {"receipt": "\ud800"}, "receipt"),
        ("POST", f"{credit}/authorizations", hospital,
         {"token": estate.token("medical_credit", "hospital"), "out_request_no": s,
          "amount_fen": 100}, "out_request_no"),
        ("POST", f"{credit}/authorizations/{ids['authorization_id']}/capture", hospital,
         {"amount_fen": 100, "out_bill_no": s}, "out_bill_no"),
        ("POST", f"{credit}/bills/{ids['bill_id']}/payments",
         bearer(estate.partner_key("payment_channel")),
         {"out_payment_no": s, "amount_fen": 100}, "out_payment_no"),
        ("POST", "/partner/v1/deposit-waivers", bearer(estate.partner_key("deposit_partner")),
         {"token": estate.token("deposit_waiver_bike", "deposit_partner"), "out_order_no": "w1",
          "deposit_fen": 100, "due_at": "2026-11-20T08:00:00Z", "item": "单车\ud83d"}, "item"),
        ("POST", "/api/v1/me/review-requests", resident,
         {"subject": "score", "reason": "我认为分数有误\udfff"}, "reason"),
        ("POST", "/api/v1/me/review-requests", resident,
         {"subject": "eligibility", "scenario": "\ud800", "reason": "我认为分数有误，请复核"},
         "scenario"),
        ("POST", "/api/v1/me/tokens", resident, {"scenario": "\ud800", "partner": "x"},
         "scenario"),
        ("POST", "/api/v1/me/tokens", resident,
         {"scenario": "medical_credit", "partner": "\ud800"}, "partner"),
        ("POST", "/ingest/v1/records", bearer(estate.source_key),
         {"records": [{"source_record_id": s, "id_number": "x", "category": "tax",
                       "type": "filed_on_time", "occurred_at": "2026-01-01T00:00:00Z"}]},
         "records.0.source_record_id"),
    ]


def test_a_lone_surrogate_in_any_field_is_a_validation_error_that_changes_nothing(
        estate: Estate) -> None:
    cases = surrogate_cases(estate)
    before = fingerprint(estate.app)
    for method, path, headers, body, field in cases:
        text = json.dumps(body)
        assert "\\ud" in text
        answer = refused(send(estate, method, path, text, headers), 422, "validation_failed")
        assert field in fields_of(answer), (path, answer)
        assert "surrogate" in json.dumps(answer["errors"]), answer
    assert fingerprint(estate.app) == before


def test_surrogates_encoded_as_utf8_bytes_are_not_json(estate: Estate) -> None:
    # CESU-style bytes for U+D800: not UTF-8, so not a JSON text (RFC 8259 §8.1)
    text = b'{"assertion": "\xed\xa0\x80"}'
    refused(send(estate, "POST", "/api/v1/auth/session", text), 400, "malformed_json")


def deep(levels: int, kind: str) -> str:
    if kind == "array":
        return "[" * levels + "]" * levels
    return '{"a":' * levels + "1" + "}" * levels


def json_operations(estate: Estate, document: dict[str, Any]
                    ) -> list[tuple[str, str, dict[str, Any], str | None]]:
    """Every operation that reads a JSON body, with a URL (real objects where there are some)
    and its caller's scheme."""
    values = {**estate.ids, "client_id": estate.partners["merchant"][0].client_id}
    out = []
    for method, path, op in operations(document):
        if "application/json" not in op.get("requestBody", {}).get("content", {}):
            continue
        kwargs = request_for(document, method, path, op, {**values, "code": "medical_credit"})
        url = kwargs["path"]
        out.append((method, url, op, scheme_of(op)))
    return out


@pytest.mark.parametrize("kind", ["array", "object"])
def test_json_nested_a_thousand_deep_is_malformed_on_every_json_endpoint(
        estate: Estate, document: dict[str, Any], kind: str) -> None:
    ops = json_operations(estate, document)
    assert len(ops) >= 25
    assert any(scheme is None for *_, scheme in ops), "the unauthenticated ones are included"
    before = fingerprint(estate.app)
    for method, url, _op, scheme in ops:
        headers = estate.headers(method, url, scheme)
        for levels in (1000, 33):
            answer = refused(send(estate, method, url, deep(levels, kind), headers), 400,
                             "malformed_json")
            assert "nested deeper than 32" in answer["detail"], (url, answer)
    assert fingerprint(estate.app) == before


def test_nesting_up_to_the_limit_is_read(estate: Estate) -> None:
    inner: Any = "ok"
    for _ in range(29):  # body, records, a record, attributes: 32 levels in all
        inner = {"k": inner}
    record = {"source_record_id": "deep-1", "id_number": id_number(7),
              "category": "tax", "type": "filed_on_time",
              "occurred_at": "2026-01-01T00:00:00Z", "attributes": inner}
    response = estate.client.post("/ingest/v1/records", headers=bearer(estate.source_key),
                                  json={"records": [record]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["accepted"] == 1, response.get_json()


def jws(header: str, payload: str = '{"sub":"x"}') -> str:
    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).rstrip(
            b"=").decode()

    return f"{b64(header)}.{b64(payload)}.{b64('signature')}"


HOSTILE_HEADERS = [
    '{"alg":"EdDSA","typ":"pc-entitlement+jwt","kid":"tok\\u0000en"}',
    '{"alg":"EdDSA","typ":"pc-entitlement+jwt","kid":"tok\u0000en"}',
    '{"alg":"EdDSA","typ":"pc-entitlement+jwt","kid":"\\ud800"}',
    '{"alg":"EdDSA","typ":"pc-entitlement+jwt","kid":"k","x":' + deep(500, "array") + "}",
    '{"alg":"EdDSA","typ":"pc-entitlement+jwt","kid":"k","kid":"k2"}',
]


def test_a_token_whose_header_hides_nul_surrogates_or_nesting_is_inactive(
        estate: Estate) -> None:
    partner = bearer(estate.partner_key("hospital"))
    before = fingerprint(estate.app)
    for header in HOSTILE_HEADERS:
        token = jws(header)
        assert len(token) < 2048
        response = estate.client.post("/partner/v1/tokens/introspect", headers=partner,
                                      json={"token": token})
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"active": False}
        consumed = estate.client.post("/partner/v1/tokens/consume", headers=partner,
                                      json={"token": token, "out_use_no": "u-1"})
        assert 400 <= consumed.status_code < 500 and consumed.mimetype == PROBLEM, (
            consumed.status_code, consumed.get_json())
    assert fingerprint(estate.app) == before


def chunked(estate: Estate, path: str, body: bytes, headers: dict[str, str],
            content_type: str = "application/json") -> Any:
    """A body sent with `Transfer-Encoding: chunked` (no Content-Length), as gunicorn hands it
    to the app: a terminated input stream."""
    return estate.client.post(path, input_stream=io.BytesIO(body),
                              headers={**headers, "Transfer-Encoding": "chunked",
                                       "Content-Type": content_type},
                              environ_overrides={"wsgi.input_terminated": True})


def test_a_chunked_body_passes_the_same_screen_as_a_declared_one(estate: Estate) -> None:
    resident, source = bearer(estate.resident), bearer(estate.source_key)
    before = fingerprint(estate.app)
    cases = [
        ("/ingest/v1/records", source, {"records": [{
            "source_record_id": "nul\u0000", "id_number": "x", "category": "tax",
            "type": "filed_on_time", "occurred_at": "2026-01-01T00:00:00Z"}]}),
        ("/api/v1/me/review-requests", resident, {"subject": "score", "reason": "理由\u0000"}),
        ("/api/v1/me/tokens", resident, {"scenario": "medical_credit\u0000", "partner": "x"}),
    ]
    for path, headers, body in cases:
        refused(chunked(estate, path, json.dumps(body).encode(), headers), 422,
                "validation_failed")
        refused(chunked(estate, path, deep(1000, "array").encode(), headers), 400,
                "malformed_json")
    too_big = b'{"records": [' + b" " * (3 * 1024 * 1024) + b"]}"
    refused(chunked(estate, "/ingest/v1/records", too_big, source), 413, "payload_too_large")
    refused(chunked(estate, "/api/v1/me/tokens", b"scenario=x", resident,
                    "application/x-www-form-urlencoded"), 415, "unsupported_media_type")
    assert fingerprint(estate.app) == before
    ok = chunked(estate, "/api/v1/me/review-requests",
                 json.dumps({"subject": "score", "reason": "我认为分数有误，请复核"}).encode(),
                 resident)
    assert ok.status_code == 201, ok.get_json()


EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "00010101T000000+1400",
         "1899-12-31T23:59:59+00:00", "2201-01-01T00:00:00Z"]


def test_records_dated_outside_the_supported_years_are_rejected_one_by_one(
        estate: Estate) -> None:
    records = [{"source_record_id": f"edge-{i}", "id_number": id_number(7),
                "category": "tax", "type": "filed_on_time", "occurred_at": when}
               for i, when in enumerate([*EDGES, "1900-01-01T00:00:00+14:00"])]
    response = estate.client.post("/ingest/v1/records", headers=bearer(estate.source_key),
                                  json={"records": records})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert [r["index"] for r in answer["rejected"]] == list(range(len(EDGES)))
    assert {r["code"] for r in answer["rejected"]} == {"invalid_occurred_at"}
    assert answer["accepted"] == 1


def test_dates_outside_the_supported_years_are_a_validation_error_in_every_date_field(
        estate: Estate, document: dict[str, Any]) -> None:
    values = {**estate.ids, "client_id": estate.partners["merchant"][0].client_id}
    tried = set()
    for method, path, op in operations(document):
        for where, name, fmt in date_fields(document, op):
            kwargs = request_for(document, method, path, op, values)
            for edge in [*EDGES, "9999-12-31", "0001-01-01"]:
                value = edge if fmt == "date-time" or "T" not in edge else edge[:10]
                if where == "query":
                    kwargs["query_string"] = {**kwargs["query_string"], name: value}
                else:
                    body = kwargs["json"]
                    *parents, leaf = name.split(".")
                    for parent in parents:
                        body = body.setdefault(parent, {})
                    body[leaf] = value
                response = estate.client.open(
                    headers=estate.headers(method, path, scheme_of(op)), **kwargs)
                answer = refused(response, 422, "validation_failed")
                assert name in fields_of(answer), (path, name, answer)
                assert "1900-2200" in json.dumps(answer["errors"])
            tried.add(f"{method} {path} {name}")
    assert {"GET /api/v1/me/access-log before", "POST /api/v1/me/reports period.to",
            "POST /partner/v1/deposit-waivers due_at"} <= tried, tried


def date_fields(document: dict[str, Any], op: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(query|json, dotted name, date|date-time) for each date field an operation documents."""
    from tests.security.openapi import resolve

    out = [("query", p["name"], p["schema"]["format"]) for p in op.get("parameters", [])
           if p.get("in") == "query" and p.get("schema", {}).get("format") in (
               "date", "date-time")]
    content = op.get("requestBody", {}).get("content", {}).get("application/json")

    def walk(schema: dict[str, Any], prefix: str) -> None:
        schema = resolve(document, schema)
        for part in schema.get("allOf", []) + schema.get("anyOf", []):
            walk(part, prefix)
        for name, sub in schema.get("properties", {}).items():
            sub = resolve(document, sub)
            if sub.get("format") in ("date", "date-time"):
                out.append(("json", prefix + name, sub["format"]))
            elif sub.get("properties") or sub.get("allOf") or sub.get("anyOf"):
                walk(sub, f"{prefix}{name}.")

    if content:
        walk(content.get("schema", {}), "")
    return out


def test_dates_at_the_edges_of_the_supported_years_are_accepted(estate: Estate) -> None:
    resident = bearer(estate.resident)
    for before in ("1900-01-01T00:00:00+14:00", "2200-12-31T23:59:59-14:00"):
        response = estate.client.get("/api/v1/me/access-log", headers=resident,
                                     query_string={"before": before})
        assert response.status_code == 200, response.get_json()


def test_control_characters_are_refused_where_a_field_forbids_them(estate: Estate) -> None:
    resident, hospital = bearer(estate.resident), bearer(estate.partner_key("hospital"))
    credit = "/partner/v1/medical-credit/authorizations"
    tokens = [estate.token("medical_credit", "hospital") for _ in range(3)]  # issuing writes
    before = fingerprint(estate.app)
    for reason in ("响铃\x07", "删除\x7f", "C1\x85"):
        answer = refused(estate.client.post("/api/v1/me/review-requests", headers=resident,
                                            json={"subject": "score", "reason": reason * 5}),
                         422, "validation_failed")
        assert fields_of(answer) == {"reason"}
    for key, token in zip(("a\tb", "a\nb", "a\rb"), tokens, strict=True):
        answer = refused(estate.client.post(credit, headers=hospital, json={
            "token": token, "out_request_no": key,
            "amount_fen": 100}), 422, "validation_failed")
        assert fields_of(answer) == {"out_request_no"}
    refused(estate.client.get("/api/v1/me/access-log", headers=resident,
                              query_string={"before": "2026-01-01\x1b"}), 422,
            "validation_failed")
    assert fingerprint(estate.app) == before
    # Free text keeps its line breaks and tabs.
    ok = estate.client.post("/api/v1/me/review-requests", headers=resident, json={
        "subject": "score", "reason": "第一行\n第二行\t我认为分数有误"})
    assert ok.status_code == 201, ok.get_json()


def test_numbers_out_of_range_nan_and_duplicate_keys_are_refused(estate: Estate) -> None:
    hospital = bearer(estate.partner_key("hospital"))
    url = "/partner/v1/medical-credit/authorizations"
    token = estate.token("medical_credit", "hospital")

    def body(amount: str, extra: str = "") -> str:
        return f'{{"token": "{token}", "out_request_no": "n-1", "amount_fen": {amount}{extra}}}'

    before = fingerprint(estate.app)
    for amount in ("9007199254740992", "-9007199254740992", "1e999", "-1e999"):
        answer = refused(send(estate, "POST", url, body(amount), hospital), 422,
                         "validation_failed")
        assert fields_of(answer) == {"amount_fen"}, answer
    for amount in ("NaN", "Infinity", "-Infinity", "9" * 5000):
        refused(send(estate, "POST", url, body(amount), hospital), 400, "malformed_json")
    answer = refused(send(estate, "POST", url, body("100", ', "amount_fen": 1'), hospital),
                     400, "malformed_json")
    assert "'amount_fen' appears twice" in answer["detail"]
    assert fingerprint(estate.app) == before


def test_an_over_long_url_is_a_problem_not_a_server_page(estate: Estate) -> None:
    resident = bearer(estate.resident)
    answer = refused(estate.client.get("/api/v1/notices", query_string={"q": "a" * 5000}),
                     414, "uri_too_long")
    assert "4096" in answer["detail"]
    refused(estate.client.get("/api/v1/me/" + "a" * 5000, headers=resident), 414,
            "uri_too_long")
    assert estate.client.get("/api/v1/notices", query_string={"q": "a" * 3900}
                             ).status_code == 200


def test_bodies_the_schema_refuses_are_not_accepted(estate: Estate,
                                                    document: dict[str, Any]) -> None:
    admin = bearer(estate.operator_key("admin"))
    before = fingerprint(estate.app)
    answer = refused(estate.client.patch("/admin/v1/scenarios/medical_credit", headers=admin),
                     422, "validation_failed")
    assert fields_of(answer) == {"(body)"}
    assert fingerprint(estate.app) == before
    # A batch's item that is not an object is rejected on its own, as the schema now says.
    items = document["components"]["schemas"]["Batch"]["properties"]["records"]["items"]
    assert "type" not in items and "not_an_object" in items["description"]
    response = estate.client.post("/ingest/v1/records", headers=bearer(estate.source_key),
                                  json={"records": [[None, None]]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rejected"][0]["code"] == "not_an_object"
    # Withdrawal needs no body, and says so.
    withdraw = document["paths"]["/api/v1/me/consents/{consent_id}/withdraw"]["post"]
    assert withdraw["requestBody"].get("required") is not True
    consent = estate.consents["points_redemption"]
    response = estate.client.post(f"/api/v1/me/consents/{consent}/withdraw",
                                  headers=bearer(estate.resident))
    assert response.status_code == 200, response.get_json()


def test_an_operators_correction_dated_outside_the_supported_years_is_refused(
        estate: Estate) -> None:
    reviewer = bearer(estate.operator_key("reviewer"))
    url = f"/admin/v1/disputes/{estate.ids['dispute_id']}/resolve"
    before = fingerprint(estate.app)
    for when in EDGES:
        response = estate.client.post(url, headers=reviewer, json={
            "outcome": "corrected", "note": "修正记录时间",
            "correction": {"occurred_at": when}})
        assert 400 <= response.status_code < 500, (when, response.get_json())
        assert response.mimetype == PROBLEM
        assert "1900-2200" in response.get_json()["detail"], response.get_json()
    assert fingerprint(estate.app) == before
