"""Decision-only disclosure (issue 20), attacked the way a curious partner would.

1. Telling tiers apart: for every scenario, a resident of each eligible tier goes through every
   partner call of the scenario — the token as the partner can read it (no key needed), its
   introspection (JSON and form), the call that uses it within every tier's limits, the calls
   that follow (capture, void, complete, refund), and a request above every tier's limits. What
   the partner receives, with ids, times, pseudonyms and what it sent set aside, must be the
   same bytes for every tier. (The old answers failed here: `ent.limit_fen`,
   `max_points_per_order`, `discount_pct`, `max_items` and `available_fen` each told the tier.)
2. Linking two partners: two partners serving the same scenario call at the same moment for
   two residents, one of whom has activity at the first partner. Nothing either receives may be
   equal for the same resident at both partners yet differ between the residents — the way
   `available_fen`, seen by two hospitals at once, linked their two pseudonyms.

The residents' tiers are arranged by fixing the score read (`rewards.entitlements.standing`:
scoring is tested on its own); everything the partner touches — the HTTP API, the token
service, the PostgreSQL functions — is real.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from rewards import entitlements
from rewards.scenarios import TIERS, Scenario, defaults
from rewards.token_use import CONSUME, HOLD, REDEMPTION, WAIVER, use_call
from tests.support.factories import bearer, id_number, login, new_partner
from tests.support.tokens import grant

SCORE = {"building": 480, "fair": 580, "good": 650, "very_good": 720, "excellent": 800}
KIND = {HOLD: "hospital", WAIVER: "deposit_partner", REDEMPTION: "merchant",
        CONSUME: "merchant"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JWS = re.compile(r"^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$")
HEADERS = ("Content-Type", "Cache-Control", "WWW-Authenticate", "Retry-After")
SIGNATURES = {"signature", "jws", "sig"}
DAY = "2026-11-01"  # the test clock's day (tests.support.factories.T0)
PERIOD = "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z"


class Town:
    """Residents whose tiers the test chooses, and the partners they meet."""

    def __init__(self, app: Any, client: Any, idp: Any, monkeypatch: pytest.MonkeyPatch):
        self.app, self.client, self.idp = app, client, idp
        self.tiers: dict[uuid.UUID, str] = {}
        self.people = 0
        monkeypatch.setattr(entitlements, "standing", self._standing)

    def _standing(self, _uow: Any, resident: Any, _now: Any) -> tuple[int | None, str | None]:
        tier = self.tiers.get(resident.id)
        return (SCORE[tier], tier) if tier else (None, None)

    def resident(self, tier: str, scenario: str) -> str:
        """A signed-in resident of `tier` who consented to scoring and to `scenario`."""
        from app.runtime import runtime
        from core.identity import find_resident

        self.people += 1
        n = 900 + self.people
        session = login(self.client, self.idp, n, f"居民{self.people}")
        grant(self.client, session, "scoring")
        grant(self.client, session, f"scenario:{scenario}")
        with self.app.app_context(), runtime().uow() as uow:
            found = find_resident(uow.session, runtime().keyring, id_number(n))
            assert found is not None
            self.tiers[found.id] = tier
            if scenario == "points_redemption":
                self._points(uow, found.id, 100_000)
        return session

    def _points(self, uow: Any, resident_id: uuid.UUID, points: int) -> None:
        from datetime import timedelta

        from app.runtime import runtime
        from rewards.points.earning import award

        now = runtime().clock.now()
        assert award(uow.session, resident_id=resident_id, points=points,
                     key=f"earn:test:{resident_id.hex}", rule="test", now=now,
                     expires_at=now + timedelta(days=700))
        uow.commit()

    def token(self, session: str, scenario: str, partner: Any) -> dict[str, Any]:
        response = self.client.post("/api/v1/me/tokens", headers=bearer(session),
                                    json={"scenario": scenario, "partner": partner.client_id})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def call(self, method: str, path: str, key: str, body: Any = None, *,
             form: bool = False) -> Any:
        headers = bearer(key)
        if form:
            return self.client.open(path, method=method, headers=headers, data=body)
        return self.client.open(path, method=method, headers=headers, json=body)


@pytest.fixture
def town(app: Any, client: Any, idp: Any, monkeypatch: pytest.MonkeyPatch) -> Town:
    return Town(app, client, idp, monkeypatch)


# -- what a partner receives ---------------------------------------------------------------------

def _claims(jws: str) -> dict[str, Any]:
    payload = JWS.match(jws)
    assert payload is not None
    return dict(json.loads(base64.urlsafe_b64decode(payload.group(1) + "==")))


def _normal(value: Any, own: dict[str, str]) -> Any:
    """`value` with what may differ between residents set aside: values the caller names in
    `own` (its pseudonym, its token's jti and code, what the partner sent, its client id) and
    ids; a JWS is replaced by its claims (the signature differs, the claims must not), and so
    is a statement's signature (it signs ids)."""
    if isinstance(value, dict):
        return {k: "<signature>" if k in SIGNATURES else _normal(v, own)
                for k, v in value.items()}
    if isinstance(value, list):  # items made at the same moment come in the order of their ids
        return sorted((_normal(v, own) for v in value), key=json.dumps)
    if isinstance(value, str):
        if value in own:
            return own[value]
        if UUID.match(value):
            return "<id>"
        if JWS.match(value):
            return {"<jws>": _normal(_claims(value), own)}
    return value


def received(response: Any, own: dict[str, str]) -> dict[str, Any]:
    """One answer as the partner received it, normalized."""
    body = response.get_json(silent=True)
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "request_id"}  # one per request
    return {"status": response.status_code,
            "headers": {h: response.headers.get(h) for h in HEADERS},
            "body": _normal(body if body is not None else response.get_data(as_text=True), own)}


