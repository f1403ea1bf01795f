"""Settlement for hospitals and deposit partners: their lists (filters, cursor) and a signed
daily statement (JSON and CSV) that reconciles to the fen with what the ledger holds, and
carries the pseudonym and ids only — never a tier, line, cap or available amount."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from app.runtime import runtime
from core.audit import AuditEntry
from rewards.credit.models import CreditAccount
from rewards.waivers.models import DepositWaiver
from tests.support.factories import bearer, new_operator, new_partner
from tests.support.medical_credit import Credit, problem

SETTLEMENT = "/partner/v1/settlement"
DAY = "2026-11-01"  # T0 is 16:00 in Shenzhen on this day
NEXT_DAY = "2026-11-02"
# Words a partner's answer must never carry (decision-only disclosure).
TIER_WORDS = ("tier", "line", "cap", "limit", "available", "score")


@pytest.fixture
def credit(app, client, idp) -> Credit:
    return Credit(app, client, idp)


def _json(response: Any) -> Any:
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def tick(credit: Credit, minutes: int = 1) -> None:
    """Move the clock a little (within the resident's session)."""
    with credit.app.app_context():
        runtime().clock.advance(minutes=minutes)


def statement(credit: Credit, key: str, day: str = DAY) -> dict[str, Any]:
    return _json(credit.client.get(f"{SETTLEMENT}/statement?date={day}", headers=bearer(key)))


def a_day_at_the_hospital(credit: Credit) -> dict[str, Any]:
    """Four authorizations: one billed and paid in two parts, one voided, one left open, one
    billed and owed."""
    paid = credit.hold(50000)
    tick(credit)
    paid_bill = credit.capture(paid["authorization_id"], 42000).get_json()
    tick(credit)
    voided = credit.hold(30000)
    tick(credit)
    assert credit.void(voided["authorization_id"]).status_code == 200
    tick(credit)
    open_hold = credit.hold(20000)
    tick(credit)
    owed = credit.hold(10000)
    tick(credit)
    owed_bill = credit.capture(owed["authorization_id"], 10000).get_json()
    for amount in (12000, 30000):
        tick(credit, 10)
        assert credit.pay(paid_bill["bill_id"], amount).status_code == 201
    return {"paid": paid, "voided": voided, "open": open_hold, "owed": owed,
            "paid_bill": paid_bill, "owed_bill": owed_bill}


def ledger(credit: Credit) -> tuple[int, int]:
    with credit.app.app_context(), runtime().uow() as uow:
        row = uow.session.execute(select(func.sum(CreditAccount.held_fen),
                                         func.sum(CreditAccount.owed_fen))).one()
    return int(row[0] or 0), int(row[1] or 0)


def test_a_hospitals_day_reconciles_to_the_fen_with_the_ledger(credit) -> None:
    day = a_day_at_the_hospital(credit)
    found = statement(credit, credit.hospital_key)["statement"]
    assert found["kind"] == "hospital" and found["date"] == DAY
    assert found["period"] == {"from": "2026-10-31T16:00:00Z", "to": "2026-11-01T16:00:00Z"}
    assert [(line["type"], line["account"], line["amount_fen"]) for line in found["lines"]] == [
        ("authorized", "held", 50000), ("billed", "owed", 42000), ("captured", "held", -50000),
        ("authorized", "held", 30000), ("voided", "held", -30000),
        ("authorized", "held", 20000), ("authorized", "held", 10000),
        ("billed", "owed", 10000), ("captured", "held", -10000),
        ("paid", "owed", -12000), ("paid", "owed", -30000)]
    assert found["balances"] == {"held": {"opening_fen": 0, "closing_fen": 20000},
                                 "owed": {"opening_fen": 0, "closing_fen": 10000}}
    assert ledger(credit) == (20000, 10000)  # what the credit accounts hold, to the fen
    assert found["totals"] == {"authorized": 110000, "captured": 60000, "voided": 30000,
                               "billed": 52000, "paid": 42000}
    assert found["count"] == 11
    paid_lines = [line for line in found["lines"] if line["type"] == "paid"]
    assert {line["bill_id"] for line in paid_lines} == {day["paid_bill"]["bill_id"]}
    assert all(line["sub"] == day["paid"]["sub"] for line in found["lines"])
    # the next day opens where this one closed; the open hold expires and is released
    credit.advance(hours=25)
    credit.jobs()
    following = statement(credit, credit.hospital_key, NEXT_DAY)["statement"]
    assert following["balances"]["held"] == {"opening_fen": 20000, "closing_fen": 0}
    assert [(line["type"], line["amount_fen"], line["authorization_id"])
            for line in following["lines"]] == [("expired", -20000,
                                                 day["open"]["authorization_id"])]
    assert ledger(credit) == (0, 10000)
    # another hospital's statement shows none of it
    other = statement(credit, credit.other_key)["statement"]
    assert other["lines"] == [] and other["count"] == 0


def test_a_deposit_partners_day_reconciles_with_its_waivers(credit) -> None:
    returned = credit.waiver(29900)
    tick(credit)
    assert credit.close(returned["waiver_id"], "complete").status_code == 200
    tick(credit)
    late = credit.waiver(19900, due_at="2026-11-01T10:00:00Z", item="单车 #SZ-2048")
    tick(credit)
    out = credit.waiver(9900, item="单车 #SZ-4096")
    credit.advance(hours=3)
    assert credit.close(late["waiver_id"], "default").status_code == 200
    tick(credit)
    assert credit.close(late["waiver_id"], "complete").status_code == 200  # settled
    found = statement(credit, credit.bikes_key)["statement"]
    assert [(line["type"], line["account"], line["amount_fen"], line["waiver_id"])
            for line in found["lines"]] == [
        ("waived", "active", 29900, returned["waiver_id"]),
        ("returned", "active", -29900, returned["waiver_id"]),
        ("waived", "active", 19900, late["waiver_id"]),
        ("waived", "active", 9900, out["waiver_id"]),
        ("defaulted", "active", -19900, late["waiver_id"]),
        ("defaulted", "defaulted", 19900, late["waiver_id"]),
        ("settled", "defaulted", -19900, late["waiver_id"])]
    assert found["balances"] == {"active": {"opening_fen": 0, "closing_fen": 9900},
                                 "defaulted": {"opening_fen": 0, "closing_fen": 0}}
    rows = credit.rows(DepositWaiver)
    assert sum(w.deposit_fen for w in rows if w.status == "active") == 9900
    assert sum(w.deposit_fen for w in rows if w.status == "defaulted") == 0
    assert found["lines"][0]["out_no"] == returned["out_order_no"]


def _verify(credit: Credit, jws: str) -> dict[str, Any]:
    """Check a statement's signature as a partner would: the published report keys, no
    project code."""
    keys = _json(credit.client.get("/.well-known/report-keys.json"))["keys"]
    head, body, sig = jws.split(".")

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    header = json.loads(unb64(head))
    assert header["alg"] == "EdDSA" and header["typ"] == "pc-statement+jws"
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    Ed25519PublicKey.from_public_bytes(unb64(jwk["x"])).verify(
        unb64(sig), f"{head}.{body}".encode())  # raises if it does not verify
    return json.loads(unb64(body))


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_the_statement_is_signed_in_json_and_csv_and_a_changed_csv_fails(credit) -> None:
    a_day_at_the_hospital(credit)
    answer = statement(credit, credit.hospital_key)
    seal = _verify(credit, answer["signature"])
    assert seal["statement_sha256"] == hashlib.sha256(canonical(answer["statement"])).hexdigest()
    assert seal["balances"] == answer["statement"]["balances"]
    response = credit.client.get(f"{SETTLEMENT}/statement?date={DAY}&format=csv",
                                 headers=bearer(credit.hospital_key))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data()
    csv_seal = _verify(credit, response.headers["Pc-Statement-Signature"])
    assert csv_seal["csv_sha256"] == hashlib.sha256(text).hexdigest()
    assert csv_seal["statement_sha256"] == seal["statement_sha256"]
    rows = text.decode().splitlines()
    assert rows[0].startswith("at,type,account,amount_fen,sub")
    assert rows[1].split(",")[1:4] == ["opening_balance", "held", "0"]
    assert rows[-1].split(",")[1:4] == ["closing_balance", "owed", "10000"]
    assert sum(int(r.split(",")[3]) for r in rows[3:-2]) == 30000  # lines = closings − openings
    forged = text.replace(b"-30000", b"-3000")
    assert hashlib.sha256(forged).hexdigest() != csv_seal["csv_sha256"]


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_partners_see_the_pseudonym_and_ids_never_a_tier_line_cap_or_available(
        credit) -> None:
    a_day_at_the_hospital(credit)
    credit.waiver(29900)
    answers = [statement(credit, credit.hospital_key),
               statement(credit, credit.bikes_key),
               _json(credit.client.get(f"{SETTLEMENT}/holds",
                                       headers=bearer(credit.hospital_key))),
               _json(credit.client.get(f"{SETTLEMENT}/bills", headers=bearer(credit.hospital_key))),
               _json(credit.client.get(f"{SETTLEMENT}/waivers", headers=bearer(credit.bikes_key)))]
    line = credit.mine()["line_fen"]
    for answer in answers:
        leaked = {k for k in _keys(answer) if set(k.split("_")) & set(TIER_WORDS)}
        assert not leaked, leaked
        assert str(line) not in json.dumps(answer)  # the resident's credit line, nowhere
    csv = credit.client.get(f"{SETTLEMENT}/statement?date={DAY}&format=csv",
                            headers=bearer(credit.bikes_key)).get_data(as_text=True)
    columns = {w for c in csv.splitlines()[0].split(",") for w in c.split("_")}
    assert not columns & set(TIER_WORDS)
    items = answers[2]["items"]
    assert {item["sub"] for item in items} == {answers[0]["statement"]["lines"][0]["sub"]}


def test_lists_filter_by_status_and_time_and_page_with_a_cursor(credit) -> None:
    day = a_day_at_the_hospital(credit)

    def holds(query: str, key: str | None = None) -> Any:
        return credit.client.get(f"{SETTLEMENT}/holds?{query}",
                                 headers=bearer(key or credit.hospital_key))

    first = _json(holds("limit=3"))
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = _json(holds(f"limit=3&cursor={first['next_cursor']}"))
    assert rest["next_cursor"] is None
    order = [h["authorization_id"] for h in first["items"] + rest["items"]]
    assert order == [day[k]["authorization_id"] for k in ("paid", "voided", "open", "owed")]
    held = _json(holds("status=held"))["items"]
    assert [(h["authorization_id"], h["status"], h["amount_fen"]) for h in held] == [
        (day["open"]["authorization_id"], "held", 20000)]
    assert [h["authorization_id"] for h in _json(holds("from=2026-11-01T08:04:00%2B00:00"))[
        "items"]] == [day["open"]["authorization_id"], day["owed"]["authorization_id"]]
    assert len(_json(holds("to=2026-11-01T08:04:00%2B00:00"))["items"]) == 2
    bills = _json(credit.client.get(f"{SETTLEMENT}/bills?status=paid",
                                    headers=bearer(credit.hospital_key)))["items"]
    assert [(b["bill_id"], b["paid_fen"], b["owed_fen"]) for b in bills] == [
        (day["paid_bill"]["bill_id"], 42000, 0)]
    assert _json(holds("", credit.other_key))["items"] == []  # another hospital's: none
    for cursor in ("not-a-cursor", "WzEsIDJd", "WyJ4IiwgIngiXQ", "e30", "bnVsbA", "W10"):
        problem(holds(f"cursor={cursor}"), 422, "invalid_cursor")  # [1, 2], ["x", "x"], {}…
    for day in ("9999-12-31", "0001-01-01", "2026-02-30", "yesterday"):
        answer = credit.client.get(f"{SETTLEMENT}/statement?date={day}",
                                   headers=bearer(credit.hospital_key))
        problem(answer, 422, "validation_failed")
    assert holds("status=lost").status_code == 422
    waivers = credit.client.get(f"{SETTLEMENT}/waivers", headers=bearer(credit.hospital_key))
    problem(waivers, 403, "forbidden")  # a hospital has no waivers list
    _shop, shop_key = new_partner(credit.app, "merchant", ["points_redemption"])
    problem(holds("", shop_key), 403, "forbidden")
    shop_statement = credit.client.get(f"{SETTLEMENT}/statement?date={DAY}",
                                       headers=bearer(shop_key))
    problem(shop_statement, 403, "forbidden")
    no_day = credit.client.get(f"{SETTLEMENT}/statement", headers=bearer(credit.hospital_key))
    assert no_day.status_code == 422


def test_an_operator_reads_any_statement_and_the_read_is_audited(credit) -> None:
    a_day_at_the_hospital(credit)
    _admin, admin_key = new_operator(credit.app, "admin")
    _reviewer, reviewer_key = new_operator(credit.app, "reviewer")
    path = f"/admin/v1/settlement/statements/{credit.hospital.client_id}?date={DAY}"
    read = _json(credit.client.get(path, headers=bearer(admin_key)))
    own = statement(credit, credit.hospital_key)
    assert read["statement"]["lines"] == own["statement"]["lines"]
    assert _verify(credit, read["signature"])["balances"] == own["statement"]["balances"]
    with credit.app.app_context(), runtime().uow() as uow:
        entries = list(uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "settlement.statement.read")))
    assert [e.subject for e in entries] == [credit.hospital.client_id]
    problem(credit.client.get(path, headers=bearer(reviewer_key)), 403, "forbidden")
    shop, _key = new_partner(credit.app, "merchant", ["points_redemption"])
    problem(credit.client.get(f"/admin/v1/settlement/statements/{shop.client_id}?date={DAY}",
                              headers=bearer(admin_key)), 404, "unknown_partner")
