"""`POST /ingest/v1/records`: per-record validation, idempotency, credentials, limits."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from core.identity import DataSource, Partner, Resident, by_api_key
from core.records import Record
from tests.support.factories import bearer, id_number, login, new_partner, new_source

GOOD = {"source_record_id": "ok", "id_number": id_number(1), "category": "utilities",
        "type": "payment_on_time", "occurred_at": "2026-10-01T00:00:00Z", "amount_fen": 100}


def rec(**overrides: Any) -> dict[str, Any]:
    out = {**GOOD, **overrides}
    return {k: v for k, v in out.items() if v is not ...}


BAD = [
    ("unknown_category", rec(category="astrology")),
    ("category_not_granted", rec(category="judicial", type="dishonest_debtor")),
    ("unknown_type", rec(type="payment_maybe")),
    ("invalid_id_number", rec(id_number=id_number(1)[:17] + "0"
                              if not id_number(1).endswith("0") else id_number(1)[:17] + "1")),
    ("invalid_id_number", rec(id_number=12345)),
    ("invalid_id_number", rec(id_number="44030519900231001X")),
    ("invalid_occurred_at", rec(occurred_at="yesterday")),
    ("invalid_occurred_at", rec(occurred_at="2026-10-01T00:00:00")),  # no timezone
    ("invalid_occurred_at", rec(occurred_at=1700000000)),
    ("occurred_in_future", rec(occurred_at="2027-01-01T00:00:00+08:00")),
    ("invalid_amount", rec(amount_fen=-1)),
    ("invalid_amount", rec(amount_fen=1.5)),
    ("invalid_amount", rec(amount_fen=True)),
    ("invalid_amount", rec(amount_fen="100")),
    ("invalid_quantity", rec(category="volunteer", type="service_hours", quantity=-2)),
    ("invalid_quantity", rec(category="volunteer", type="service_hours", quantity="3")),
    ("invalid_quantity", rec(category="volunteer", type="service_hours", quantity=False)),
    ("quantity_required", rec(category="volunteer", type="service_hours")),
    ("invalid_severity", rec(type="payment_overdue", severity="catastrophic")),
    ("severity_not_applicable", rec(severity="minor")),
    ("banned_attribute", rec(attributes={"Religion": "x"})),
    ("banned_attribute", rec(attributes={"blood_type": "O"})),
    ("attributes_too_large", rec(attributes={"note": "长" * 3000})),
    ("invalid_attributes", rec(attributes=["a"])),
    ("unknown_field", rec(colour="red")),
    ("not_an_object", ["not", "an", "object"]),
    ("not_an_object", "string"),
    ("invalid_source_record_id", rec(source_record_id="")),
    ("invalid_source_record_id", rec(source_record_id=7)),
    ("invalid_source_record_id", rec(source_record_id="x" * 101)),
    ("invalid_source_record_id", rec(source_record_id=...)),
]
GRANTED = ["utilities", "volunteer", "tax"]


@pytest.fixture
def source_key(app) -> str:
    return new_source(app, GRANTED)[1]


def push(client, key: str, records: list[Any]):
    return client.post("/ingest/v1/records", json={"records": records}, headers=bearer(key))


@pytest.mark.parametrize("code,bad", BAD, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BAD)])
def test_a_bad_record_is_rejected_with_its_code_while_the_rest_is_accepted(
        client, source_key, code, bad):
    batch = [rec(source_record_id="a"), bad, rec(source_record_id="b")]
    response = push(client, source_key, batch)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["accepted"] == 2 and body["duplicates"] == 0
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(1, code)]
    assert body["rejected"][0]["detail"]


def test_every_rejection_code_in_the_domain_is_covered():
    import inspect

    import core.records as records

    codes = set(__import__("re").findall(r'no\("([a-z_]+)"', inspect.getsource(records)))
    assert codes == {code for code, _ in BAD}


def test_valid_variants_are_accepted(client, source_key):
    batch = [
        rec(source_record_id="v1", category="volunteer", type="service_hours", quantity=2.5,
            amount_fen=None),
        rec(source_record_id="v2", type="payment_overdue"),  # default severity
        rec(source_record_id="v3", type="payment_overdue", severity="serious",
            occurred_at="2026-10-01T08:00:00+08:00"),
        rec(source_record_id="v4", id_number=id_number(1).lower(), amount_fen=0,
            attributes={"meter": "A-1"}),
        rec(source_record_id="v5", category="tax", type="arrears", amount_fen=10**12),
    ]
    body = push(client, source_key, batch).get_json()
    assert body == {"accepted": 5, "duplicates": 0, "rejected": []}


def test_a_replayed_batch_counts_duplicates(app, client, source_key, uow):
    batch = [rec(source_record_id=f"r{i}") for i in range(10)]
    assert push(client, source_key, batch).get_json()["accepted"] == 10
    again = push(client, source_key, batch + [rec(source_record_id="new")]).get_json()
    assert (again["accepted"], again["duplicates"]) == (1, 10)
    assert uow.session.scalar(select(func.count()).select_from(Record)) == 11


def test_duplicates_within_a_batch_are_stored_once(client, source_key, uow):
    body = push(client, source_key, [rec(), rec(amount_fen=5), rec()]).get_json()
    assert (body["accepted"], body["duplicates"]) == (1, 2)
    assert uow.session.scalar(select(func.count()).select_from(Record)) == 1


def test_the_same_source_record_id_from_two_sources_is_two_records(app, client, uow):
    one, two = new_source(app, GRANTED)[1], new_source(app, GRANTED)[1]
    assert push(client, one, [rec()]).get_json()["accepted"] == 1
    assert push(client, two, [rec()]).get_json()["accepted"] == 1
    assert uow.session.scalar(select(func.count()).select_from(Record)) == 2


def test_a_batch_over_1000_records_is_a_422(client, source_key):
    response = push(client, source_key, [rec(source_record_id=str(i)) for i in range(1001)])
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_failed"
    assert any(e["field"] == "records" for e in response.get_json()["errors"])


def test_a_batch_of_exactly_1000_records_is_accepted(client, source_key):
    body = push(client, source_key, [rec(source_record_id=str(i)) for i in range(1000)]).get_json()
    assert body["accepted"] == 1000


@pytest.mark.parametrize("payload", [{}, {"records": []}, {"records": "x"}, [1, 2]])
def test_a_batch_without_records_is_a_422(client, source_key, payload):
    response = client.post("/ingest/v1/records", json=payload, headers=bearer(source_key))
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_failed"


def test_ingestion_needs_a_source_key(app, client, idp):
    assert push(client, "sk_nope", [rec()]).status_code == 401
    _partner, partner_key = new_partner(app)
    assert push(client, partner_key, [rec()]).status_code == 401
    session = login(client, idp)
    assert push(client, session, [rec()]).status_code == 401
    assert client.post("/ingest/v1/records", json={"records": [rec()]}).status_code == 401


def test_a_source_key_is_not_a_partner_or_resident_credential(app, client, source_key, uow):
    assert by_api_key(uow.session, Partner, source_key) is None
    assert by_api_key(uow.session, DataSource, source_key) is not None
    response = client.get("/api/v1/me", headers=bearer(source_key))
    assert response.status_code == 401


def test_an_inactive_source_is_refused(app, client, source_key, uow):
    uow.session.execute(DataSource.__table__.update().values(active=False))
    uow.commit()
    assert push(client, source_key, [rec()]).status_code == 401


def test_ingestion_is_rate_limited_per_source_with_retry_after(app, client, source_key):
    app.config["RATE_LIMIT_INGEST"] = "2/60"
    for i in range(2):
        assert push(client, source_key, [rec(source_record_id=str(i))]).status_code == 200
    limited = push(client, source_key, [rec(source_record_id="x")])
    assert limited.status_code == 429
    assert limited.get_json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    other = new_source(app, GRANTED)[1]
    assert push(client, other, [rec(source_record_id="y")]).status_code == 200


def test_ingesting_marks_the_resident_stale(app, client, idp, source_key, clock, uow):
    login(client, idp, 1)
    login(client, idp, 2)
    uow.session.execute(Resident.__table__.update().values(score_stale_at=None))
    uow.commit()
    clock.advance(hours=1)
    assert push(client, source_key, [rec()]).get_json()["accepted"] == 1
    uow.session.expire_all()
    stale = {r.id_index: r.score_stale_at for r in uow.session.scalars(select(Resident))}
    assert sorted(stale.values(), key=lambda v: v is None) == [clock.now(), None]
    assert push(client, source_key, [rec()]).get_json()["duplicates"] == 1


def test_stored_records_hold_the_blind_index_not_the_id_number(client, source_key, uow):
    push(client, source_key, [rec(attributes={"meter": "A-1"})])
    row = uow.session.scalars(select(Record)).one()
    assert id_number(1) not in row.subject_index
    assert row.resident_id is None
    assert row.publicity_ends_at is None and row.severity is None
    assert row.status == "active" and row.attributes == {"meter": "A-1"}


def test_with_redis_down_the_service_still_logs_in_and_ingests(config, clock, idp, tmp_path,
                                                               monkeypatch):
    from app import create_app
    from app.runtime import runtime

    monkeypatch.setenv("PENGCHENG_INSTANCE_PATH", str(tmp_path / "inst"))
    app = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0",
                      "RATE_LIMIT_INGEST": "3/60"}, clock=clock)
    try:
        with app.app_context(), runtime().uow() as uow:
            runtime().signer.ensure(uow.session, clock.now())
            uow.commit()
        client = app.test_client()
        token = login(client, idp, 1)
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        key = new_source(app, GRANTED)[1]
        assert push(client, key, [rec()]).get_json()["accepted"] == 1
        assert push(client, key, [rec()]).get_json()["duplicates"] == 1
        push(client, key, [rec()])
        assert push(client, key, [rec()]).status_code == 429  # limits hold in the fallback
        health = client.get("/healthz").get_json()
        assert health["database"] == "ok" and health["fast_store"].startswith("degraded")
    finally:
        app.extensions["pengcheng"].engine.dispose()


def test_records_of_a_known_resident_are_stored_with_every_field(app, client, idp, source_key,
                                                                 uow):
    login(client, idp, 1)
    push(client, source_key, [
        rec(source_record_id="q", category="volunteer", type="service_hours", quantity=1.5,
            amount_fen=None, attributes={"org": "义工联", "n": [1, 2]}),
        rec(source_record_id="s", type="payment_overdue", severity="general", amount_fen=7),
    ])
    resident = uow.session.scalars(select(Resident)).one()
    rows = {r.source_record_id: r for r in uow.session.scalars(select(Record))}
    assert {r.resident_id for r in rows.values()} == {resident.id}
    q, s = rows["q"], rows["s"]
    assert (q.quantity, q.amount_fen, q.severity, q.attributes) == (
        1.5, None, None, {"org": "义工联", "n": [1, 2]})
    assert (s.amount_fen, s.severity, s.category, s.type) == (7, "general", "utilities",
                                                              "payment_overdue")
    assert s.publicity_ends_at - s.occurred_at == __import__("core.registry").registry.PUBLICITY[
        "general"][1]
    assert s.occurred_at.isoformat() == "2026-10-01T00:00:00+00:00"
