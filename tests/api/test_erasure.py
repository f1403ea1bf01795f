"""DELETE /api/v1/me: erasure with crypto-shredding, the retention the law requires, stated."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from core.crypto import CryptoError, DataKey, Keyring
from core.identity import Resident, read_personal
from core.records import Record
from rewards.models import AccessEntry
from scoring.store import Score
from tests.support.disputes import A, Residents, sign_in
from tests.support.factories import bearer
from tests.support.tokens import World, introspect


@pytest.fixture
def people(app, client, idp, clock) -> Residents:
    return Residents(app, client, idp, clock)


def erase(client, token):
    return client.delete("/api/v1/me", headers=bearer(token))


def resident_id(client, token) -> str:
    return client.get("/api/v1/me", headers=bearer(token)).get_json()["id"]


def test_erasure_states_what_is_deleted_and_what_is_kept_until_when_and_why(people, client):
    people.score()
    people.dispute(people.record("payment_overdue")["id"])
    response = erase(client, people.a)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["shredded"]["fields"] == ["name", "id_number", "phone"]
    # same history as B; the two penalties and the debtor listing are kept while published
    assert body["records_kept"] == 3
    assert body["deleted"]["records"] + 3 == len(people.records(people.b))
    assert body["deleted"]["scores"] >= 1 and body["deleted"]["disputes"] == 1
    assert [c["purpose"] for c in body["consents_withdrawn"]] == ["scoring"]
    assert body["consents_withdrawn"][0]["receipt"].count(".") == 2
    assert body["sessions_revoked"] == 1
    kept = {item["what_zh"]: item for item in body["retained"] if "section" not in item}
    assert len(kept) == 3
    public = [item for item in body["retained"] if item.get("section") == "records"]
    assert [item["what_zh"].split("：")[1] for item in public] == [
        "司法·失信被执行人（2025-06-01）", "公共信用·行政处罚（2026-03-01）",
        "公共信用·行政处罚（2026-10-01）"]
    for item in body["retained"]:
        assert item["why"] and item["basis"] and "until" in item
    evidence = next(i for i in body["retained"] if i["what"].startswith("consent records"))
    assert evidence["until"].startswith("2029-10-31")
    assert body["summary"]["zh"] and body["login_again"]["en"]


def test_after_erasure_the_ciphertext_remains_but_can_never_be_decrypted(people, client, app):
    rid = resident_id(client, people.a)
    erase(client, people.a)
    from app.runtime import runtime

    with app.app_context(), runtime().uow() as uow:
        resident = uow.session.get(Resident, uuid.UUID(rid))
        assert resident.status == "erased"
        assert resident.name_ct and resident.id_number_ct
        assert uow.session.get(DataKey, resident.data_key_id).wrapped is None
        with pytest.raises(CryptoError):
            read_personal(uow.session, runtime().keyring, resident)
        # a fresh process (no key cache) cannot either: the wrapped key is gone from the database
        cold = Keyring(list(runtime().keyring.masters.values()), b"\0" * 32)
        with pytest.raises(CryptoError):
            read_personal(uow.session, cold, resident)
        kept = uow.session.scalars(select(Record.category)
                                   .where(Record.resident_id == resident.id))
        scores = uow.session.scalar(select(func.count()).select_from(Score)
                                    .where(Score.resident_id == resident.id))
        assert sorted(kept) == ["judicial", "public_credit", "public_credit"] and scores == 0


def test_erasure_revokes_sessions_and_withdrawal_kills_outstanding_tokens(app, client, idp):
    world = World(app, client, idp)
    token = world.token()
    assert introspect(client, world.hospital_key, token).get_json()["active"] is True
    assert erase(client, world.resident).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(world.resident)).status_code == 401
    assert introspect(client, world.hospital_key, token).get_json() == {"active": False}


def test_a_second_erasure_returns_the_same_statement_and_changes_nothing(people, client):
    first = erase(client, people.a).get_json()
    second = erase(client, people.a)
    assert second.status_code == 200
    assert second.get_json() == first
    assert erase(client, "rs_not-a-session").status_code == 401


def test_logging_in_again_opens_a_new_empty_account_when_nothing_is_retained(
        people, client, idp, clock):
    token = sign_in(client, idp, clock, 23, "孙八")
    old = resident_id(client, token)
    assert erase(client, token).get_json()["reattached_on_login"] is False
    token = sign_in(client, idp, clock, 23, "孙八")
    me = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert me["id"] != old and me["name"] == "孙八"
    assert people.records(token) == []


def test_logging_in_again_reattaches_only_what_the_erasure_retained(people, client, idp, clock):
    old = resident_id(client, people.a)
    erase(client, people.a)
    token = sign_in(client, idp, clock, A, "赵六")
    me = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert me["id"] == old and me["name"] == "赵六"
    assert sorted(r["type"] for r in people.records(token)) == [
        "admin_penalty", "admin_penalty", "dishonest_debtor"]
    assert client.get("/api/v1/me/score", headers=bearer(token)).status_code == 403


def test_the_access_log_is_kept_for_accountability(people, client, app):
    dispute = people.dispute(people.record("payment_overdue")["id"]).get_json()
    client.get(f"/admin/v1/disputes/{dispute['id']}", headers=bearer(people.auditor_key))
    rid = resident_id(client, people.a)
    erase(client, people.a)
    from app.runtime import runtime

    with app.app_context(), runtime().uow() as uow:
        kept = uow.session.scalar(select(func.count()).select_from(AccessEntry)
                                  .where(AccessEntry.resident_id == uuid.UUID(rid)))
    assert kept == 1


def test_a_providers_retention_keeps_its_records_and_is_stated(people, client, monkeypatch):
    late = people.record("payment_overdue")

    def retention(session, resident_id, now):
        return [{"what": "unpaid bill", "until": None, "why": "money still owed",
                 "basis": "民法典 art. 188", "record_ids": [late["id"]]}]

    import rewards.credit.rights as credit

    monkeypatch.setattr(credit, "retention", retention)
    body = erase(client, people.a).get_json()
    assert body["records_kept"] == 4  # with the three public records
    assert {"section": "credit", "what": "unpaid bill", "until": None,
            "why": "money still owed", "basis": "民法典 art. 188",
            "record_ids": [late["id"]]} in body["retained"]


def test_a_failure_half_way_leaves_nothing_half_written(people, client, monkeypatch):
    people.score()
    before = people.records()

    def broken(self, key, now):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Keyring, "destroy", broken)
    response = erase(client, people.a)
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    me = client.get("/api/v1/me", headers=bearer(people.a))
    assert me.status_code == 200 and me.get_json()["name"] == "赵六"
    assert people.records() == before
    consents = client.get("/api/v1/me/consents", headers=bearer(people.a)).get_json()
    assert any(c["status"] == "active" for c in consents["items"])
    assert people.score()
