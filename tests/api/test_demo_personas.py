"""The demo personas: listed first in their order with their lines, and each one's state is what
its line says (tier band, an overdue bill, a 失信 exclusion, a repairable record), with points
and 免押 history; a freshly seeded demo passes `pengcheng audit verify`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.runtime import runtime
from app.seed import seed_demo
from core.demo import PERSONAS
from tests.support.factories import bearer, cli

# The tier each persona's line names (the first of these words in it).
TIER_WORDS = {"极好": "excellent", "优秀": "very_good", "良好": "good", "一般": "fair",
              "待提升": "building"}


def named_tier(line: str) -> str:
    return min((line.index(word), code) for word, code in TIER_WORDS.items() if word in line)[1]


@pytest.fixture
def demo(app: Any, client: Any) -> dict[str, dict[str, Any]]:
    """The seeded demo: each persona's listing and a session signed in as them."""
    with app.app_context():
        summary = seed_demo(runtime(), residents=3, rng_seed=3, now=runtime().clock.now())
    assert summary["personas"] == len(PERSONAS) and summary["residents"] == 3
    listed = client.get("/api/v1/auth/demo/residents").get_json()
    out = {}
    for entry in listed[:len(PERSONAS)]:
        session = client.post("/api/v1/auth/demo", json={"resident_id": entry["resident_id"]})
        assert session.status_code == 201
        out[entry["persona"]] = {**entry, "token": session.get_json()["token"]}
    out["_listed"] = {"all": listed}
    return out


def _get(client: Any, persona: dict[str, Any], path: str) -> Any:
    response = client.get(path, headers=bearer(persona["token"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def listed_first_in_order_with_their_lines(demo) -> None:
    listed = demo["_listed"]["all"]
    assert [e["persona"] for e in listed[:len(PERSONAS)]] == [p.key for p in PERSONAS]
    for entry, persona in zip(listed, PERSONAS, strict=False):
        assert entry["description"] == {"zh": persona.zh, "en": persona.en}
        assert entry["label"].startswith(persona.name)
        assert "\n" not in persona.zh and "\n" not in persona.en
    others = listed[len(PERSONAS):]
    assert len(others) == 3 and all(e["persona"] is None and e["description"] is None
                                    for e in others)


def in_the_tier_their_lines_name(client, demo) -> None:
    scores = {p.key: _get(client, demo[p.key], "/api/v1/me/score") for p in PERSONAS}
    served = {key: score["tier"] for key, score in scores.items()}
    named = {p.key: named_tier(p.zh) for p in PERSONAS}
    assert served == named, " ".join(f"{k}={s['score']}" for k, s in scores.items())
    assert [named_tier(p.zh) for p in PERSONAS][0] == "excellent"


def supplements_added_and_what_adding_brings(client, demo) -> None:
    first = _get(client, demo["excellent"], "/api/v1/me/consents")
    scoring = next(c for c in first["items"] if c["purpose"] == "scoring"
                   and c["status"] == "active")
    supplements = {"social_insurance", "housing_fund", "utilities", "rental", "volunteer",
                   "blood_donation"}
    assert supplements <= set(scoring["categories"])
    thin = _get(client, demo["thin_file"], "/api/v1/me/score")
    unused = {u["category"]: u["max_points"] for u in thin["unused_categories"]}
    assert {"housing_fund", "volunteer", "rental"} <= set(unused)
    assert all(points > 0 for points in unused.values())


def points_and_waiver_history(client, demo) -> None:
    for persona in PERSONAS:
        me = demo[persona.key]
        assert _get(client, me, "/api/v1/me/points")["balance"] > 0, persona.key
        waivers = _get(client, me, "/api/v1/me/deposit-waivers")["items"]
        assert waivers and all(w["status"] == "completed" for w in waivers), persona.key
    history = _get(client, demo["excellent"], "/api/v1/me/points")["history"]
    assert {"earn", "redeem"} <= {item["kind"] for item in history}


def an_overdue_bill_suspends_credit_care_until_paid(client, demo) -> None:
    me = demo["overdue"]
    mine = _get(client, me, "/api/v1/me/medical-credit")
    assert [b["status"] for b in mine["bills"]] == ["overdue"]
    assert not mine["eligible"] and mine["available_fen"] == 0
    assert "overdue_bill" in {r["code"] for r in mine["reasons"]}
    waiver = next(e for e in _get(client, me, "/api/v1/me/entitlements")["items"]
                  if e["scenario"] == "deposit_waiver_bike")
    assert not waiver["eligible"]
    bill = mine["bills"][0]
    paid = client.post(f"/api/v1/me/medical-credit/bills/{bill['bill_id']}/demo-payment",
                       headers=bearer(me["token"]), json={"amount_fen": bill["owed_fen"]})
    assert paid.status_code == 201, paid.get_json()
    assert _get(client, me, "/api/v1/me/medical-credit")["eligible"]  # 还清即可恢复
    settled = _get(client, demo["excellent"], "/api/v1/me/medical-credit")
    assert settled["eligible"] and not settled["bills"]
    assert any(item["kind"] == "bill" and item["status"] == "paid"
               for item in settled["history"])


def a_dishonest_debtor_is_excluded(client, demo) -> None:
    items = _get(client, demo["dishonest"], "/api/v1/me/entitlements")["items"]
    by_code = {e["scenario"]: e for e in items}
    for code in ("medical_credit", "deposit_waiver_bike"):
        assert not by_code[code]["eligible"]
        assert "dishonest_debtor" in {r["code"] for r in by_code[code]["reasons"]}
    records = _get(client, demo["dishonest"], "/api/v1/me/records")["items"]
    assert [r["type"] for r in records if r["category"] == "judicial"] == ["dishonest_debtor"]


def a_traffic_violation_can_be_repaired(client, demo) -> None:
    records = _get(client, demo["traffic"], "/api/v1/me/records")["items"]
    violation = next(r for r in records if r["type"] == "violation")
    check = _get(client, demo["traffic"], f"/api/v1/me/records/{violation['id']}/repair")
    assert check["eligible"], check
    others = [r for p in ("excellent", "thin_file", "overdue")
              for r in _get(client, demo[p], "/api/v1/me/records")["items"]]
    assert not any(r["category"] == "traffic" for r in others)


def audit_verify_passes(app, demo) -> None:
    result = cli(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["ok"] and verdict["checkpoints"] >= 1


def seeding_again_changes_nothing(app, client, demo) -> None:
    result = cli(app, "seed", "--residents", "3", "--seed", "3")  # what an operator runs
    assert result.exit_code == 0, result.output
    again = json.loads(result.output)
    assert again["personas"] == 0 and again["residents"] == 0 and again["records"] == 0
    assert client.get("/api/v1/auth/demo/residents").get_json() == demo["_listed"]["all"]


# Seeding takes seconds: each test below seeds once and checks several things.

def test_personas_are_listed_first_in_order_with_lines_that_name_their_tier(client, demo) -> None:
    listed_first_in_order_with_their_lines(demo)
    in_the_tier_their_lines_name(client, demo)
    supplements_added_and_what_adding_brings(client, demo)


def test_each_persona_has_history_and_the_state_its_line_describes(client, demo) -> None:
    points_and_waiver_history(client, demo)
    an_overdue_bill_suspends_credit_care_until_paid(client, demo)
    a_dishonest_debtor_is_excluded(client, demo)
    a_traffic_violation_can_be_repaired(client, demo)


def test_a_fresh_demo_passes_audit_verify_and_seeding_again_changes_nothing(
        app, client, demo) -> None:
    audit_verify_passes(app, demo)
    seeding_again_changes_nothing(app, client, demo)
