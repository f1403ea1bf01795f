"""Issue 19, item 1: erasure cannot launder a record.

The attack: a resident listed as 失信被执行人 (refused 先诊后付) with a bill still owed calls
`DELETE /api/v1/me`, the sources re-send their feeds, the person signs in again. Before this
change they got a fresh account, eligible, a ¥1,500 hold granted, the bill left behind with the
old account. Now the public negative record (within its publicity period), the unpaid bill and
the audit trail are kept under the blind index of the ID number: signing in again re-attaches
the person to them. What may be erased still is (crypto-shredding included), and what is kept
ends with its period.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import func, select

from app.runtime import runtime
from core.crypto import CryptoError, DataKey
from core.identity import Resident, read_personal
from core.records import Record
from tests.support.factories import bearer
from tests.support.medical_credit import Credit
from tests.support.tokens import good_history, grant, push, rec

DEBTOR = rec(7, "debtor", "judicial", "dishonest_debtor", "2026-06-01T00:00:00Z")
HOLD = 150000  # ¥1,500


def erase(client: Any, token: str) -> Any:
    return client.delete("/api/v1/me", headers=bearer(token))


def me(world: Credit) -> dict:
    return world.client.get("/api/v1/me", headers=bearer(world.resident)).get_json()


def score(world: Credit) -> int:
    response = world.client.get("/api/v1/me/score", headers=bearer(world.resident))
    assert response.status_code == 200, response.get_json()
    return int(response.get_json()["score"])


def consent_again(world: Credit) -> None:
    """The account opens without consents: the person gives them again."""
    world.scoring_consent = grant(world.client, world.resident, "scoring")
    for scenario in ("medical_credit", "deposit_waiver_bike"):
        world.consents[scenario] = grant(world.client, world.resident, f"scenario:{scenario}")


def hold_refused(world: Credit) -> bool:
    """Whether a ¥1,500 hold is refused, at the token or at the authorization."""
    asked = world.client.post("/api/v1/me/tokens", headers=bearer(world.resident),
                              json={"scenario": "medical_credit",
                                    "partner": world.hospital.client_id})
    if asked.status_code != 201:
        return True
    return world.authorize(HOLD, token=asked.get_json()["token"]).status_code != 201


def records(world: Credit) -> list[dict]:
    response = world.client.get("/api/v1/me/records", headers=bearer(world.resident))
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["items"])


@pytest.fixture
def listed(app: Any, client: Any, idp: Any) -> Credit:
    """Resident 7: a ¥300 bill unpaid, then listed as 失信被执行人 (refused 先诊后付)."""
    world = Credit(app, client, idp)
    world.bill(30000)
    push(client, world.source_key, [DEBTOR])
    return world


def test_erasing_and_signing_in_again_does_not_launder_a_debtor_listing(listed: Credit) -> None:
    world = listed
    before, old_id = score(world), me(world)["id"]
    assert [r["code"] for r in world.entitlement()["reasons"]] == ["dishonest_debtor"]
    assert hold_refused(world)
    owed = world.mine()
    assert erase(world.client, world.resident).status_code == 200

    push(world.client, world.source_key, good_history(7) + [DEBTOR])  # the sources re-send
    world.advance(minutes=5)  # the person signs in again with the same ID number
    consent_again(world)

    assert me(world)["id"] == old_id and me(world)["name"] == "王五"
    assert score(world) == before
    entitlement = world.entitlement()
    assert entitlement["eligible"] is False
    assert [r["code"] for r in entitlement["reasons"]] == ["dishonest_debtor"]
    assert hold_refused(world)
    mine = world.mine()
    assert mine["owed_fen"] == owed["owed_fen"] == 30000
    assert [b["bill_id"] for b in mine["bills"]] == [b["bill_id"] for b in owed["bills"]]
    assert [r["type"] for r in records(world)].count("dishonest_debtor") == 1
    export = world.client.get("/api/v1/me/export", headers=bearer(world.resident)).get_json()
    assert export["erasure"]["reattached_on_login"] is True  # what was retained, and why


def test_the_listing_stands_when_the_court_does_not_send_it_again(listed: Credit) -> None:
    world = listed
    before = score(world)
    erase(world.client, world.resident)
    push(world.client, world.source_key, good_history(7))  # only the other feeds re-send
    world.advance(minutes=5)
    consent_again(world)
    assert score(world) == before
    assert world.entitlement()["eligible"] is False


def test_the_statement_lists_each_retained_item_its_basis_and_end_date(listed: Credit) -> None:
    world = listed
    body = erase(world.client, world.resident).get_json()
    for item in body["retained"]:
        assert item["basis"] and "until" in item, item
    listing = next(i for i in body["retained"] if i.get("section") == "records")
    assert "失信被执行人" in listing["what_zh"] and "征信业管理条例 art. 16" in listing["basis"]
    assert listing["until"].startswith("2029-05-31")  # serious: 3 × 365 days of publicity
    bill = next(i for i in body["retained"] if i.get("section") == "credit"
                and i["what"].startswith("medical_credit_bill:"))
    assert bill["until"] is None and "民法典" in bill["basis"]
    assert body["records_kept"] == 1 and body["reattached_on_login"] is True
    assert "re-attached" in body["login_again"]["en"]
    assert any(i["what"].startswith("audit log") for i in body["retained"])


def test_everything_erasable_is_erased_and_shredded(listed: Credit) -> None:
    world = listed
    rid = uuid.UUID(me(world)["id"])
    body = erase(world.client, world.resident).get_json()
    assert body["deleted"]["records"] > 100 and body["deleted"]["scores"] >= 1
    assert {c["purpose"] for c in body["consents_withdrawn"]} == {
        "scoring", "scenario:medical_credit", "scenario:deposit_waiver_bike"}
    with world.app.app_context(), runtime().uow() as uow:
        resident = uow.session.get(Resident, rid)
        assert resident.status == "erased"
        with pytest.raises(CryptoError):
            read_personal(uow.session, runtime().keyring, resident)
        live = uow.session.scalar(select(func.count()).select_from(DataKey).where(
            DataKey.owner == str(rid), DataKey.wrapped.is_not(None)))
        kept = list(uow.session.scalars(select(Record).where(Record.resident_id == rid)))
    assert live == 0
    assert [(r.category, r.type) for r in kept] == [("judicial", "dishonest_debtor")]
    assert erase(world.client, world.resident).get_json() == body  # asking again


def test_a_reopened_account_can_be_erased_again(listed: Credit) -> None:
    world = listed
    first = erase(world.client, world.resident).get_json()
    world.advance(minutes=5)
    second = erase(world.client, world.resident)
    assert second.status_code == 200
    body = second.get_json()
    assert body["erased_at"] != first["erased_at"] and body["sessions_revoked"] == 1
    with world.app.app_context(), runtime().uow() as uow:
        assert uow.session.get(Resident, uuid.UUID(body["resident_id"])).status == "erased"


def test_the_retained_items_end_with_their_period(listed: Credit) -> None:
    from rights.erasure import lapse

    world = listed
    rid = uuid.UUID(me(world)["id"])
    paid = world.pay(world.mine()["bills"][0]["bill_id"], 30000)
    assert paid.status_code in (200, 201), paid.get_json()
    erase(world.client, world.resident)
    with world.app.app_context(), runtime().uow() as uow:
        clock = runtime().clock
        counts, _ = lapse(uow, clock.now())
        assert counts == {"accounts": 1, "records_ended": 0, "unlinked": 0}
    with world.app.app_context():
        clock.advance(days=3 * 365)  # past the listing's publicity and the bill's dispute period
    assert world.jobs()["erasure.retention"]["records_ended"] == 1
    # the credit job wrote the bill's repayment record after the erasure: the next run ends it
    assert world.jobs()["erasure.retention"] == {"accounts": 1, "records_ended": 1,
                                                  "unlinked": 0}
    with world.app.app_context(), runtime().uow() as uow:
        left = list(uow.session.scalars(select(Record).where(Record.resident_id == rid)))
        assert [(r.type, r.occurred_at, r.publicity_ends_at) for r in left] == []
        assert uow.session.get(Resident, rid).id_index.startswith("erased:")
    world.advance(minutes=1)  # signing in now opens a new, empty account
    assert me(world)["id"] != str(rid) and records(world) == []


def test_an_open_waiver_is_retained_and_found_again(app: Any, client: Any, idp: Any) -> None:
    world = Credit(app, client, idp)
    waiver = world.waiver()
    body = erase(client, world.resident).get_json()
    item = next(i for i in body["retained"] if i.get("section") == "waivers")
    assert item["until"] is None and "民法典" in item["basis"]
    assert body["records_kept"] == 0 and body["reattached_on_login"] is True
    world.advance(minutes=5)
    assert [w["waiver_id"] for w in world.my_waivers()] == [waiver["waiver_id"]]


def test_a_restore_replays_the_erasure_of_an_account_reopened_before_the_backup(
        listed: Credit, tmp_path: Any) -> None:
    import json
    from datetime import datetime

    from rights.models import Erasure
    from tests.support.factories import cli

    world = listed
    world.app.config["ERASURE_JOURNAL"] = str(tmp_path / "erasures.jsonl")
    first = erase(world.client, world.resident).get_json()
    world.advance(minutes=5)  # signs in again: the account reopens
    erase(world.client, world.resident)
    rid = uuid.UUID(first["resident_id"])
    # As a backup taken between the two would restore it: open, its stored erasure the first.
    with world.app.app_context(), runtime().uow() as uow:
        uow.session.get(Resident, rid).status = "active"
        uow.session.get(Erasure, rid).erased_at = datetime.fromisoformat(
            first["erased_at"].replace("Z", "+00:00"))
        uow.commit()
    result = json.loads(cli(world.app, "restore", "finish").stdout)["erasures"]
    assert result["replayed"] == 1  # the journal's latest entry for the account: the second
    with world.app.app_context(), runtime().uow() as uow:
        assert uow.session.get(Resident, rid).status == "erased"


def test_a_retained_record_ends_with_its_publicity_and_never_after_five_years() -> None:
    from datetime import datetime, timedelta

    from rights.erasure import record_ends

    occurred = datetime(2026, 6, 1, tzinfo=UTC)

    def ends(category: str, severity: str | None, publicity: timedelta | None) -> Any:
        return record_ends(Record(category=category, severity=severity, occurred_at=occurred,
                                  publicity_ends_at=publicity and occurred + publicity))

    assert ends("judicial", "serious", timedelta(days=3 * 365)) == occurred + timedelta(
        days=3 * 365)
    assert ends("tax", "general", timedelta(days=9 * 365)) == occurred + timedelta(days=5 * 365)
    assert ends("public_credit", "general", None) == occurred + timedelta(days=5 * 365)
    assert ends("traffic", "minor", timedelta(days=90)) is None  # not a public record
    assert ends("judicial", None, None) is None  # a positive record


def test_a_sign_in_racing_the_end_of_retention_opens_a_new_account(listed: Credit) -> None:
    from core.identity import Person, find_resident, reopen_resident
    from tests.support.factories import id_number

    world = listed
    rid = uuid.UUID(me(world)["id"])
    erase(world.client, world.resident)
    with world.app.app_context(), runtime().uow() as signing_in:
        keyring = runtime().keyring
        found = find_resident(signing_in.session, keyring, id_number(7))
        assert found is not None and found.id == rid
        with runtime().uow() as job:  # the retention job ends it meanwhile
            job.session.get(Resident, rid).id_index = "erased:ended"
            job.commit()
        person = Person("王五", id_number(7), None)
        assert reopen_resident(signing_in.session, keyring, found, person,
                               now=runtime().clock.now()) is None
