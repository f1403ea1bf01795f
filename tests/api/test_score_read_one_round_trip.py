"""The score read in one round trip (`scoring.read`, issue 26): when the stored score is current
it answers exactly what the general path (`explained_score`, dumped by `ScoreSchema`) answers,
in one statement; in every other case it steps aside and the general path refuses, recomputes
or audits as before."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from app.api.scores.routes import _ANSWER, _scale
from app.api.scores.schemas import ScoreSchema
from app.runtime import runtime
from consent.models import ConsentRecord
from core import audit
from core.sessions import resident_for_session
from scoring import services
from scoring.read import current_read
from scoring.services import explained_score, stored_model
from scoring.store import Score
from tests.support.disputes import A, Residents, sign_in
from tests.support.factories import bearer, cli
from tests.support.statements import statements
from tests.support.tokens import push, rec

LANGS = ("zh", "en")


@pytest.fixture
def people(app, client, idp, clock) -> Residents:
    return Residents(app, client, idp, clock)


def general(app: Any, token: str, lang: str, clock: Any) -> dict[str, Any]:
    """The general path's answer, dumped by marshmallow (it commits a recomputed score)."""
    with app.app_context(), runtime().uow() as uow:
        resident = resident_for_session(uow.session, token, clock.now())
        answer = explained_score(uow, resident, now=clock.now(), lang=lang)
        model = stored_model(uow.session, answer["model"])
        assert model is not None
        dumped: dict[str, Any] = ScoreSchema().dump({**answer, "scale": _scale(model, lang)})
        return dumped


def fast(app: Any, token: str, lang: str, clock: Any) -> dict[str, Any] | None:
    """The one-round-trip answer as the endpoint dumps it; None when it steps aside."""
    with app.app_context(), runtime().uow() as uow:
        found = current_read(uow, token, now=clock.now(), lang=lang)
    if found is None:
        return None
    dumped: dict[str, Any] = _ANSWER({**found.answer, "scale": _scale(found.model, lang)})
    return dumped


