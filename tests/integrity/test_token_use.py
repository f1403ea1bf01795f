"""Issue 19, items 6 and 7: every token is single use, and a token that cannot be used is not
active.

Item 6, the attack: a `fewer_documents`, `priority_service`, `car_repair_discount` or
`scenic_discount` token had no call that uses it up — introspected three times, active three
times, so a merchant could honour it again and again. Now `POST /partner/v1/tokens/consume
{token, out_use_no}` uses up a token of any scenario whose use is not already a hold, a waiver or
a redemption; a retry with the same `out_use_no` gets the first answer byte for byte, another
use of the token answers `token_replayed`, and the use is in the resident's access log.

Item 7, the attack: the resident withdraws their consent to scoring; introspection still said
`active: true` while the waiver call declined the token. Now anything that makes a token
unusable — the scoring consent withdrawn, the scenario's consent withdrawn, an exclusion
arising, erasure — makes introspection answer `{active: false}` at once, and the token can no
longer be used.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.factories import bearer, new_partner
from tests.support.medical_credit import Credit
from tests.support.tokens import grant, introspect, push, rec, withdraw

CONSUME = "/partner/v1/tokens/consume"
OTHERS = ("fewer_documents", "priority_service", "car_repair_discount", "scenic_discount")
DEBTOR = rec(7, "debtor", "judicial", "dishonest_debtor", "2026-06-01T00:00:00Z")


class Merchants(Credit):
    """The credit world, consented to the four scenarios that have no hold, waiver or
    redemption, with a merchant serving them."""

    def __init__(self, app: Any, client: Any, idp: Any) -> None:
        super().__init__(app, client, idp)
        for scenario in OTHERS:
            self.consents[scenario] = grant(client, self.resident, f"scenario:{scenario}")
        self.shop, self.shop_key = new_partner(app, "merchant", list(OTHERS))

    def shop_token(self, scenario: str = "fewer_documents") -> str:
        return self.token(scenario, self.shop)

    def consume(self, token: str, no: str | None = None, key: str | None = None) -> Any:
        return self.client.post(CONSUME, headers=bearer(key or self.shop_key),
                                json={"token": token, "out_use_no": no or uuid.uuid4().hex})

    def active(self, token: str, key: str | None = None) -> bool:
        response = introspect(self.client, key or self.shop_key, token)
        assert response.status_code == 200, response.get_json()
        return bool(response.get_json()["active"])

    def access_log(self) -> list[dict]:
        response = self.client.get("/api/v1/me/access-log", headers=bearer(self.resident))
        assert response.status_code == 200, response.get_json()
        return list(response.get_json()["items"])


@pytest.fixture
def shops(app: Any, client: Any, idp: Any) -> Merchants:
    return Merchants(app, client, idp)


def problem(response: Any, status: int, code: str) -> dict:
    body = response.get_json()
    assert (response.status_code, body.get("code")) == (status, code), body
    return dict(body)


# -- item 6: a universal consume ----------------------------------------------------------------

@pytest.mark.parametrize("scenario", OTHERS)
def test_a_token_with_no_hold_waiver_or_redemption_is_used_up_once(shops: Merchants,
                                                                   scenario: str) -> None:
    token = shops.shop_token(scenario)
    assert [shops.active(token) for _ in range(3)] == [True, True, True]  # looking never uses
    seen = introspect(shops.client, shops.shop_key, token).get_json()

    response = shops.consume(token)
    assert response.status_code == 201, response.get_json()
    used = response.get_json()
    assert set(used) == {"use_id", "scn", "sub", "ent", "discount_pct"}
    assert used["discount_pct"] is None  # nothing asked
    assert (used["scn"], used["sub"], used["ent"]) == (scenario, seen["sub"], seen["ent"])
    uuid.UUID(used["use_id"])

    assert shops.active(token) is False
    problem(shops.consume(token), 409, "token_replayed")


def test_a_retry_with_the_same_out_use_no_gets_the_first_answer_byte_for_byte(
        shops: Merchants) -> None:
    token = shops.shop_token()
    first = shops.consume(token, no="use-1")
    assert first.status_code == 201, first.get_json()
    again = shops.consume(token, no="use-1")
    assert again.status_code == 201 and again.data == first.data
    shops.advance(minutes=10)  # the token has expired since: the retry still gets its answer
    assert shops.consume(token, no="use-1").data == first.data
    problem(shops.consume(shops.shop_token(), no="use-1"), 409, "idempotency_conflict")


def test_the_use_is_in_the_residents_access_log(shops: Merchants) -> None:
    token = shops.shop_token("scenic_discount")
    used = shops.consume(token).get_json()
    uses = [e for e in shops.access_log() if e["action"] == "consume"]
    assert len(uses) == 1
    entry = uses[0]
    assert (entry["scenario"], entry["outcome"]) == ("scenic_discount", "consumed")
    assert entry["actor"]["client_id"] == shops.shop.client_id
    assert entry["learned"] == {"sub": used["sub"], "scn": "scenic_discount",
                                "ent": used["ent"]}


@pytest.mark.parametrize(("scenario", "call"), [
    ("medical_credit", "POST /partner/v1/medical-credit/authorizations"),
    ("deposit_waiver_bike", "POST /partner/v1/deposit-waivers"),
])
def test_a_token_used_up_by_its_own_call_is_refused_naming_that_call(
        shops: Merchants, scenario: str, call: str) -> None:
    partner, key = ((shops.hospital, shops.hospital_key) if scenario == "medical_credit"
                    else (shops.bikes, shops.bikes_key))
    token = shops.token(scenario, partner)
    body = problem(shops.consume(token, key=key), 422, "token_has_own_call")
    assert call in body["detail"] and body["use_with"] == call
    assert shops.active(token, key) is True  # not used up: the right call still takes it


def test_a_points_token_is_refused_naming_the_redemption_call(shops: Merchants) -> None:
    shops.consents["points_redemption"] = grant(shops.client, shops.resident,
                                                "scenario:points_redemption")
    shop, key = new_partner(shops.app, "merchant", ["points_redemption"])
    token = shops.token("points_redemption", shop)
    body = problem(shops.consume(token, key=key), 422, "token_has_own_call")
    assert body["use_with"] == "POST /partner/v1/points/redemptions"


# -- item 7: whatever makes a token unusable makes it inactive at once ----------------------------

def test_withdrawing_the_scoring_consent_makes_the_token_inactive_at_once(
        shops: Merchants) -> None:
    token, bike = shops.shop_token(), shops.token("deposit_waiver_bike", shops.bikes)
    assert shops.active(token) and shops.active(bike, shops.bikes_key)
    withdraw(shops.client, shops.resident, shops.scoring_consent)
    assert shops.active(token) is False
    assert shops.active(bike, shops.bikes_key) is False
    problem(shops.consume(token), 403, "token_revoked")
    assert shops.waive(5000, token=bike).status_code != 201


def test_a_use_is_before_the_scoring_consent_withdrawal_that_waited_for_it(
        shops: Merchants, clock: Any) -> None:
    """The use holds the scoring consent row until it commits (pc_consume_token), so a
    withdrawal of the scoring consent waits for it and takes effect no earlier than the use,
    even when it read the clock a moment before the use did (here: the clock moved back)."""
    token = shops.shop_token()
    assert shops.consume(token).status_code == 201
    used_at = next(e["at"] for e in shops.access_log() if e["action"] == "consume")
    clock.advance(seconds=-1)
    withdraw(shops.client, shops.resident, shops.scoring_consent)
    consent = shops.client.get(f"/api/v1/me/consents/{shops.scoring_consent}",
                               headers=bearer(shops.resident)).get_json()
    assert consent["ended_at"] >= used_at


def test_withdrawing_the_scenario_consent_makes_the_token_inactive_at_once(
        shops: Merchants) -> None:
    token = shops.shop_token("car_repair_discount")
    withdraw(shops.client, shops.resident, shops.consents["car_repair_discount"])
    assert shops.active(token) is False
    problem(shops.consume(token), 403, "token_revoked")


def test_an_exclusion_arising_makes_the_token_inactive_at_once(shops: Merchants) -> None:
    token, bike = shops.shop_token("priority_service"), shops.token("deposit_waiver_bike",
                                                                    shops.bikes)
    push(shops.client, shops.source_key, [DEBTOR])  # listed as 失信被执行人
    assert shops.active(token) is False
    assert shops.active(bike, shops.bikes_key) is False
    body = problem(shops.consume(token), 403, "use_declined")
    assert "dishonest" not in body["detail"]  # the partner never learns why


def test_an_overdue_bill_makes_a_bike_token_inactive_but_not_a_merchant_one(
        shops: Merchants) -> None:
    """Only the exclusions the token's scenario names: fewer_documents does not exclude an
    overdue bill, the bike waiver does."""
    shops.bill(10000)
    shops.advance(days=7, minutes=-1)
    token, bike = shops.shop_token(), shops.token("deposit_waiver_bike", shops.bikes)
    assert shops.active(bike, shops.bikes_key) is True
    shops.advance(seconds=90)  # the bill is now overdue; the tokens have not expired (120 s)
    assert shops.active(bike, shops.bikes_key) is False
    assert shops.active(token) is True
    assert shops.consume(token).status_code == 201


def test_the_exclusions_operators_set_for_a_scenario_count_at_once(shops: Merchants) -> None:
    """The scenario's exclusions are its current definition's (scenario_settings over the
    shipped catalogue): dropping `dishonest_debtor` from scenic_discount keeps a listed
    resident's token usable there, not in fewer_documents."""
    from tests.support.factories import new_operator

    _admin, admin_key = new_operator(shops.app, "admin")
    changed = shops.client.patch("/admin/v1/scenarios/scenic_discount",
                                 headers=bearer(admin_key), json={"exclusions": []})
    assert changed.status_code == 200, changed.get_json()
    scenic, documents = shops.shop_token("scenic_discount"), shops.shop_token()
    push(shops.client, shops.source_key, [DEBTOR])
    assert shops.active(scenic) is True and shops.active(documents) is False
    assert shops.consume(scenic).status_code == 201
    problem(shops.consume(documents), 403, "use_declined")


