"""Credit reports and no-violation certificates: generate, list, verify, revoke, expire."""

from __future__ import annotations

import re

import pytest

from core.idnumber import mask
from tests.support.factories import bearer
from tests.support.reports import People

CODE = re.compile(r"^[A-Za-z0-9_-]{22,}$")


@pytest.fixture
def people(app, client, idp) -> People:
    return People(app, client, idp)


def test_a_verifier_sees_exactly_the_sections_the_resident_chose(people: People):
    issued = people.issued(people.alice, kind="credit_report",
                           sections=["score", "commendations"])
    assert CODE.match(issued["code"]) and len(issued["code"]) >= 22  # ≥128 bits, URL-safe
    assert issued["verify_url"].endswith(f"/reports/verify?code={issued['code']}")

    answer = people.verify(issued["code"])

    assert answer["genuine"] is True and answer["revoked"] is False
    assert answer["expired"] is False and answer["kind"] == "credit_report"
    assert answer["issued_at"] == "2026-11-01T08:00:00Z"
    assert answer["valid_until"] == "2026-12-01T08:00:00Z"  # REPORT_DAYS = 30
    assert answer["sections"] == ["score", "commendations"]
    assert set(answer["content"]) == {"subject", "score", "commendations"}
    assert answer["content"]["score"]["score"] > 0
    assert answer["content"]["commendations"]["volunteer_hours"] == 60


def test_the_id_number_appears_only_masked(people: People, client):
    issued = people.issued(people.alice, kind="credit_report", sections=["score"])
    shown = client.get("/reports/verify", query_string={"code": issued["code"]},
                       headers={"Accept": "application/json"}).get_data(as_text=True)
    page = client.get("/reports/verify", query_string={"code": issued["code"]}
                      ).get_data(as_text=True)
    printable = client.get(issued["html_url"], headers=bearer(people.alice)
                           ).get_data(as_text=True)

    for text in (shown, page, printable):
        assert people.alice_id_number not in text
        assert people.alice_id_number[6:14] not in text  # not even the birth date
    assert people.verify(issued["code"])["content"]["subject"] == {
        "name": "李丽", "id_number": mask(people.alice_id_number)}


def test_a_no_violation_certificate_states_a_clean_record(people: People):
    issued = people.issued(people.alice, kind="no_violation")

    content = people.verify(issued["code"])["content"]

    section = content["no_violation"]
    assert section["clean"] is True
    assert [c["code"] for c in section["categories"]] == ["public_credit", "judicial", "tax",
                                                          "traffic"]
    assert "未发现" in section["statement_zh"] and "no negative record" in section["statement_en"]
    # a traffic violation from January is past its 90-day publicity: it is no longer disclosed
    assert all(c["negatives"] == [] for c in section["categories"])
    assert set(content) == {"subject", "no_violation"}


def test_a_no_violation_certificate_lists_what_exists(people: People):
    issued = people.issued(people.bob, kind="no_violation", categories=["traffic", "utilities"],
                           period={"from": "2026-01-01", "to": "2026-10-31"})

    section = people.verify(issued["code"])["content"]["no_violation"]

    assert section["clean"] is False
    assert section["period"] == {"from": "2026-01-01", "to": "2026-10-31"}
    by_code = {c["code"]: c for c in section["categories"]}
    assert by_code["utilities"]["clean"] is True
    assert [(n["type"], n["occurred_on"]) for n in by_code["traffic"]["negatives"]] == [
        ("violation", "2026-10-20")]
    assert "tax" not in by_code  # not chosen, not shown — though bob has tax arrears


def test_a_period_excludes_records_outside_it(people: People):
    issued = people.issued(people.bob, kind="no_violation", categories=["tax"],
                           period={"from": "2026-09-01", "to": "2026-10-31"})

    assert people.verify(issued["code"])["content"]["no_violation"]["clean"] is True


