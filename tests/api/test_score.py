"""The resident's score through the API: consent-gated, explained, recomputed when stale."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask.cli import ScriptInfo
from sqlalchemy import select

from app.cli import main
from app.runtime import runtime
from scoring.store import Score
from tests.support.factories import bearer, id_number, login, new_source

NORMAL = ["public_credit", "judicial", "tax", "social_insurance", "housing_fund", "utilities",
          "traffic", "volunteer", "blood_donation", "rental"]


def scoring_notice(client) -> dict:
    notices = client.get("/api/v1/notices").get_json()
    return next(n for n in notices if n["purpose"] == "scoring")


def grant_scoring(client, token, categories=None) -> dict:
    notice = scoring_notice(client)
    response = client.post("/api/v1/me/consents", headers=bearer(token), json={
        "notice_id": notice["id"], "categories": categories or NORMAL,
        "separate_consent": True})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def push(client, key, *records) -> dict:
    response = client.post("/ingest/v1/records", headers=bearer(key),
                           json={"records": list(records)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def rec(n, srid, category, type_, when="2026-09-01T00:00:00Z", **extra) -> dict:
    return {"source_record_id": srid, "id_number": id_number(n), "category": category,
            "type": type_, "occurred_at": when, **extra}


@pytest.fixture
def resident(app, client, idp):
    _src, key = new_source(app)
    push(client, key,
         rec(1, "u1", "utilities", "payment_on_time", amount_fen=8000),
         rec(1, "s1", "social_insurance", "contribution_month"),
         rec(1, "v1", "volunteer", "service_hours", quantity=12))
    token = login(client, idp, 1)
    return {"token": token, "source_key": key}


def test_without_scoring_consent_there_is_no_score_only_consent_required(client, resident):
    response = client.get("/api/v1/me/score", headers=bearer(resident["token"]))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "consent_required"


def test_a_consented_resident_sees_an_explained_score(client, resident):
    grant_scoring(client, resident["token"])
    body = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    assert 0 <= body["score"] <= 1000
    assert body["model"] == "pengcheng-v1"
    assert len(body["dimensions"]) == 5
    assert len(body["reasons"]) <= 4
    assert all(r["points_lost"] > 0 and r["tip"] for r in body["reasons"])
    assert body["reasons"] == sorted(body["reasons"], key=lambda r: -r["points_lost"])
    assert body["unused_categories"] == []  # every supplement added; the core always counts
    assert sum(d["points"] for d in body["dimensions"]) <= body["score"]


def test_a_new_negative_record_lowers_the_score_on_the_next_read(client, resident):
    grant_scoring(client, resident["token"])
    before = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    push(client, resident["source_key"],
         rec(1, "j1", "judicial", "dishonest_debtor", severity="serious"))
    after = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    assert after["score"] < before["score"]
    assert after["inputs_hash"] != before["inputs_hash"]
    history = client.get("/api/v1/me/score/history",
                         headers=bearer(resident["token"])).get_json()["items"]
    assert [h["score"] for h in history] == [after["score"], before["score"]]


def test_an_unchanged_resident_reads_the_stored_score_without_recomputing(client, resident):
    grant_scoring(client, resident["token"])
    first = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    second = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    assert first == second
    history = client.get("/api/v1/me/score/history", headers=bearer(resident["token"]))
    assert len(history.get_json()["items"]) == 1


def test_a_record_whose_publicity_ends_stops_counting_without_any_new_data(
        app, client, resident, idp, clock):
    """DESIGN §5.2/§5.4: a record stops counting past its publicity period, and no reader sees
    a score older than the records behind it — even when nothing was ingested since."""
    grant_scoring(client, resident["token"])
    # a minor traffic violation: 90 days of publicity, of which 80 have passed
    push(client, resident["source_key"],
         rec(1, "t1", "traffic", "violation", when=(clock.now() - timedelta(days=80)).isoformat()))
    before = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    clock.advance(minutes=5)
    assert client.get("/api/v1/me/score",
                      headers=bearer(resident["token"])).get_json() == before  # still current

    clock.advance(days=10)  # the publicity has ended
    token = login(client, idp, 1, now=clock.now())
    after = client.get("/api/v1/me/score", headers=bearer(token)).get_json()
    assert after["computed_at"] != before["computed_at"]
    assert after["score"] > before["score"]
    violations = {f["code"]: f["value"] for f in after["features"]}["traffic_violations_1y"]
    assert violations == 0
    with app.app_context(), runtime().uow() as uow:
        stored = uow.session.scalars(select(Score).order_by(Score.computed_at)).all()
        assert [s.trigger for s in stored] == ["read", "read"]
        assert stored[0].valid_until is not None and stored[0].valid_until <= clock.now()
        assert stored[1].valid_until is None or stored[1].valid_until > clock.now()


def test_narrower_consent_lists_the_unused_categories(client, resident):
    grant_scoring(client, resident["token"], ["utilities", "social_insurance"])
    body = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    unused = {c["category"] for c in body["unused_categories"]}
    assert {"volunteer", "housing_fund", "rental"} <= unused
    assert not unused & {"utilities", "judicial", "tax"}  # chosen, or core


def test_the_explanation_is_available_in_english(client, resident):
    grant_scoring(client, resident["token"])
    zh = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    en = client.get("/api/v1/me/score?lang=en", headers=bearer(resident["token"])).get_json()
    assert en["score"] == zh["score"] and en["lang"] == "en"
    assert en["dimensions"][0]["name"] != zh["dimensions"][0]["name"]
    bad = client.get("/api/v1/me/score?lang=fr", headers=bearer(resident["token"]))
    assert bad.status_code == 422


def _cli(app, *args):
    return app.test_cli_runner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_batch_scoring_matches_the_single_path_and_verifies(app, client, resident, idp):
    grant_scoring(client, resident["token"])
    push(client, resident["source_key"], rec(1, "t1", "traffic", "violation"))
    result = _cli(app, "score", "--partition", "0/1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["scored"] == 1
    again = _cli(app, "score")
    assert json.loads(again.output.strip().splitlines()[-1])["scored"] == 0
    with app.app_context(), runtime().uow() as uow:
        stored = uow.session.scalars(select(Score)).all()
    assert [s.trigger for s in stored] == ["batch"]
    # the single path, forced by a new version, computes the same score from the same data
    from scoring.explain import score_resident
    from scoring.services import active_model, explanation_of, records_of

    with app.app_context(), runtime().uow() as uow:
        model = active_model(uow.session)
        explanation, _ = score_resident(model, records_of(uow.session, [stored[0].resident_id]),
                                        stored[0].inputs["consented_categories"],
                                        stored[0].computed_at)
        assert stored[0].explanation is None  # the inputs only: rendered on read
        assert explanation == explanation_of(uow.session, stored[0])
    shown = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    assert (shown["score"], shown["reasons"], shown["features"]) == (
        explanation["score"], explanation["reasons"], explanation["features"])
    verified = _cli(app, "score", "--verify")
    assert verified.exit_code == 0 and '"mismatches": []' in verified.output


def test_a_batch_score_reads_the_same_bytes_as_if_its_explanation_were_stored(app, client,
                                                                              resident):
    """The batch stores the inputs only and the read renders the explanation from them
    (issue 26): the resident's answer, in either language, is byte for byte the one a row
    holding the single path's explanation gives."""
    grant_scoring(client, resident["token"])
    push(client, resident["source_key"], rec(1, "t1", "traffic", "violation"))
    assert _cli(app, "score").exit_code == 0

    def answers() -> list[bytes]:
        return [client.get(f"/api/v1/me/score?lang={lang}",
                           headers=bearer(resident["token"])).data for lang in ("zh", "en")]

    rendered = answers()
    from scoring.explain import score_resident
    from scoring.services import active_model, records_of

    with app.app_context(), runtime().uow() as uow:
        row = uow.session.scalars(select(Score)).one()
        assert row.explanation is None
        row.explanation, _ = score_resident(
            active_model(uow.session), records_of(uow.session, [row.resident_id]),
            row.inputs["consented_categories"], row.computed_at)
        uow.commit()
    assert answers() == rendered
    with app.app_context(), runtime().uow() as uow:
        assert uow.session.scalars(select(Score.trigger)).all() == ["batch"]