def test_an_eligibility_override_in_force_keeps_the_token_usable(shops: Merchants) -> None:
    """A human review that let a listed resident use the scenario (rights.reviews) is honoured
    by introspection and by the use, as by the token's issue."""
    from datetime import timedelta

    from app.runtime import runtime
    from tests.support.factories import new_operator

    other = shops.shop_token("scenic_discount")
    push(shops.client, shops.source_key, [DEBTOR])
    _reviewer, reviewer_key = new_operator(shops.app, "reviewer")
    asked = shops.client.post("/api/v1/me/review-requests", headers=bearer(shops.resident),
                              json={"subject": "eligibility", "scenario": "fewer_documents",
                                    "reason": "该失信记录已经撤销，请人工复核"})
    assert asked.status_code == 201, asked.get_json()
    with shops.app.app_context():
        ends = runtime().clock.now() + timedelta(days=30)
    decided = shops.client.post(
        f"/admin/v1/reviews/{asked.get_json()['id']}/decide", headers=bearer(reviewer_key),
        json={"outcome": "changed", "note": "核实后准予承诺减材料",
              "effect": {"kind": "eligibility_override", "scenario": "fewer_documents",
                         "ends_at": ends.isoformat().replace("+00:00", "Z")}})
    assert decided.status_code == 200, decided.get_json()
    token = shops.shop_token("fewer_documents")
    assert shops.active(token) is True
    assert shops.consume(token).status_code == 201
    assert shops.active(other) is False  # no override for that scenario


