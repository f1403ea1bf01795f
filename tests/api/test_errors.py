"""Every error leaves as problem+json with a stable code, a request id, and never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import PROBLEM
from tests.support.factories import bearer, login, new_source


def problem_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-Id"]
    assert body["title"] and body["detail"]
    return body


def test_an_unknown_path_is_a_404_problem(client):
    problem_of(client.get("/no/such/thing"), 404, "not_found")


def test_a_wrong_method_is_a_405_problem_with_an_allow_header(client):
    response = client.put("/api/v1/me")
    problem_of(response, 405, "method_not_allowed")
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "GET" in allowed and "PUT" not in allowed


def test_a_body_over_the_limit_is_a_413_problem(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    _source, key = new_source(app, ["utilities"])
    body = json.dumps({"records": [{"source_record_id": "x" * 2000}]})
    response = client.post("/ingest/v1/records", data=body, content_type="application/json",
                           headers=bearer(key))
    problem_of(response, 413, "payload_too_large")


def test_a_non_json_body_is_a_415_problem(client):
    response = client.post("/api/v1/auth/session", data="assertion=abc",
                           content_type="application/x-www-form-urlencoded")
    problem_of(response, 415, "unsupported_media_type")


def test_malformed_json_is_a_400_malformed_json_problem(client):
    response = client.post("/api/v1/auth/session", data='{"assertion": ',
                           content_type="application/json")
    problem_of(response, 400, "malformed_json")


def test_a_schema_violation_is_a_422_listing_the_fields(client):
    response = client.post("/api/v1/auth/session", json={"assertion": 5, "extra": 1})
    body = problem_of(response, 422, "validation_failed")
    fields = {e["field"] for e in body["errors"]}
    assert {"assertion", "extra"} <= fields
    assert "assertion" in body["detail"]


def test_a_missing_bearer_is_a_401_problem(client):
    problem_of(client.get("/api/v1/me"), 401, "unauthorized")


@pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer ", "Bearer " + "a" * 600])
def test_an_invalid_bearer_is_a_401_problem(client, header):
    problem_of(client.get("/api/v1/me", headers={"Authorization": header}), 401, "unauthorized")


def test_a_valid_request_id_is_echoed_and_an_invalid_one_replaced(client):
    ok = client.get("/no/such", headers={"X-Request-Id": "abc-123.X_y"})
    assert ok.headers["X-Request-Id"] == "abc-123.X_y"
    assert ok.get_json(force=True)["request_id"] == "abc-123.X_y"
    bad = client.get("/no/such", headers={"X-Request-Id": "evil\u2028<script>"})
    assert bad.headers["X-Request-Id"] != "evil"
    assert len(bad.headers["X-Request-Id"]) == 32


def test_successful_responses_carry_a_request_id_too(client, idp):
    token = login(client, idp)
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["X-Request-Id"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_database_that_is_down_is_a_503_with_retry_after(config, tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("PENGCHENG_INSTANCE_PATH", str(tmp_path / "instance"))
    dead = create_app({**config, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing",
                       "REDIS_URL": None})
    try:
        response = dead.test_client().get("/api/v1/me", headers=bearer("some-token"))
        body = problem_of(response, 503, "database_unavailable")
        assert response.headers["Retry-After"].isdigit()
        assert "retry" in body["detail"].lower()
        health = dead.test_client().get("/healthz")
        problem_of(health, 503, "database_unavailable")
    finally:
        dead.extensions["pengcheng"].engine.dispose()


# -- fuzz: no input makes it answer 500 ---------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
record_like = st.fixed_dictionaries(
    {}, optional={k: json_values for k in ("source_record_id", "id_number", "category", "type",
                                           "occurred_at", "amount_fen", "quantity", "severity",
                                           "attributes")})
bodies = st.one_of(
    json_values.map(lambda v: ("application/json", json.dumps(v).encode())),
    st.builds(lambda recs: ("application/json", json.dumps({"records": recs}).encode()),
              st.lists(st.one_of(record_like, json_values), max_size=5)),
    st.binary(max_size=200).map(lambda b: ("application/json", b)),
    st.binary(max_size=50).map(lambda b: ("text/plain", b)),
)


def _endpoints(app: Any) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<{arg}>", "00000000-0000-0000-0000-000000000000")
            for conv in ("uuid", "string", "int", "path"):
                path = path.replace(f"<{conv}:{arg}>", "00000000-0000-0000-0000-000000000000")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(body=bodies, auth=st.sampled_from(["none", "junk", "src"]))
def test_junk_bodies_to_every_endpoint_never_yield_a_500(app, client, body, auth):
    content_type, data = body
    headers = {}
    if auth == "junk":
        headers = bearer("x" * 40)
    elif auth == "src":
        if "_FUZZ_SOURCE_KEY" not in app.config:
            app.config["_FUZZ_SOURCE_KEY"] = new_source(app)[1]
        headers = bearer(app.config["_FUZZ_SOURCE_KEY"])
    for method, path in _endpoints(app):
        response = client.open(path, method=method, data=data, content_type=content_type,
                               headers=headers)
        assert response.status_code < 500, (method, path, response.get_data(as_text=True))
        if response.status_code >= 400:
            assert response.mimetype == PROBLEM


def test_the_fuzz_covers_every_registered_endpoint(app):
    paths = {p for _m, p in _endpoints(app)}
    assert {"/api/v1/auth/session", "/ingest/v1/records", "/api/v1/me"} <= paths


def test_a_problem_is_utf8_so_its_chinese_reads_as_chinese(client):
    response = client.get("/api/v1/scenarios/no_such_scenario/partners")
    body = problem_of(response, 404, "unknown_scenario")
    raw = response.get_data()
    assert body["detail_zh"].encode() in raw  # 没有该场景, not \u6ca1\u6709…
    assert b"\\u" not in raw
    assert raw.decode("utf-8") == json.dumps(body, ensure_ascii=False, sort_keys=True,
                                             separators=(",", ":")) + "\n"


def test_a_problem_echoing_a_lone_surrogate_is_still_valid_json(app):
    from app.errors import problem

    with app.test_request_context("/"):
        response = problem(400, "bad_request", "echoed: \ud800", detail_zh="回显：\udc00")
    raw = response.get_data()
    raw.decode("utf-8")  # valid UTF-8: the surrogates are escaped, not written raw
    body = json.loads(raw)
    assert (response.status_code, response.mimetype) == (400, PROBLEM)
    assert (body["detail"], body["detail_zh"]) == ("echoed: \ud800", "回显：\udc00")
