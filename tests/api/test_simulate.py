"""What if (issue 23 item 6): `POST /api/v1/me/score/simulate` projects the score of changes the
resident can make with the same engine, unlocks what they would unlock, and stores nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.runtime import runtime
from core.audit import AuditEntry
from core.notifications import Notification
from core.records import Record
from rewards.credit.models import CreditBill
from scoring.codes import SECONDS_PER_MONTH
from scoring.store import Score
from tests.support.consent import grant_scoring
from tests.support.disputes import Residents
from tests.support.factories import bearer, id_number, login, new_partner, new_source
from tests.support.medical_credit import Credit

SIMULATE = "/api/v1/me/score/simulate"


def simulate(client, token, *changes, lang="zh"):
    return client.post(f"{SIMULATE}?lang={lang}", headers=bearer(token),
                       json={"changes": list(changes)})


def projected(client, token, *changes) -> dict:
    response = simulate(client, token, *changes)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def score(client, token) -> dict:
    response = client.get("/api/v1/me/score", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def rec(n, srid, category, type_, when="2026-10-01T00:00:00Z", **extra) -> dict:
    return {"source_record_id": srid, "id_number": id_number(n), "category": category,
            "type": type_, "occurred_at": when, **extra}


def push(client, key, *records) -> None:
    response = client.post("/ingest/v1/records", headers=bearer(key),
                           json={"records": list(records)})
    assert response.status_code == 200 and not response.get_json()["rejected"]


def stored(app) -> dict:
    """What a simulation must never change: scores, records, bills, audit, notifications."""
    with app.app_context(), runtime().uow() as uow:
        s = uow.session
        return {
            "scores": s.scalar(select(func.count()).select_from(Score)),
            "records": sorted(s.execute(select(Record.id, Record.status)).all()),
            "bills": sorted(s.execute(select(CreditBill.id, CreditBill.status,
                                             CreditBill.paid_fen)).all()),
            "audit": s.scalar(select(func.count()).select_from(AuditEntry)),
            "notifications": s.scalar(select(func.count()).select_from(Notification)),
        }


def my_record(app, n_type: str) -> str:
    with app.app_context(), runtime().uow() as uow:
        return str(uow.session.scalars(select(Record.id).where(Record.type == n_type)).one())


@pytest.fixture
def source(app):
    return new_source(app)[1]


def test_paying_an_overdue_bill_projects_the_score_paying_gives_and_unlocks_credit_care(
        app, client, idp):
    credit = Credit(app, client, idp)
    bill = credit.bill(10000)
    credit.advance(days=14, minutes=1)
    credit.jobs()  # overdue, then reported after the grace period
    [record] = credit.records("medical_credit_overdue")
    before = score(client, credit.resident)
    untouched = stored(app)

    answer = projected(client, credit.resident, {"kind": "pay_bill", "bill_id": bill["bill_id"]})

    assert stored(app) == untouched  # nothing of the projection is written
    assert answer["current"] == {"score": before["score"], "tier": before["tier"]}
    assert answer["delta"] == answer["score"] - before["score"] > 0
    assert "medical_credit" in [u["scenario"] for u in answer["unlocks"]]
    assert all(set(u["name"]) == {"zh", "en"} for u in answer["unlocks"])
    explanation = answer["explanation"]
    assert explanation["score"] == answer["score"]
    assert sum(d["points"] for d in explanation["dimensions"]) + explanation["base_points"] \
        == answer["score"]

    assert credit.pay(bill["bill_id"], 10000).status_code in (200, 201)
    assert credit.records("medical_credit_overdue")[0].id == record.id
    after = score(client, credit.resident)
    assert (after["score"], after["tier"]) == (answer["score"], answer["tier"])
    assert credit.entitlement()["eligible"]


def test_volunteer_hours_project_what_the_records_would_score(app, client, idp, source):
    push(client, source, rec(1, "u", "utilities", "payment_on_time"))
    token = login(client, idp, 1)
    grant_scoring(client, token)
    answer = projected(client, token, {"kind": "volunteer_hours", "hours": 35})
    assert answer["delta"] > 0
    push(client, source, rec(1, "v", "volunteer", "service_hours",
                             when=answer["as_of"], quantity=35))
    assert score(client, token)["score"] == answer["score"]


def test_a_repair_projects_the_record_no_longer_counting_and_says_when_it_may_be_applied(
        app, client, idp, source):
    push(client, source, rec(2, "t", "traffic", "violation", severity="general"),
         rec(2, "p", "public_credit", "admin_penalty", severity="general"))
    token = login(client, idp, 2)
    grant_scoring(client, token)
    before = score(client, token)
    answer = projected(client, token, {"kind": "repair_record",
                                       "record_id": my_record(app, "admin_penalty")})
    assert answer["delta"] > 0 and answer["score"] == before["score"] + answer["delta"]
    [note] = answer["notes"]
    assert note["kind"] == "repair_record" and note["index"] == 0
    assert note["eligible_now"] is False  # a general penalty's minimum period is 90 days
    assert note["earliest_at"].startswith("2026-12-30")


def test_adding_a_supplement_adds_at_most_what_the_public_model_says(app, client, idp, source):
    push(client, source, rec(3, "u", "utilities", "payment_on_time"))
    token = login(client, idp, 3)
    grant_scoring(client, token, ["utilities"])
    card = {c["code"]: c for c in client.get("/api/v1/model").get_json()["categories"]}
    answer = projected(client, token, {"kind": "add_supplement", "category": "blood_donation"})
    assert answer["delta"] == card["blood_donation"]["max_points"] > 0
    explanation = answer["explanation"]
    assert explanation["added_supplements"] == [{
        "category": "blood_donation", "name": card["blood_donation"]["name"],
        "max_points": card["blood_donation"]["max_points"]}]
    assert "blood_donation" not in [u.get("category", u.get("code"))
                                    for u in explanation["unused_categories"]]


def test_keeping_on_paying_projects_months_ahead_with_the_same_payments(
        app, client, idp, source):
    push(client, source, *(rec(4, f"u{m}", "utilities", "payment_on_time",
                               when=f"2026-{m:02d}-05T00:00:00Z") for m in range(5, 11)),
         rec(4, "late", "utilities", "payment_overdue", when="2026-10-20T00:00:00Z"))
    token = login(client, idp, 4)
    grant_scoring(client, token)
    answer = projected(client, token, {"kind": "keep_paying", "months": 12})
    assert answer["as_of"] > "2027-10-01" and answer["delta"] > 0
    shown = {f["code"]: f for f in answer["explanation"]["features"]}
    assert shown["utility_late_payments_1y"]["value"] == 0  # the late one has aged out
    assert shown["utility_on_time_payments_2y"]["value"] >= 12


@pytest.mark.parametrize("change, status, code", [
    ({"kind": "teleport"}, 422, "validation_failed"),
    ({"kind": "volunteer_hours", "hours": -3}, 422, "simulation_invalid"),
    ({"kind": "volunteer_hours", "hours": 1e9}, 422, "simulation_invalid"),
    ({"kind": "volunteer_hours"}, 422, "simulation_invalid"),
    ({"kind": "keep_paying", "months": 0}, 422, "simulation_invalid"),
    ({"kind": "keep_paying", "months": 2.5}, 422, "validation_failed"),
    ({"kind": "add_supplement", "category": "judicial"}, 422, "simulation_invalid"),
    ({"kind": "add_supplement", "category": "religion"}, 422, "simulation_invalid"),
    ({"kind": "repair_record", "record_id": str(uuid.uuid4())}, 422, "simulation_invalid"),
    ({"kind": "repair_record"}, 422, "simulation_invalid"),
    ({"kind": "pay_bill", "bill_id": str(uuid.uuid4())}, 422, "simulation_invalid"),
    ({"kind": "pay_bill", "bill_id": "not-a-uuid"}, 422, "validation_failed"),
])
def test_a_change_that_cannot_be_applied_is_a_problem_never_a_500(
        app, client, idp, source, change, status, code):
    push(client, source, rec(5, "u", "utilities", "payment_on_time"))
    token = login(client, idp, 5)
    grant_scoring(client, token)
    response = simulate(client, token, change)
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == code


def test_no_changes_too_many_changes_and_twice_keep_paying_are_refused(app, client, idp):
    token = login(client, idp, 6)
    grant_scoring(client, token)
    assert simulate(client, token).status_code == 422
    eleven = [{"kind": "volunteer_hours", "hours": 1}] * 11
    assert simulate(client, token, *eleven).status_code == 422
    twice = simulate(client, token, {"kind": "keep_paying", "months": 1},
                     {"kind": "keep_paying", "months": 2})
    assert twice.status_code == 422 and twice.get_json()["code"] == "simulation_invalid"
    already = simulate(client, token, {"kind": "add_supplement", "category": "volunteer"})
    assert already.status_code == 422 and already.get_json()["index"] == 0


def test_hours_in_a_category_not_added_add_it_with_those_hours_only(app, client, idp, source):
    push(client, source, rec(10, "u", "utilities", "payment_on_time"),
         rec(10, "v", "volunteer", "service_hours", quantity=500))  # not added: never read
    token = login(client, idp, 10)
    grant_scoring(client, token, ["utilities"])
    answer = projected(client, token, {"kind": "volunteer_hours", "hours": 5})
    [hours] = [f for f in answer["explanation"]["features"] if f["code"] == "volunteer_hours_2y"]
    assert hours["value"] == 5
    both = simulate(client, token, {"kind": "volunteer_hours", "hours": 5},
                    {"kind": "add_supplement", "category": "volunteer"})
    assert both.status_code == 422 and both.get_json()["index"] == 1


def test_another_residents_record_or_bill_is_not_yours_to_simulate(app, client, idp, source):
    push(client, source, rec(7, "p", "public_credit", "admin_penalty", severity="general"))
    owner = login(client, idp, 7)
    grant_scoring(client, owner)
    other = login(client, idp, 8)
    grant_scoring(client, other)
    response = simulate(client, other, {"kind": "repair_record",
                                        "record_id": my_record(app, "admin_penalty")})
    assert response.status_code == 422
    assert response.get_json()["code"] == "simulation_invalid"
    assert "admin_penalty" not in response.get_data(as_text=True)


def test_only_the_resident_may_simulate_and_only_with_a_scoring_consent(app, client, idp):
    _partner, key = new_partner(app, "hospital", ["medical_credit"])
    change = {"kind": "volunteer_hours", "hours": 5}
    assert client.post(SIMULATE, json={"changes": [change]}).status_code == 401
    assert client.post(SIMULATE, headers=bearer(key),
                       json={"changes": [change]}).status_code == 401
    token = login(client, idp, 9)
    response = simulate(client, token, change)
    assert response.status_code == 403 and response.get_json()["code"] == "consent_required"


def test_the_answer_shape_is_pinned_in_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"][SIMULATE]["post"]
    assert operation["security"] == [{"residentSession": []}]
    schema = spec["components"]["schemas"]["Simulation"]
    assert {"score", "tier", "delta", "unlocks", "explanation"} <= set(schema["properties"])
    unlock = spec["components"]["schemas"]["Unlock"]
    assert set(unlock["properties"]) == {"scenario", "name"}


def test_keeping_on_paying_projects_the_score_the_months_then_give(
        app, client, idp, source, clock):
    push(client, source, *(rec(11, f"u{m}", "utilities", "payment_on_time",
                               when=f"2026-{m:02d}-05T00:00:00Z") for m in range(6, 11)),
         rec(11, "p", "public_credit", "admin_penalty", severity="minor",
             when="2026-10-10T00:00:00Z"))
    token = login(client, idp, 11)
    grant_scoring(client, token)
    answer = projected(client, token, {"kind": "keep_paying", "months": 3})
    start = clock.now()
    clock.advance(seconds=3 * SECONDS_PER_MONTH)
    push(client, source, *(rec(11, f"next{k}", "utilities", "payment_on_time",
                               when=(start + timedelta(seconds=k * SECONDS_PER_MONTH))
                               .isoformat()) for k in (1, 2, 3)))
    then = score(client, login(client, idp, 11, now=clock.now()))
    assert (then["score"], then["tier"]) == (answer["score"], answer["tier"])
    assert answer["as_of"] == clock.now().isoformat().replace("+00:00", "Z")


def test_adding_a_supplement_with_the_best_evidence_gives_exactly_the_projection(
        app, client, idp, source):
    push(client, source, rec(12, "u", "utilities", "payment_on_time"),
         *(rec(12, f"b{i}", "blood_donation", "donation", when=f"2026-0{i}-01T00:00:00Z")
           for i in range(1, 6)))
    token = login(client, idp, 12)
    grant_scoring(client, token, ["utilities"])
    answer = projected(client, token, {"kind": "add_supplement", "category": "blood_donation"})
    grant_scoring(client, token, ["utilities", "blood_donation"])
    assert score(client, token)["score"] == answer["score"]


def test_a_repair_approved_gives_exactly_the_projected_score(app, client, idp, clock):
    people = Residents(app, client, idp, clock)
    old = people.record("admin_penalty", "2026-03-01")
    answer = projected(client, people.a, {"kind": "repair_record", "record_id": old["id"]})
    [note] = answer["notes"]
    assert note["eligible_now"] is True and answer["delta"] > 0
    applied = client.post("/api/v1/me/repairs", headers=bearer(people.a),
                          json={"record_id": old["id"], "pledge": True})
    assert applied.status_code == 201, applied.get_json()
    decided = client.post(f"/admin/v1/repairs/{applied.get_json()['id']}/decide",
                          headers=bearer(people.reviewer_key),
                          json={"decision": "approve", "note": "准予修复"})
    assert decided.status_code == 200, decided.get_json()
    assert people.score() == answer["score"]