def test_the_score_section_needs_scoring_consent_but_a_certificate_does_not(people: People):
    refused = people.issue(people.bob, kind="credit_report", sections=["score"])
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "consent_required"

    assert people.issue(people.bob, kind="credit_report", sections=["records"]).status_code == 201
    assert people.issue(people.bob, kind="no_violation").status_code == 201


def test_the_resident_lists_and_reads_back_their_reports(people: People, client):
    first = people.issued(people.alice, kind="no_violation")
    second = people.issued(people.alice, kind="credit_report", sections=["records"],
                           categories=["tax"])

    listed = client.get("/api/v1/me/reports", headers=bearer(people.alice)).get_json()["items"]
    assert {r["report_id"] for r in listed} == {first["report_id"], second["report_id"]}
    assert all(r["status"] == "active" and "code" not in r for r in listed)

    one = client.get(f"/api/v1/me/reports/{second['report_id']}", headers=bearer(people.alice))
    assert one.status_code == 200
    assert one.get_json()["code"] == second["code"]
    assert [c["code"] for c in one.get_json()["content"]["records"]["categories"]] == ["tax"]


def test_another_resident_can_neither_read_nor_revoke_my_report(people: People, client):
    issued = people.issued(people.alice, kind="no_violation")
    rid = issued["report_id"]

    for path in (f"/api/v1/me/reports/{rid}", f"/api/v1/me/reports/{rid}/pdf",
                 f"/api/v1/me/reports/{rid}/html", f"/api/v1/me/reports/{rid}/signed"):
        assert client.get(path, headers=bearer(people.bob)).status_code == 404
    assert client.post(f"/api/v1/me/reports/{rid}/revoke",
                       headers=bearer(people.bob)).status_code == 404
    assert client.get("/api/v1/me/reports").status_code == 401
    assert people.verify(issued["code"])["genuine"] is True


def test_a_revoked_report_is_reported_revoked_without_content(people: People, client):
    issued = people.issued(people.alice, kind="no_violation")

    revoked = client.post(f"/api/v1/me/reports/{issued['report_id']}/revoke",
                          headers=bearer(people.alice))

    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    answer = people.verify(issued["code"])
    assert answer["genuine"] is True and answer["revoked"] is True
    assert answer["content"] is None and answer["sections"] == []
    assert answer["kind"] == "no_violation"
    page = client.get("/reports/verify", query_string={"code": issued["code"]})
    assert page.status_code == 200 and "已撤销" in page.get_data(as_text=True)
    assert "李丽" not in page.get_data(as_text=True)
    again = client.post(f"/api/v1/me/reports/{issued['report_id']}/revoke",
                        headers=bearer(people.alice))
    assert again.get_json()["revoked_at"] == revoked.get_json()["revoked_at"]


def test_a_report_expires_after_report_days(people: People, client, clock):
    issued = people.issued(people.alice, kind="no_violation")

    clock.advance(days=29, hours=23)
    assert people.verify(issued["code"])["genuine"] is True
    clock.advance(hours=1)

    answer = people.verify(issued["code"])
    assert answer["genuine"] is True and answer["expired"] is True
    assert answer["content"] is None
    people.login_again(clock.now())
    listed = client.get("/api/v1/me/reports", headers=bearer(people.alice)).get_json()["items"]
    assert listed[0]["status"] == "expired"
    page = client.get("/reports/verify", query_string={"code": issued["code"]})
    assert page.status_code == 200 and "已过期" in page.get_data(as_text=True)


@pytest.mark.parametrize("code", ["", "nope", "A" * 32, "x" * 200, "<script>alert(1)</script>",
                                  "abc%00def", "' OR 1=1 --"])
def test_unknown_or_forged_codes_are_not_genuine(people: People, client, code):
    response = client.get("/reports/verify", query_string={"code": code},
                          headers={"Accept": "application/json"})

    assert response.status_code == 200
    answer = response.get_json()
    assert answer["genuine"] is False and answer["content"] is None
    page = client.get("/reports/verify", query_string={"code": code})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "<script>alert" not in page.get_data(as_text=True)


