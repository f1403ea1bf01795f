"""The backbone answers end to end: sign in, read the profile, push records."""

from tests.support.factories import bearer, id_number, login, new_source


def test_first_login_creates_the_resident_and_returns_a_session(client, idp):
    token = login(client, idp, 1, "李四")
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.get_json()["name"] == "李四"
    assert me.get_json()["id_number_masked"].startswith("440")
    assert "*" in me.get_json()["id_number_masked"]


def test_ingested_records_are_accepted_and_retries_are_duplicates(app, client):
    _source, key = new_source(app, ["utilities"])
    batch = {"records": [
        {"source_record_id": "u-1", "id_number": id_number(2), "category": "utilities",
         "type": "payment_on_time", "occurred_at": "2026-10-01T00:00:00Z", "amount_fen": 12000},
        {"source_record_id": "u-2", "id_number": id_number(2), "category": "tax",
         "type": "filed_on_time", "occurred_at": "2026-10-01T00:00:00Z"},
    ]}
    first = client.post("/ingest/v1/records", json=batch, headers=bearer(key)).get_json()
    assert first["accepted"] == 1
    assert [r["code"] for r in first["rejected"]] == ["category_not_granted"]
    again = client.post("/ingest/v1/records", json=batch, headers=bearer(key)).get_json()
    assert again["accepted"] == 0 and again["duplicates"] == 1
