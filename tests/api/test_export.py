"""GET /api/v1/me/export: everything held about the resident, JSON valid against its schema."""

from __future__ import annotations

import jsonschema_rs
import pytest

from tests.support.disputes import A, Residents
from tests.support.factories import bearer, id_number
from tests.support.tokens import World, introspect


@pytest.fixture
def people(app, client, idp, clock) -> Residents:
    return Residents(app, client, idp, clock)


def export(client, token):
    response = client.get("/api/v1/me/export", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_schema_is_served_and_is_valid_json_schema(client):
    response = client.get("/api/v1/me/export/schema")
    assert response.status_code == 200
    schema = response.get_json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert jsonschema_rs.meta.is_valid(schema)


def test_the_export_holds_everything_and_validates_against_the_schema(people, client):
    score = people.score()
    dispute = people.dispute(people.record("payment_overdue")["id"]).get_json()
    client.get(f"/admin/v1/disputes/{dispute['id']}", headers=bearer(people.auditor_key))
    schema = client.get("/api/v1/me/export/schema").get_json()
    doc = export(client, people.a)
    jsonschema_rs.Draft202012Validator(schema).validate(doc)
    assert doc["$schema"].endswith("/api/v1/me/export/schema")
    assert doc["profile"]["name"] == "赵六" and doc["profile"]["id_number"] == id_number(A)
    scoring = [e for e in doc["consents"]["events"] if e["purpose"] == "scoring"]
    assert scoring[0]["event"] == "given" and scoring[0]["receipt"].count(".") == 2
    assert scoring[0]["notice_id"] in doc["consents"]["notices"]
    assert doc["consents"]["records"][0]["status"] == "active"
    assert {r["id"] for r in doc["records"]} == {r["id"] for r in people.records()}
    assert doc["scores"][-1]["score"] == score
    assert doc["scores"][-1]["explanation"]["reasons"]
    assert [d["id"] for d in doc["disputes"]] == [dispute["id"]]
    assert doc["access_log"][0]["actor"]["client_id"] == people.auditor.client_id
    assert doc["sessions"] and set(doc["sections"]) == {"credit", "waivers", "points"}


def test_the_export_holds_nothing_about_anyone_else(people, client):
    doc = export(client, people.a)
    theirs = {r["id"] for r in people.records(people.b)}
    assert not theirs & {r["id"] for r in doc["records"]}
    assert id_number(22) not in client.get("/api/v1/me/export",
                                           headers=bearer(people.a)).get_data(as_text=True)


def test_partner_checks_are_in_the_exported_access_log(app, client, idp):
    world = World(app, client, idp)
    introspect(client, world.hospital_key, world.token())
    doc = export(client, world.resident)
    [entry] = doc["access_log"]
    assert entry["actor"]["kind"] == "partner" and entry["action"] == "introspect"
    assert entry["learned"]["ent"]["eligible"] is True


def test_the_export_needs_a_session(client):
    assert client.get("/api/v1/me/export").status_code == 401
