"""The gate follows consent at once; notice changes invalidate; consents expire; demo grants."""

import uuid

import pytest
from sqlalchemy import select

from app.runtime import runtime
from consent import gate, notices
from consent.catalogue import scoring_notice_v2
from consent.models import ConsentEvent, ConsentRecord
from consent.services import expire_due, grant_demo_consents
from core.identity import Resident
from core.registry import CORE
from tests.support.consent import NORMAL, give, notice
from tests.support.factories import bearer, login


def resident_id(client, token) -> uuid.UUID:
    return uuid.UUID(client.get("/api/v1/me", headers=bearer(token)).get_json()["id"])


def ask(app, fn, *args, **kwargs):
    with app.app_context(), runtime().uow() as uow:
        return fn(uow.session, *args, runtime().clock.now(), **kwargs)


def test_the_gate_follows_grant_and_withdrawal_at_once(app, client, idp, clock):
    token = login(client, idp, 1)
    rid = resident_id(client, token)
    assert ask(app, gate.scoring_categories, rid) is None
    cid = give(client, token, categories=["tax", "traffic"]).get_json()["consent_id"]
    assert ask(app, gate.scoring_categories, rid) == CORE | {"traffic"}  # tax is core
    assert ask(app, gate.may_use, rid, "scoring", category="tax")
    assert not ask(app, gate.may_use, rid, "scoring", category="volunteer")
    with pytest.raises(gate.ConsentRequired) as refused:
        ask(app, gate.require, rid, "scoring", category="volunteer")
    assert refused.value.status == 403 and refused.value.code == "consent_required"

    clock.advance(minutes=5)
    client.post(f"/api/v1/me/consents/{cid}/withdraw", headers=bearer(token))
    assert ask(app, gate.scoring_categories, rid) is None
    assert not ask(app, gate.may_use, rid, "scoring")
    with app.app_context(), runtime().uow() as uow:
        assert uow.session.get(Resident, rid).score_stale_at == clock.now()


def test_a_withdraw_and_regrant_moves_consent_since_so_older_tokens_die(app, client, idp, clock):
    token = login(client, idp, 1)
    rid = resident_id(client, token)
    purpose = "scenario:deposit_waiver_bike"
    assert ask(app, gate.consent_since, rid, purpose) is None
    cid = give(client, token, purpose, separate_consent=True).get_json()["consent_id"]
    first = ask(app, gate.consent_since, rid, purpose)
    assert first == clock.now()
    clock.advance(minutes=1)
    client.post(f"/api/v1/me/consents/{cid}/withdraw", headers=bearer(token))
    assert ask(app, gate.consent_since, rid, purpose) is None
    clock.advance(minutes=1)
    again = give(client, token, purpose, separate_consent=True).get_json()
    assert again["event"] == "renewed"
    assert ask(app, gate.consent_since, rid, purpose) == clock.now() > first


def test_the_score_follows_the_scoring_consent_and_nothing_else_breaks(client, idp):
    token = login(client, idp, 1)
    cid = give(client, token, categories=NORMAL).get_json()["consent_id"]
    assert client.get("/api/v1/me/score", headers=bearer(token)).status_code == 200
    client.post(f"/api/v1/me/consents/{cid}/withdraw", headers=bearer(token))
    gone = client.get("/api/v1/me/score", headers=bearer(token))
    assert gone.status_code == 403 and gone.get_json()["code"] == "consent_required"
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/notices").status_code == 200


def publish_scoring(app, **changes):
    fields = scoring_notice_v2()
    fields.pop("purpose")
    fields.update(changes)
    with app.app_context(), runtime().uow() as uow:
        return notices.publish(uow, purpose="scoring", now=runtime().clock.now(),
                               actor="operator:test", **fields)


def test_a_notice_that_changes_categories_invalidates_consents_and_asks_again(app, client, idp):
    token = login(client, idp, 1)
    rid = resident_id(client, token)
    old_id = notice(client, "scoring")["id"]
    give(client, token, categories=["tax"])
    published = publish_scoring(app, categories=sorted(CORE | {"utilities"}))
    assert published.material and published.invalidated == 1
    assert ask(app, gate.scoring_categories, rid) is None
    listing = client.get("/api/v1/me/consents", headers=bearer(token)).get_json()
    assert listing["items"][0]["status"] == "invalidated"
    assert listing["reconsent"] == [{"purpose": "scoring", "notice_id": str(published.notice.id),
                                     "reason": "invalidated"}]
    stale = client.post("/api/v1/me/consents", headers=bearer(token),
                        json={"notice_id": old_id, "categories": ["tax"]})
    assert stale.status_code == 409 and stale.get_json()["code"] == "notice_superseded"
    again = give(client, token, categories=["tax"])
    assert again.status_code == 201 and again.get_json()["event"] == "renewed"
    events = client.get("/api/v1/me/consent-history", headers=bearer(token)).get_json()["items"]
    assert [e["event"] for e in events] == ["given", "invalidated", "renewed"]


def test_a_wording_only_notice_change_keeps_consents_valid(app, client, idp):
    token = login(client, idp, 1)
    rid = resident_id(client, token)
    give(client, token, categories=["tax"])
    published = publish_scoring(app, text_en="Reworded, same scope.")
    assert not published.material and published.invalidated == 0
    assert ask(app, gate.scoring_categories, rid) == CORE


def test_consents_lapse_at_their_expiry_and_the_job_records_it(app, client, idp, clock):
    token = login(client, idp, 1)
    rid = resident_id(client, token)
    give(client, token, categories=["tax"])
    clock.advance(days=731)
    assert ask(app, gate.scoring_categories, rid) is None
    with app.app_context(), runtime().uow() as uow:
        assert expire_due(uow, clock.now()) == 1
    with app.app_context(), runtime().uow() as uow:
        assert expire_due(uow, clock.now()) == 0
        events = uow.session.scalars(select(ConsentEvent.event).order_by(ConsentEvent.seq))
        assert list(events) == ["given", "expired"]


def test_demo_consents_cover_normal_scoring_categories_and_a_few_scenarios(app, client, idp):
    token = login(client, idp, 1)
    rid = resident_id(client, token)
    with app.app_context(), runtime().uow() as uow:
        resident = uow.session.get(Resident, rid)
        created = grant_demo_consents(uow, resident, runtime().clock.now(),
                                      signer=runtime().signer)
        assert created == 7
        assert grant_demo_consents(uow, resident, runtime().clock.now()) == 0
    assert ask(app, gate.scoring_categories, rid) == frozenset(NORMAL) | CORE
    assert ask(app, gate.may_use, rid, "scenario:medical_credit")
    with app.app_context(), runtime().uow() as uow:
        records = uow.session.scalars(select(ConsentRecord).where(
            ConsentRecord.resident_id == rid)).all()
        assert len(records) == 7 and all(r.status == "active" for r in records)