# -- every partner call of a scenario --------------------------------------------------------------

def _fit(scenario: Scenario, field: str, tiers: list[str]) -> int | None:
    """The largest value of `field` every one of `tiers` allows, and the smallest all refuse."""
    values = [scenario.limits[t][field] for t in tiers if field in scenario.limits[t]]
    return (min(values), max(values) + 1) if values else None  # type: ignore[return-value]


def journey(town: Town, scenario: Scenario, session: str, tag: str) -> list[dict[str, Any]]:
    """Every partner call of `scenario` for one resident, at a partner of their own (so that
    its lists and statements hold this resident alone): what the partner received."""
    tiers = list(scenario.limits)
    partner, key = new_partner(town.app, KIND[use_call(scenario)], [scenario.code])
    issued = town.token(session, scenario.code, partner)
    claims = _claims(issued["token"])
    own = {claims["sub"]: "<sub>", claims["jti"]: "<jti>", issued["token"]: "<token>",
           partner.client_id: "<partner>"}
    if "code" in issued:
        own[issued["code"]] = "<code>"
    seen = [{"token": _normal(claims, own)}]

    def sent(**fields: Any) -> dict[str, Any]:
        for name, value in fields.items():
            if isinstance(value, str):
                own[value] = f"<sent:{name}>"
        return fields

    def record(response: Any) -> Any:
        seen.append(received(response, own))
        return response

    record(town.call("POST", "/partner/v1/tokens/introspect", key, {"token": issued["token"]}))
    record(town.call("POST", "/partner/v1/tokens/introspect", key, {"token": issued["token"]},
                     form=True))
    if "code" in issued:
        record(town.call("POST", "/partner/v1/tokens/introspect", key,
                         {"token": issued["code"]}))

    call = use_call(scenario)
    over_token = town.token(session, scenario.code, partner)["token"]
    over_claims = _claims(over_token)
    own.update({over_token: "<token>", over_claims["jti"]: "<jti>"})
    if call == HOLD:
        fits, above = _fit(scenario, "limit_fen", tiers)
        held = record(town.call("POST", "/partner/v1/medical-credit/authorizations", key, sent(
            token=issued["token"], out_request_no=f"reg-{tag}", amount_fen=fits)))
        auth = held.get_json()["authorization_id"]
        record(town.call("POST", f"/partner/v1/medical-credit/authorizations/{auth}/capture",
                         key, sent(out_bill_no=f"bill-{tag}", amount_fen=fits // 2)))
        second = town.token(session, scenario.code, partner)["token"]
        own[second], own[_claims(second)["jti"]] = "<token>", "<jti>"
        again = record(town.call("POST", "/partner/v1/medical-credit/authorizations", key,
                                 sent(token=second, out_request_no=f"reg2-{tag}",
                                      amount_fen=1000)))
        record(town.call("POST", "/partner/v1/medical-credit/authorizations/"
                         f"{again.get_json()['authorization_id']}/void", key))
        record(town.call("POST", "/partner/v1/medical-credit/authorizations", key, sent(
            token=over_token, out_request_no=f"reg3-{tag}", amount_fen=above)))
        record(town.call("GET", "/partner/v1/medical-credit/authorizations", key))
        for listing in ("holds", "bills"):
            record(town.call("GET", f"/partner/v1/settlement/{listing}", key))
        record(town.call("GET", f"/partner/v1/settlement/statement?date={DAY}", key))
    elif call == WAIVER:
        fits, above = _fit(scenario, "deposit_cap_fen", tiers)
        items = _fit(scenario, "max_items", tiers)
        extra = {"items": items[0]} if items else {}
        made = record(town.call("POST", "/partner/v1/deposit-waivers", key, sent(
            token=issued["token"], out_order_no=f"order-{tag}", deposit_fen=fits,
            due_at="2026-11-08T08:00:00Z", item="测试物品", **extra)))
        waiver = made.get_json()["waiver_id"]
        record(town.call("POST", f"/partner/v1/deposit-waivers/{waiver}/complete", key))
        record(town.call("POST", "/partner/v1/deposit-waivers", key, sent(
            token=over_token, out_order_no=f"order2-{tag}", deposit_fen=above,
            due_at="2026-11-08T08:00:00Z", item="测试物品")))
        record(town.call("GET", "/partner/v1/settlement/waivers", key))
        record(town.call("GET", f"/partner/v1/settlement/statement?date={DAY}", key))
        if items:
            third = town.token(session, scenario.code, partner)["token"]
            own[third], own[_claims(third)["jti"]] = "<token>", "<jti>"
            record(town.call("POST", "/partner/v1/deposit-waivers", key, sent(
                token=third, out_order_no=f"order3-{tag}", deposit_fen=fits,
                due_at="2026-11-08T08:00:00Z", item="测试物品", items=items[1])))
    elif call == REDEMPTION:
        fits, above = _fit(scenario, "max_points_per_order", tiers)
        made = record(town.call("POST", "/partner/v1/points/redemptions", key, sent(
            token=issued["token"], out_order_no=f"order-{tag}", points=fits)))
        redemption = made.get_json()["redemption_id"]
        record(town.call("POST", f"/partner/v1/points/redemptions/{redemption}/refund", key,
                         sent(out_refund_no=f"refund-{tag}", points=1)))
        record(town.call("GET", f"/partner/v1/points/redemptions/{redemption}", key))
        record(town.call("POST", "/partner/v1/points/redemptions", key, sent(
            token=over_token, out_order_no=f"order2-{tag}", points=above)))
        record(town.call("GET", f"/partner/v1/points/statement?{PERIOD}", key))
    else:
        discount = _fit(scenario, "discount_pct", tiers)
        asked = {"discount_pct": discount[0]} if discount else {}
        record(town.call("POST", "/partner/v1/tokens/consume", key, sent(
            token=issued["token"], out_use_no=f"use-{tag}", **asked)))
        if discount and discount[1] <= 100:
            record(town.call("POST", "/partner/v1/tokens/consume", key, sent(
                token=over_token, out_use_no=f"use2-{tag}", discount_pct=discount[1])))
    record(town.call("POST", "/partner/v1/tokens/introspect", key, {"token": issued["token"]}))
    return seen


@pytest.mark.parametrize("code", sorted(defaults()))
def test_a_partner_cannot_tell_tiers_apart(town: Town, code: str) -> None:
    scenario = defaults()[code]
    transcripts = {tier: journey(town, scenario, town.resident(tier, code), tier)
                   for tier in TIERS if tier in scenario.limits}
    assert len(transcripts) >= 2 or code in ("rental_deposit_waiver",)
    first_tier, first = next(iter(transcripts.items()))
    assert all(step.get("status", 201) < 500 for step in first), first
    for tier, seen in transcripts.items():
        differs = next((i for i, (x, y) in enumerate(zip(seen, first, strict=True)) if x != y),
                       None)
        assert differs is None, (f"{code}: call {differs} tells {tier} apart from "
                                 f"{first_tier}:\n{seen[differs]}\n{first[differs]}")


# -- two partners at the same moment ---------------------------------------------------------------

def _leaves(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_leaves(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_leaves(v) for v in value)) if value else set()
    return {json.dumps(value, ensure_ascii=False)}


# Per scenario: the call that uses a token, with `amount` where the partner names one.
LINKING: dict[str, Callable[[Any, str, int], dict[str, Any]]] = {
    "medical_credit": lambda token, tag, amount: {
        "path": "/partner/v1/medical-credit/authorizations",
        "body": {"token": token, "out_request_no": tag, "amount_fen": amount}},
    "deposit_waiver_bike": lambda token, tag, amount: {
        "path": "/partner/v1/deposit-waivers",
        "body": {"token": token, "out_order_no": tag, "deposit_fen": amount,
                 "due_at": "2026-11-08T08:00:00Z", "item": "单车"}},
    "points_redemption": lambda token, tag, amount: {
        "path": "/partner/v1/points/redemptions",
        "body": {"token": token, "out_order_no": tag, "points": amount}},
    "car_repair_discount": lambda token, tag, amount: {
        "path": "/partner/v1/tokens/consume",
        "body": {"token": token, "out_use_no": tag,
                 "discount_pct": 5 if amount <= FITS else 100}},
}
FITS, ABOVE = 100, 10**9  # within every tier's limits; above all of them


@pytest.mark.parametrize("code", sorted(LINKING))
def test_two_partners_at_the_same_moment_learn_nothing_that_links_a_resident(
        town: Town, code: str) -> None:
    scenario = defaults()[code]
    kind = KIND[use_call(scenario)]
    (a, a_key), (b, b_key) = (new_partner(town.app, kind, [code]) for _ in range(2))
    residents = {"r1": town.resident("excellent", code), "r2": town.resident("excellent", code)}
    # r1 already has activity at partner A (a hold, a waiver, a redemption, a use): what it
    # leaves behind must not show at B.
    earlier = town.token(residents["r1"], code, a)["token"]
    first = LINKING[code](earlier, "earlier", FITS)
    assert town.call("POST", first["path"], a_key, first["body"]).status_code == 201

    seen: dict[tuple[str, str], set[str]] = {}
    for name, session in residents.items():
        calls: list[tuple[str, Any, dict[str, Any]]] = []
        for label, partner, key in (("A", a, a_key), ("B", b, b_key)):
            token, over = (town.token(session, code, partner)["token"] for _ in range(2))
            answers = [_claims(token), town.call("POST", "/partner/v1/tokens/introspect", key,
                                                 {"token": token}).get_json()]
            use = LINKING[code](token, f"{name}-{label}", FITS)
            answers.append(town.call("POST", use["path"], key, use["body"]).get_json())
            calls.append((label, key, LINKING[code](over, f"{name}-{label}-over", ABOVE)))
            seen[(label, name)] = _leaves(answers) - _leaves(use["body"])
        # Both partners ask for too much at the same moment (a refusal changes nothing, so
        # both see the resident in the same state).
        for label, key, over_use in calls:
            refused = town.call("POST", over_use["path"], key, over_use["body"]).get_json()
            seen[(label, name)] |= _leaves(refused) - _leaves(over_use["body"])
    for one, other in (("r1", "r2"), ("r2", "r1")):
        linking = (seen[("A", one)] & seen[("B", one)]) - (seen[("A", other)]
                                                           | seen[("B", other)])
        assert not linking, f"{code}: A and B both saw {sorted(linking)} for {one} only"