def test_the_verification_page_is_a_friendly_page_under_a_strict_csp(people: People, client):
    issued = people.issued(people.alice, kind="credit_report", sections=["commendations"])

    page = client.get(f"/reports/verify?code={issued['code']}",
                      headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    empty = client.get("/reports/verify")

    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "真实有效" in text and issued["code"] in text and "<svg" in text
    assert "<script" not in text and "style=" not in text
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert empty.status_code == 200 and "<form" in empty.get_data(as_text=True)
    css = client.get("/static/reports/report.css")
    assert css.status_code == 200 and b"@media print" in css.data
    css.close()


def test_each_verification_appears_in_the_residents_access_log(people: People, client):
    issued = people.issued(people.alice, kind="credit_report", sections=["commendations"])
    people.verify(issued["code"])
    client.get("/reports/verify", query_string={"code": issued["code"]})
    client.post(f"/api/v1/me/reports/{issued['report_id']}/revoke", headers=bearer(people.alice))
    people.verify(issued["code"])

    log = client.get("/api/v1/me/access-log", headers=bearer(people.alice)).get_json()["items"]

    mine = [e for e in log if e["action"] == "report_verify"]
    assert len(mine) == 3
    assert {e["actor"]["kind"] for e in mine} == {"public"}
    assert sorted(e["outcome"] for e in mine) == ["genuine", "genuine", "revoked"]
    shared = [e["learned"] for e in mine if e["outcome"] == "genuine"]
    assert all(s["sections"] == ["commendations"] for s in shared)
    assert all(s["report_id"] == issued["report_id"] for s in shared)
    bob_log = client.get("/api/v1/me/access-log", headers=bearer(people.bob)).get_json()
    assert bob_log["items"] == []


@pytest.mark.parametrize("body, field", [
    ({"kind": "salary_slip"}, "kind"),
    ({}, "kind"),
    ({"kind": "credit_report", "sections": ["score", "salary"]}, "sections"),
    ({"kind": "credit_report", "sections": []}, "sections"),
    ({"kind": "credit_report", "sections": ["score", "score"]}, "sections"),
    ({"kind": "credit_report", "sections": ["records"], "categories": ["religion"]},
     "categories"),
    ({"kind": "credit_report", "sections": ["score"], "categories": ["tax"]}, "categories"),
    ({"kind": "no_violation", "sections": ["score"]}, "sections"),
    ({"kind": "no_violation", "categories": ["social_insurance"]}, "categories"),
    ({"kind": "no_violation", "period": {"from": "2026-10-01", "to": "2026-09-01"}},
     "period.from"),
    ({"kind": "no_violation", "period": {"from": "2026-10-01", "to": "2027-01-01"}},
     "period.to"),
    ({"kind": "no_violation", "period": {"from": "1970-01-01", "to": "2026-01-01"}}, "period"),
    ({"kind": "no_violation", "period": {"from": "yesterday"}}, "period.from"),
    ({"kind": "no_violation", "period": "P3Y"}, "period"),
    ({"kind": "no_violation", "lang": "fr"}, "lang"),
])
def test_invalid_requests_are_refused_with_the_field_named(people: People, body, field):
    response = people.issue(people.alice, **body)

    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    fields = [e["field"] for e in response.get_json().get("errors", [])]
    assert any(f == field or f.startswith(field + ".") for f in fields), fields


@pytest.fixture
def config(config):
    return {**config, "RATE_LIMIT_REPORTS": "3/3600"}


def test_generation_is_rate_limited_per_resident(people: People):
    for _ in range(3):
        assert people.issue(people.alice, kind="no_violation").status_code == 201

    refused = people.issue(people.alice, kind="no_violation")

    assert refused.status_code == 429 and refused.headers.get("Retry-After")
    assert refused.get_json()["code"] == "rate_limited"
    assert people.issue(people.bob, kind="no_violation").status_code == 201