def test_erasure_makes_the_token_inactive_at_once(shops: Merchants) -> None:
    token = shops.shop_token()
    assert shops.client.delete("/api/v1/me", headers=bearer(shops.resident)).status_code == 200
    assert shops.active(token) is False
    problem(shops.consume(token), 403, "token_revoked")


def test_the_partner_guide_names_the_call_that_uses_up_each_scenarios_token() -> None:
    import re
    from pathlib import Path

    from rewards.scenarios import defaults
    from rewards.token_use import use_call

    guide = Path(__file__).resolve().parents[2] / "docs" / "partners.md"
    section = guide.read_text().split("## 5. Use (consume) a token")[1].split("\n## ")[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    named = {code: call for codes, call in rows for code in re.findall(r"`([a-z_]+)`", codes)}
    for code, scenario in defaults().items():
        assert code in named, code
        assert f"`{use_call(scenario)}`" in named[code], code


def test_a_points_token_whose_holder_was_listed_since_is_neither_active_nor_redeemed(
        app: Any, client: Any, idp: Any) -> None:
    """points_redemption excludes a 失信被执行人: introspection says inactive, and the
    redemption, which uses the token, refuses it too (nothing is debited)."""
    from tests.support.points import PointsWorld

    world = PointsWorld(app, client, idp)
    world.give(1000)
    token = world.points_token()
    push(client, world.source_key, [DEBTOR])
    assert introspect(client, world.shop_key, token).get_json() == {"active": False}
    problem(world.redeem(100, token=token), 403, "use_declined")
    assert world.redeem(100, "order-2", token=token).get_json()["code"] == "use_declined"
