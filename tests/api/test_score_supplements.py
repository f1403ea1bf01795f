"""Core and supplements through the API (issue 23): scoring always counts the core, a supplement
a resident adds can only help, and the score says what each supplement not added could bring."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.runtime import runtime
from core.registry import CORE, SUPPLEMENTS
from scoring.services import active_model
from scoring.spec import supplement_gain
from tests.support.consent import give
from tests.support.factories import T0, bearer, id_number, login, new_source

EVIDENCE = ["utilities", "social_insurance", "volunteer"]


def _at(days: int) -> str:
    return (T0 - timedelta(days=days)).isoformat().replace("+00:00", "Z")


def _spotless(n: int) -> list[dict]:
    """A clean core (no records at all there), 24 months of utilities paid on time and of
    social insurance, and 12 volunteer hours."""
    out = []
    for k in range(24):
        out.append({"source_record_id": f"{n}-u{k}", "category": "utilities",
                    "type": "payment_on_time", "occurred_at": _at(30 * k + 3),
                    "amount_fen": 9000})
        out.append({"source_record_id": f"{n}-s{k}", "category": "social_insurance",
                    "type": "contribution_month", "occurred_at": _at(30 * k + 5)})
    out.append({"source_record_id": f"{n}-v", "category": "volunteer", "type": "service_hours",
                "occurred_at": _at(40), "quantity": 12})
    return [{**r, "id_number": id_number(n)} for r in out]


@pytest.fixture
def source_key(app):
    return new_source(app)[1]


def _push(client, key: str, records: list[dict]) -> None:
    response = client.post("/ingest/v1/records", headers=bearer(key), json={"records": records})
    assert response.status_code == 200 and not response.get_json()["rejected"], response.json


def _score(client, token: str, supplements: list[str]) -> dict:
    granted = give(client, token, categories=supplements)
    assert granted.status_code in (200, 201), granted.get_json()
    response = client.get("/api/v1/me/score", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_clean_core_with_utilities_social_insurance_and_volunteering_reaches_good(
        client, idp, source_key):
    _push(client, source_key, _spotless(1))
    body = _score(client, login(client, idp, 1), EVIDENCE)
    assert body["score"] >= 600 and body["tier"] in ("good", "very_good", "excellent"), body
    assert {u["category"] for u in body["unused_categories"]} == SUPPLEMENTS - set(EVIDENCE)


def test_three_categories_never_score_below_the_core_alone_and_ten_never_below_three(
        client, idp, source_key):
    """The old bug: a spotless resident who chose 3 categories was scored as if listed as a
    dishonest debtor with penalties (350), against 660 for 10 categories."""
    _push(client, source_key, _spotless(1) + _spotless(2) + _spotless(3))
    core_only = _score(client, login(client, idp, 1), [])
    three = _score(client, login(client, idp, 2), EVIDENCE)
    ten = _score(client, login(client, idp, 3), sorted((SUPPLEMENTS | CORE) - {"rental"}))
    assert core_only["score"] == 500  # base 220 + a clean core's 280
    assert ten["score"] >= three["score"] >= core_only["score"]
    gained = three["score"] - core_only["score"]
    with client.application.app_context(), runtime().uow() as uow:
        model = active_model(uow.session)
    assert 0 < gained <= sum(supplement_gain(model, c) for c in EVIDENCE)
    law = [[d for d in body["dimensions"] if d["code"] == "law_abiding"]
           for body in (core_only, three)]
    assert law[0] == law[1]  # nothing the 3 chose is about the law: the same as the core's


def test_scoring_with_no_supplement_scores_the_core_and_offers_every_supplement(
        client, idp, source_key):
    token = login(client, idp, 1)
    granted = give(client, token)  # no categories: the core alone, no separate acknowledgement
    assert granted.status_code == 201, granted.get_json()
    assert granted.get_json()["categories"] == sorted(CORE)
    body = client.get("/api/v1/me/score?lang=en", headers=bearer(token)).get_json()
    with client.application.app_context(), runtime().uow() as uow:
        model = active_model(uow.session)
    unused = body["unused_categories"]
    assert unused == sorted(unused, key=lambda u: -u["max_points"])
    assert {u["category"]: u["max_points"] for u in unused} == {
        c: supplement_gain(model, c) for c in model.supplement_codes}
    assert all(set(u) == {"category", "name", "max_points"} and set(u["name"]) == {"zh", "en"}
               for u in unused)


def test_a_left_out_supplement_is_never_a_reason_and_adding_it_never_lowers_the_score(
        client, idp, source_key):
    _push(client, source_key, [
        {"source_record_id": f"t{k}", "id_number": id_number(1), "category": "traffic",
         "type": "violation", "occurred_at": _at(20 + k)} for k in range(4)])
    token = login(client, idp, 1)
    without = _score(client, token, ["utilities"])
    assert not {r["code"] for r in without["reasons"]} & {"traffic_violations_1y"}
    assert "traffic" in {u["category"] for u in without["unused_categories"]}
    added = _score(client, token, ["utilities", "traffic"])
    traffic = next(f for f in added["features"] if f["code"] == "traffic_violations_1y")
    assert traffic["value"] == 4 and traffic["points"] == 0  # its worst evidence …
    assert added["score"] == without["score"]  # … earns what leaving it out earns


def test_the_openapi_document_describes_the_unused_supplements(client):
    spec = client.get("/openapi.json").get_json()
    unused = spec["components"]["schemas"]["UnusedSupplement"]["properties"]
    assert set(unused) == {"category", "name", "max_points"}