def read(client: Any, token: str, lang: str = "zh") -> Any:
    response = client.get(f"/api/v1/me/score?lang={lang}", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response


def assert_same_both_ways(app: Any, client: Any, token: str, clock: Any) -> list[dict]:
    """In each language: the general path's answer, the fast one and the endpoint's agree,
    and the endpoint sent one statement."""
    answers = []
    for lang in LANGS:
        expected = general(app, token, lang, clock)
        assert fast(app, token, lang, clock) == expected
        with statements(app) as seen:
            body = read(client, token, lang).get_json()
        assert len(seen) == 1, seen
        assert body == expected
        answers.append(expected)
    return answers


def test_a_current_score_reads_in_one_statement_what_the_general_path_answers(
        app, client, people, clock):
    for token in (people.a, people.b):
        zh, en = assert_same_both_ways(app, client, token, clock)
        assert zh["score"] == en["score"] and zh["dimensions"] != en["dimensions"]
        assert zh["disputed"] == [] and zh["scale"]["tiers"]


def test_disputed_records_are_marked_alike_before_and_after_their_deadline(
        app, client, idp, people, clock):
    penalty = people.record("admin_penalty", "2026-03-01")
    tax = people.record("filed_on_time", "2026")  # a positive reads it
    general(app, people.a, "zh", clock)
    positives = [p["code"] for p in fast(app, people.a, "zh", clock)["positives"]]
    assert people.dispute(penalty["id"]).status_code == 201
    clock.advance(minutes=30)
    assert people.dispute(tax["id"]).status_code == 201
    assert fast(app, people.a, "zh", clock) is None  # the disputes changed the data version

    zh, en = assert_same_both_ways(app, client, people.a, clock)
    assert [m["record_id"] for m in zh["disputed"]] == [penalty["id"], tax["id"]]
    assert all(m["counts"] for m in zh["disputed"]) and "异议" in zh["disputed"][0]["text"]
    assert "dispute" in en["disputed"][0]["text"]
    assert "tax_filed_on_time_3y" in positives  # no disputed record described as absent:
    assert [p["code"] for p in zh["positives"]] == [c for c in positives
                                                   if c != "tax_filed_on_time_3y"]

    clock.advance(days=15, minutes=-15)  # the first deadline passed, undecided: the score's
    token = sign_in(client, idp, clock, A, "赵六")  # time ran out
    assert fast(app, token, "zh", clock) is None
    zh, _ = assert_same_both_ways(app, client, token, clock)
    assert [m["counts"] for m in zh["disputed"]] == [False, True]


def test_a_recomputed_score_is_read_fast_only_once_stored(app, client, people, clock):
    before = general(app, people.a, "zh", clock)
    push(client, people.source_key, [rec(21, "j9", "judicial", "dishonest_debtor",
                                         severity="serious")])
    assert fast(app, people.a, "zh", clock) is None
    with statements(app) as seen:
        after = read(client, people.a).get_json()
    assert len(seen) > 1 and after["score"] < before["score"]
    assert_same_both_ways(app, client, people.a, clock)
    with app.app_context(), runtime().uow() as uow:
        assert len(uow.session.scalars(select(Score)).all()) == 2  # A's, then A's again


def test_a_batch_row_without_its_explanation_reads_alike(app, client, people, clock):
    assert cli(app, "score").exit_code == 0
    with app.app_context(), runtime().uow() as uow:
        rows = uow.session.scalars(select(Score)).all()
        assert [(r.trigger, r.explanation) for r in rows] == [("batch", None)] * 2
    for token in (people.a, people.b):
        assert_same_both_ways(app, client, token, clock)
    with app.app_context(), runtime().uow() as uow:
        assert len(uow.session.scalars(select(Score)).all()) == 2  # nothing recomputed


def test_an_unknown_revoked_or_expired_session_is_refused_by_the_general_path(
        app, client, people, clock):
    general(app, people.a, "zh", clock)
    assert fast(app, "rs_unknown", "zh", clock) is None
    assert client.get("/api/v1/me/score", headers=bearer("rs_unknown")).status_code == 401
    clock.advance(seconds=3600)  # SESSION_TTL_SECONDS
    assert fast(app, people.a, "zh", clock) is None
    assert client.get("/api/v1/me/score", headers=bearer(people.a)).status_code == 401
    clock.advance(seconds=-1)
    assert fast(app, people.a, "zh", clock) is not None
    assert client.delete("/api/v1/auth/session", headers=bearer(people.a)).status_code == 204
    assert fast(app, people.a, "zh", clock) is None
    assert client.get("/api/v1/me/score", headers=bearer(people.a)).status_code == 401


def test_a_consent_past_its_expiry_is_refused_by_the_general_path(app, client, people, clock):
    general(app, people.a, "zh", clock)
    with app.app_context(), runtime().uow() as uow:
        uow.session.execute(update(ConsentRecord).where(ConsentRecord.purpose == "scoring")
                            .values(expires_at=clock.now()))
        uow.commit()
    assert fast(app, people.a, "zh", clock) is None
    response = client.get("/api/v1/me/score", headers=bearer(people.a))
    assert response.status_code == 403 and response.get_json()["code"] == "consent_required"


def test_an_edited_score_is_not_read_fast_and_is_audited_once(app, client, people, clock):
    honest = general(app, people.a, "zh", clock)
    with app.app_context(), runtime().uow() as uow:
        uow.session.execute(update(Score).values(score=Score.score + 1))
        uow.commit()
    assert fast(app, people.a, "zh", clock) is None
    clock.advance(seconds=1)  # the recomputed row is the later one (LATEST_FIRST)
    assert read(client, people.a).get_json()["score"] == honest["score"]
    with app.app_context(), runtime().uow() as uow:
        tampered = uow.session.scalars(select(audit.AuditEntry).where(
            audit.AuditEntry.action == "score.tampered")).all()
        assert len(tampered) == 1
    assert_same_both_ways(app, client, people.a, clock)  # the recomputed row reads fast


def test_a_model_this_process_has_not_parsed_is_left_to_the_general_path(
        app, client, people, clock, monkeypatch):
    expected = general(app, people.a, "zh", clock)
    monkeypatch.setattr(services, "_models", {})
    assert fast(app, people.a, "zh", clock) is None
    assert read(client, people.a).get_json() == expected  # which parses it
    assert fast(app, people.a, "zh", clock) == expected


def test_another_model_activated_is_left_to_the_general_path(app, client, people, clock,
                                                              tmp_path):
    import json

    from scoring.spec import load_model

    general(app, people.a, "zh", clock)
    spec = {**load_model("pengcheng-v1").raw, "id": "pengcheng-v1c", "version": "1.0.2"}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(spec))
    assert cli(app, "model", "validate", str(path)).exit_code == 0
    assert cli(app, "model", "activate", "pengcheng-v1c").exit_code == 0
    assert fast(app, people.a, "zh", clock) is None
    clock.advance(seconds=1)  # the recomputed row is the later one (LATEST_FIRST)
    assert read(client, people.a).get_json()["model"] == "pengcheng-v1c"
    assert_same_both_ways(app, client, people.a, clock)


def test_a_row_naming_another_model_is_not_read_fast(app, client, people, clock, tmp_path):
    import json

    from scoring.spec import load_model

    expected = general(app, people.a, "zh", clock)
    spec = {**load_model("pengcheng-v1").raw, "id": "pengcheng-v1d", "version": "1.0.3"}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(spec))
    assert cli(app, "model", "validate", str(path)).exit_code == 0  # stored, not active
    with app.app_context(), runtime().uow() as uow:
        uow.session.execute(update(Score).values(model_id="pengcheng-v1d"))
        uow.commit()
    assert fast(app, people.a, "zh", clock) is None
    clock.advance(seconds=1)  # the recomputed row is the later one (LATEST_FIRST)
    assert read(client, people.a).get_json()["score"] == expected["score"]  # recomputed
    assert fast(app, people.a, "zh", clock) == general(app, people.a, "zh", clock)