def test_verify_reports_a_stored_score_that_was_altered(app, client, resident):
    grant_scoring(client, resident["token"])
    client.get("/api/v1/me/score", headers=bearer(resident["token"]))
    with app.app_context(), runtime().uow() as uow:
        row = uow.session.scalars(select(Score)).one()
        row.explanation = {**row.explanation, "score": row.explanation["score"] + 1}
        uow.commit()
    result = _cli(app, "score", "--verify")
    assert result.exit_code == 1
    assert str(row.id) in result.output


def test_an_invalid_model_spec_is_refused_with_its_problems(app, tmp_path):
    spec = {
        "id": "bad-model", "version": "1", "base_points": 500, "dimensions": [],
        "features": [{"code": "religion_feature", "category": "religion"}], "tiers": []}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    result = _cli(app, "model", "validate", str(path))
    assert result.exit_code == 1
    body = json.loads(result.output.strip().splitlines()[-1])
    assert body["valid"] is False
    assert any("religion" in p for p in body["problems"])


def test_activating_a_new_model_rescores_on_the_next_read(app, client, resident, tmp_path):
    from scoring.spec import load_model

    grant_scoring(client, resident["token"])
    client.get("/api/v1/me/score", headers=bearer(resident["token"]))
    spec = dict(load_model("pengcheng-v1").raw, id="pengcheng-v1b", version="1.0.1")
    spec["base_points"] = spec["base_points"] + 10
    path = tmp_path / "v1b.json"
    path.write_text(json.dumps(spec, ensure_ascii=False))
    assert _cli(app, "model", "validate", str(path)).exit_code == 0
    assert _cli(app, "model", "activate", "pengcheng-v1b").exit_code == 0
    body = client.get("/api/v1/me/score", headers=bearer(resident["token"])).get_json()
    assert body["model"] == "pengcheng-v1b"
