"""Issue 19, item 2: a dispute marks a record (异议标注); it does not erase it.

The attack: a resident listed as 失信被执行人 disputes the listing with any text. Before this
change the listing stopped counting at once (about +90 points), the score page then said
"无失信被执行记录 +80", and the 失信 exclusion lifted, while the listing stood. Now the record is
marked "under dispute" on the records list, the score page and the report, keeps counting until
an operator decides, and stops counting only from the dispute's deadline on if nobody decided by
then. A decision recomputes the score at once and the resident is notified. No page calls the
disputed record absent.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.runtime import runtime
from core.dates import parse_instant
from core.records import Record
from scoring.services import latest
from tests.support.disputes import A, Residents, sign_in
from tests.support.factories import bearer

ABSENT = ("无失信被执行", "Not listed as a dishonest", "No dishonest-debtor")


@pytest.fixture
def people(app, client, idp, clock) -> Residents:
    return Residents(app, client, idp, clock)


def score_page(people: Residents, lang: str = "zh") -> dict[str, Any]:
    response = people.client.get(f"/api/v1/me/score?lang={lang}", headers=bearer(people.a))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def says_absent(page: dict[str, Any]) -> bool:
    texts = [p["text"] for p in page.get("positives", [])]
    return any(mark in text for text in texts for mark in ABSENT)


def medical_credit(people: Residents) -> dict[str, Any]:
    items = people.client.get("/api/v1/me/entitlements", headers=bearer(people.a)).get_json()
    return next(i for i in items["items"] if i["scenario"] == "medical_credit")


def dispute_the_listing(people: Residents) -> dict[str, Any]:
    debtor = people.record("dishonest_debtor")
    response = people.dispute(debtor["id"], reason="随便写点什么")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stored_score(app: Any, people: Residents) -> tuple[int, datetime]:
    with app.app_context(), runtime().uow() as uow:
        record = uow.session.get(Record, uuid.UUID(people.record("dishonest_debtor")["id"]))
        assert record is not None and record.resident_id is not None
        row = latest(uow.session, record.resident_id)
        assert row is not None
        return row.score, row.computed_at


def move(people: Residents, clock: Any, at: datetime) -> None:
    """Set the clock and sign in again (a session does not last for weeks)."""
    clock.at = at
    people.a = sign_in(people.client, people.idp, clock, A, "赵六")


def test_a_disputed_listing_keeps_counting_and_is_marked_under_dispute(people, client):
    before = score_page(people)
    assert not says_absent(before)
    assert "dishonest_debtor" in [r["code"] for r in medical_credit(people)["reasons"]]

    dispute_the_listing(people)  # the attack: any text at all

    after = score_page(people)
    assert after["score"] == before["score"], "a dispute alone must not raise the score"
    assert not says_absent(after), after["positives"]
    marked = after["disputed"]
    assert [m["type"] for m in marked] == ["dishonest_debtor"]
    assert marked[0]["counts"] is True and "异议" in marked[0]["text"]
    assert "under dispute" in score_page(people, "en")["disputed"][0]["text"]
    record = people.record("dishonest_debtor")
    assert record["status"] == "disputed" and record["counts"] is True
    assert "dishonest_debtor" in [r["code"] for r in medical_credit(people)["reasons"]]


def test_the_report_says_under_dispute(people, client):
    dispute_the_listing(people)
    response = client.post("/api/v1/me/reports", headers=bearer(people.a),
                           json={"kind": "credit_report", "sections": ["records"],
                                 "lang": "en"})
    assert response.status_code == 201, response.get_json()
    page = client.get(f"/api/v1/me/reports/{response.get_json()['report_id']}/html",
                      headers=bearer(people.a))
    assert page.status_code == 200
    assert "under dispute" in page.get_data(as_text=True)


def test_a_score_only_report_past_the_deadline_still_says_under_dispute(people, client, clock):
    dispute = dispute_the_listing(people)
    move(people, clock, parse_instant(dispute["due_at"]) + timedelta(hours=1))
    response = client.post("/api/v1/me/reports", headers=bearer(people.a),
                           json={"kind": "credit_report", "sections": ["score"], "lang": "en"})
    assert response.status_code == 201, response.get_json()
    page = client.get(f"/api/v1/me/reports/{response.get_json()['report_id']}/html",
                      headers=bearer(people.a)).get_data(as_text=True)
    assert "Under dispute" in page and "under dispute" in page
    assert not any(mark in page for mark in ABSENT)


def test_undecided_past_its_deadline_the_listing_stops_counting_from_the_deadline_on(
        people, clock):
    before = score_page(people)["score"]
    due = parse_instant(dispute_the_listing(people)["due_at"])
    assert due is not None
    move(people, clock, due - timedelta(seconds=1))
    assert score_page(people)["score"] == before  # still counting up to the deadline
    clock.at = due
    late = score_page(people)
    assert late["score"] > before  # the office's delay is not the resident's loss
    assert not says_absent(late), late["positives"]
    assert late["disputed"][0]["counts"] is False and "异议" in late["disputed"][0]["text"]
    assert people.record("dishonest_debtor")["counts"] is False
    assert "dishonest_debtor" not in [r["code"] for r in medical_credit(people)["reasons"]]


def test_an_upheld_dispute_recomputes_at_once_and_the_resident_is_notified(people, clock, app):
    before = score_page(people)["score"]
    dispute = dispute_the_listing(people)
    move(people, clock, parse_instant(dispute["due_at"]) + timedelta(days=1))
    assert score_page(people)["score"] > before
    decided_at = clock.now() + timedelta(hours=1)
    move(people, clock, decided_at)
    assert people.resolve(dispute["id"], "upheld").status_code == 200
    score, computed_at = stored_score(app, people)
    assert (score, computed_at) == (before, decided_at)  # stored by the decision itself
    assert any(n["kind"] == "dispute_resolved" for n in people.notifications())
    assert "disputed" not in score_page(people) or not score_page(people)["disputed"]


def test_a_removed_listing_recomputes_at_once(people, clock, app):
    before = score_page(people)["score"]
    dispute = dispute_the_listing(people)
    assert people.resolve(dispute["id"], "removed").status_code == 200
    score, computed_at = stored_score(app, people)
    assert score > before and computed_at == clock.now()


def test_the_batch_and_the_read_path_count_a_disputed_record_alike(people, clock, app):
    from scoring import batch_records
    from scoring.features import batch_from_records, compute_features, consent_row, to_epoch
    from scoring.services import active_model, records_of

    dispute = dispute_the_listing(people)
    due = parse_instant(dispute["due_at"])
    assert due is not None
    with app.app_context(), runtime().uow() as uow:
        record = uow.session.get(Record, uuid.UUID(dispute["record_id"]))
        assert record is not None and record.resident_id is not None
        rid = record.resident_id
        model = active_model(uow.session)
        chunk = batch_records.records_batch(uow.session, [rid])
        one = batch_from_records(
            [r for r in records_of(uow.session, [rid]) if r["status"] in ("active", "disputed")])
        everything = consent_row(c.category for c in model.features)
        for at in (due - timedelta(seconds=1), due):
            t = to_epoch(at)
            assert (compute_features(model, chunk, everything, t).tolist()
                    == compute_features(model, one, everything, t).tolist())
        before = compute_features(model, one, everything, to_epoch(due - timedelta(seconds=1)))
        after = compute_features(model, one, everything, to_epoch(due))
        assert before.tolist() != after.tolist()  # it stops counting at the deadline


def test_verify_passes_on_scores_read_around_a_disputed_records_deadline(people, clock, app):
    from tests.support.factories import cli

    dispute = dispute_the_listing(people)
    score_page(people)
    move(people, clock, parse_instant(dispute["due_at"]) + timedelta(minutes=1))
    score_page(people)
    result = cli(app, "score", "--verify")
    assert result.exit_code == 0, result.output
    assert '"mismatches": []' in result.output.strip().splitlines()[-1]
