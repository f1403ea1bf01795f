"""The catalogue: listed publicly, partners per scenario, changed by operators without a deploy."""

from __future__ import annotations

import json

import pytest
from flask.cli import ScriptInfo
from sqlalchemy import select

from app.cli import main
from app.runtime import runtime
from core.audit import AuditEntry
from tests.support.factories import bearer, new_operator, new_partner
from tests.support.tokens import World, ask_token


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


def test_the_catalogue_lists_at_least_ten_scenarios(client):
    items = client.get("/api/v1/scenarios").get_json()["items"]
    assert len(items) >= 10
    medical = next(i for i in items if i["code"] == "medical_credit")
    assert medical["discloses"] == {"eligible": True}  # the line is never disclosed
    assert medical["token_ttl_seconds"] <= 300


def test_partners_serving_a_scenario_are_listed_for_the_resident(app, client):
    hospital, _ = new_partner(app, "hospital", ["medical_credit"])
    new_partner(app, "merchant", ["scenic_discount"])
    items = client.get("/api/v1/scenarios/medical_credit/partners").get_json()["items"]
    assert items == [{"client_id": hospital.client_id, "name": hospital.name, "kind": "hospital"}]
    assert client.get("/api/v1/scenarios/nothing/partners").status_code == 404


def test_an_admin_changes_a_limit_and_the_change_is_audited(app, client):
    _op, key = new_operator(app, "admin")
    response = client.patch("/admin/v1/scenarios/medical_credit", headers=bearer(key), json={
        "limits": {"excellent": {"limit_fen": 800000}, "very_good": {"limit_fen": 300000},
                   "good": {"limit_fen": 200000}}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 1
    listed = client.get("/api/v1/scenarios").get_json()["items"]
    medical = next(i for i in listed if i["code"] == "medical_credit")
    assert medical["limits"]["excellent"] == {"limit_fen": 800000}
    with app.app_context(), runtime().uow() as uow:
        entry = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "scenario.changed")).one()
    assert entry.subject == "medical_credit" and entry.data["changed"] == ["limits"]
    assert entry.actor.startswith("operator:")


def test_an_admin_adds_a_scenario_and_deactivates_another(app, client):
    _op, key = new_operator(app, "admin")
    spec = client.get("/api/v1/scenarios").get_json()["items"][0]
    new = {k: v for k, v in spec.items()
           if k not in ("code", "version", "available", "notice")}
    new["name"] = {"zh": "公交优惠", "en": "Bus fare discount"}
    response = client.put("/admin/v1/scenarios/bus_discount", headers=bearer(key), json=new)
    assert response.status_code == 200, response.get_json()
    client.patch("/admin/v1/scenarios/scenic_discount", headers=bearer(key),
                 json={"active": False})
    codes = {i["code"] for i in client.get("/api/v1/scenarios").get_json()["items"]}
    assert "bus_discount" in codes and "scenic_discount" not in codes
    every = client.get("/admin/v1/scenarios", headers=bearer(key)).get_json()["items"]
    assert "scenic_discount" in {i["code"] for i in every}


def test_an_invalid_change_is_refused_and_nothing_is_stored(app, client):
    _op, key = new_operator(app, "admin")
    response = client.patch("/admin/v1/scenarios/medical_credit", headers=bearer(key),
                            json={"token_ttl_seconds": 3600})
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_scenario"
    response = client.patch("/admin/v1/scenarios/medical_credit", headers=bearer(key),
                            json={"discloses": {"eligible": True, "score": True}})
    assert response.get_json()["code"] == "invalid_scenario"
    response = client.patch("/admin/v1/scenarios/medical_credit", headers=bearer(key),
                            json={"discloses": {"eligible": True, "Tier": True}})
    assert response.get_json()["code"] == "invalid_scenario"
    every = client.get("/admin/v1/scenarios", headers=bearer(key)).get_json()["items"]
    assert next(i for i in every if i["code"] == "medical_credit")["version"] == 0


def test_only_admins_change_the_catalogue(app, client):
    _op, key = new_operator(app, "reviewer")
    response = client.patch("/admin/v1/scenarios/medical_credit", headers=bearer(key),
                            json={"active": False})
    assert response.status_code == 403
    assert client.get("/admin/v1/scenarios", headers=bearer(key)).status_code == 200
    assert client.patch("/admin/v1/scenarios/medical_credit",
                        json={"active": False}).status_code == 401


def test_a_deactivated_scenario_issues_no_tokens(world, client):
    _op, key = new_operator(world.app, "admin")
    client.patch("/admin/v1/scenarios/medical_credit", headers=bearer(key),
                 json={"active": False})
    response = ask_token(client, world.resident, "medical_credit", world.hospital.client_id)
    assert response.status_code == 404 and response.get_json()["code"] == "unknown_scenario"


def test_a_tightened_minimum_takes_effect_at_once(world, client):
    _op, key = new_operator(world.app, "admin")
    ask = lambda: ask_token(client, world.resident, "medical_credit",  # noqa: E731
                            world.hospital.client_id)
    assert ask().status_code == 201
    client.patch("/admin/v1/scenarios/medical_credit", headers=bearer(key),
                 json={"min_score": 999})
    assert ask().get_json()["reasons"] == ["score_too_low"]


def test_the_cli_lists_and_changes_scenarios(app):
    runner = app.test_cli_runner()
    obj = ScriptInfo(create_app=lambda: app)
    listed = runner.invoke(main, ["scenarios", "list"], obj=obj)
    assert listed.exit_code == 0, listed.output
    assert len(listed.output.strip().splitlines()) >= 10
    changed = runner.invoke(main, ["scenarios", "set", "hotel_no_deposit", "--inactive"], obj=obj)
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.output)["active"] is False
    bad = runner.invoke(main, ["scenarios", "set", "hotel_no_deposit", "--json",
                               '{"token_ttl_seconds": 9999}'], obj=obj)
    assert bad.exit_code != 0 and "invalid_scenario" in bad.output
    with app.app_context(), runtime().uow() as uow:
        actors = uow.session.scalars(select(AuditEntry.actor).where(
            AuditEntry.action == "scenario.changed")).all()
    assert actors == ["cli"]
