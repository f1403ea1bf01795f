"""Issue 19, item 8: a scenario an operator creates can be used — once its notice is published.

The attack: an admin creates a scenario (`PUT /admin/v1/scenarios/X`), a resident tries to
consent to it and reads their entitlements. Before this change there was no notice to consent
to (and no way to publish one without a deploy), yet the entitlement said "eligible". Now the
scenario says "not yet available" (`scenario_not_available`, zh and en) until an operator
publishes its notice through `/admin/v1` or the CLI; it cannot be consented to or tokened
before; and both changes are audited with their before and after values.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, text

from app.runtime import runtime
from core.audit import AuditEntry
from core.canonical import canonical
from tests.support.factories import bearer, cli, new_operator, new_partner
from tests.support.tokens import World, ask_token

CODE = "bus_discount"
PURPOSE = f"scenario:{CODE}"


def scenario_spec(client: Any) -> dict[str, Any]:
    """A merchant discount like the shipped `scenic_discount`, renamed."""
    shipped = next(i for i in client.get("/api/v1/scenarios").get_json()["items"]
                   if i["code"] == "scenic_discount")
    spec = {k: v for k, v in shipped.items() if k not in ("code", "version", "available",
                                                          "notice")}
    spec["name"] = {"zh": "公交优惠", "en": "Bus fare discount"}
    spec["description"] = {"zh": "乘坐公交享受票价优惠", "en": "Discounted bus fares"}
    return spec


def notice_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title_zh": "公交优惠", "title_en": "Bus fare discount",
        "text_zh": "鹏城分场景授权告知：公交优惠。公交运营方仅获知您是否符合条件。",
        "text_en": "Pengcheng Score scenario notice: bus fare discount. Bus operators learn "
                   "only whether you qualify.",
        "categories": [],
        "recipients": [{"kind": "merchant", "name_zh": "公交运营方", "name_en": "Bus operators"}],
        "retention": "P3Y after settlement",
        "requires_separate_consent": True,
    }
    body.update(changes)
    return body


def entitlement(client: Any, token: str) -> dict[str, Any]:
    response = client.get("/api/v1/me/entitlements", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return next(i for i in response.get_json()["items"] if i["scenario"] == CODE)


def audit_entries(app: Any, action: str) -> list[AuditEntry]:
    with app.app_context(), runtime().uow() as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                        .order_by(AuditEntry.seq)))


def test_a_new_scenario_is_not_yet_available_until_its_notice_is_published(app, client, idp):
    world = World(app, client, idp)
    _op, key = new_operator(app, "admin")
    bus, _bus_key = new_partner(app, "merchant", [CODE])
    created = client.put(f"/admin/v1/scenarios/{CODE}", headers=bearer(key),
                         json=scenario_spec(client))
    assert created.status_code == 200, created.get_json()

    # The attack: try to consent, then read what the entitlement says.
    assert client.get(f"/api/v1/notices?purpose={PURPOSE}").get_json() == []
    shown = entitlement(client, world.resident)
    assert shown["eligible"] is False and shown["usable"] is False, shown
    assert [r["code"] for r in shown["reasons"]] == ["scenario_not_available"], shown
    assert shown["reasons"][0]["zh"] and shown["reasons"][0]["en"]
    assert shown["missing_consent"] == [], "nothing to consent to yet"
    listed = next(i for i in client.get("/api/v1/scenarios").get_json()["items"]
                  if i["code"] == CODE)
    assert listed["available"] is False and listed["notice"] is None
    refused = ask_token(client, world.resident, CODE, bus.client_id)
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["code"] == "scenario_not_available"
    partners = client.get(f"/api/v1/scenarios/{CODE}/partners")
    assert partners.get_json()["code"] == "scenario_not_available"

    # The operator publishes its notice: version 1, hashed as every notice is.
    published = client.post(f"/admin/v1/scenarios/{CODE}/notices", headers=bearer(key),
                            json=notice_body())
    assert published.status_code == 201, published.get_json()
    notice = published.get_json()
    assert (notice["purpose"], notice["version"]) == (PURPOSE, 1)
    from consent.notices import HASHED_FIELDS
    document = {k: notice[k] for k in HASHED_FIELDS}
    assert notice["hash"] == hashlib.sha256(canonical(document)).hexdigest()

    listed = next(i for i in client.get("/api/v1/scenarios").get_json()["items"]
                  if i["code"] == CODE)
    assert listed["available"] is True and listed["notice"]["version"] == 1
    shown = entitlement(client, world.resident)
    assert shown["eligible"] is True and shown["missing_consent"] == [PURPOSE], shown
    without = client.post("/api/v1/me/consents", headers=bearer(world.resident),
                          json={"notice_id": notice["id"]})
    assert without.get_json()["code"] == "separate_consent_required"
    given = client.post("/api/v1/me/consents", headers=bearer(world.resident),
                        json={"notice_id": notice["id"], "separate_consent": True})
    assert given.status_code == 201, given.get_json()
    assert entitlement(client, world.resident)["usable"] is True
    issued = ask_token(client, world.resident, CODE, bus.client_id)
    assert issued.status_code == 201, issued.get_json()


def test_the_cli_publishes_a_notice_and_lists_the_versions(app, client, tmp_path):
    _op, key = new_operator(app, "admin")
    client.put(f"/admin/v1/scenarios/{CODE}", headers=bearer(key), json=scenario_spec(client))
    path = tmp_path / "notice.json"
    path.write_text(json.dumps(notice_body(), ensure_ascii=False), "utf-8")
    result = cli(app, "notices", "publish", CODE, "--file", str(path))
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    assert (first["purpose"], first["version"], first["material"]) == (PURPOSE, 1, False)

    path.write_text(json.dumps(notice_body(text_zh="鹏城分场景授权告知：公交优惠（修订）。"),
                               ensure_ascii=False), "utf-8")
    second = json.loads(cli(app, "notices", "publish", CODE, "--file", str(path)).stdout)
    assert second["version"] == 2 and second["material"] is False
    listed = cli(app, "notices", "list", "--purpose", PURPOSE, "--all-versions")
    assert [json.loads(line)["version"] for line in listed.stdout.splitlines()] == [1, 2]
    scenarios = [json.loads(line) for line in cli(app, "scenarios", "list").stdout.splitlines()]
    assert next(s for s in scenarios if s["code"] == CODE)["notice"]["version"] == 2

    path.write_text(json.dumps(notice_body(text_en="")), "utf-8")
    bad = cli(app, "notices", "publish", CODE, "--file", str(path))
    assert bad.exit_code != 0 and "notice_invalid" in bad.output


def test_scenario_and_notice_changes_are_audited_with_before_and_after_values(app, client):
    _op, key = new_operator(app, "admin")
    client.put(f"/admin/v1/scenarios/{CODE}", headers=bearer(key), json=scenario_spec(client))
    client.patch(f"/admin/v1/scenarios/{CODE}", headers=bearer(key),
                 json={"token_ttl_seconds": 120})
    created, changed = audit_entries(app, "scenario.changed")
    assert created.data["before"] == {} and created.data["after"]["min_tier"] == "good"
    assert created.data["after"]["name"] == {"zh": "公交优惠", "en": "Bus fare discount"}
    assert changed.data["changed"] == ["token_ttl_seconds"]
    assert changed.data["before"] == {"token_ttl_seconds": 300}
    assert changed.data["after"] == {"token_ttl_seconds": 120}

    first = client.post(f"/admin/v1/scenarios/{CODE}/notices", headers=bearer(key),
                        json=notice_body()).get_json()
    recipients = [*notice_body()["recipients"],
                  {"kind": "payment_channel", "name_zh": "支付渠道", "name_en": "Payment channels"}]
    second = client.post(f"/admin/v1/scenarios/{CODE}/notices", headers=bearer(key),
                         json=notice_body(recipients=recipients))
    assert second.status_code == 201, second.get_json()
    one, two = audit_entries(app, "consent.notice_published")
    assert one.subject == PURPOSE and one.data["before"] == {}
    assert one.data["after"]["text_zh"] == notice_body()["text_zh"]
    assert two.data["previous_hash"] == first["hash"] and two.data["material"] is True
    assert two.data["changed"] == ["recipients"]
    assert two.data["before"] == {"recipients": notice_body()["recipients"]}
    assert two.data["after"] == {"recipients": recipients}
    assert two.actor.startswith("operator:")


def test_a_notice_is_validated_before_it_is_published(app, client):
    _op, key = new_operator(app, "admin")
    client.put(f"/admin/v1/scenarios/{CODE}", headers=bearer(key), json=scenario_spec(client))

    def publish(code: str = CODE, token: str = key, **changes: Any) -> Any:
        return client.post(f"/admin/v1/scenarios/{code}/notices", headers=bearer(token),
                           json=notice_body(**changes))

    for bad in ({"text_zh": " "}, {"categories": ["religion"]}, {"recipients": []},
                {"requires_separate_consent": False}, {"retention": ""},
                {"recipients": [{"kind": "merchant", "name_zh": "公交"}]},
                {"separate_consent_categories": ["tax"]}, {"validity_days": 0}):
        response = publish(**bad)
        assert response.status_code == 422, (bad, response.get_json())
        assert response.get_json()["code"] in ("notice_invalid", "validation_failed"), bad
    assert publish(code="no_such_scenario").get_json()["code"] == "unknown_scenario"
    _op, reviewer = new_operator(app, "reviewer")
    assert publish(token=reviewer).status_code == 403
    assert client.get(f"/api/v1/notices?purpose={PURPOSE}").get_json() == []
    assert audit_entries(app, "consent.notice_published") == []


def test_the_database_refuses_a_consent_to_a_scenario_whose_notice_was_never_published(
        app, client, idp):
    """Whoever writes: a consent row names a notice of its own purpose; a scenario notice names
    its recipients and needs separate consent (migration 0023)."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    world = World(app, client, idp)
    _op, key = new_operator(app, "admin")
    client.put(f"/admin/v1/scenarios/{CODE}", headers=bearer(key), json=scenario_spec(client))
    medical = client.get("/api/v1/notices?purpose=scenario:medical_credit").get_json()[0]
    with app.app_context(), runtime().uow() as uow:
        resident = uow.session.execute(text(
            "SELECT resident_id FROM consent_records WHERE id = :id"),
            {"id": world.consents["medical_credit"]}).scalar_one()
    with pytest.raises(IntegrityError, match="notice_of_its_purpose"), app.app_context(), \
            runtime().uow() as uow:
        uow.session.execute(text(
            "INSERT INTO consent_records (id, resident_id, purpose, notice_id, categories, "
            "separate_consent, status, given_at) VALUES (gen_random_uuid(), :r, :p, :n, "
            "'[]', true, 'active', now())"), {"r": resident, "p": PURPOSE, "n": medical["id"]})
    with pytest.raises(IntegrityError, match="scenario_recipients"), app.app_context(), \
            runtime().uow() as uow:
        uow.session.execute(text(
            "INSERT INTO consent_notices (id, purpose, version, title_zh, title_en, text_zh, "
            "text_en, categories, separate_consent_categories, requires_separate_consent, "
            "recipients, retention, hash, published_at) VALUES (gen_random_uuid(), :p, 1, "
            "'公交', 'Bus', '告知', 'Notice', '[]', '[]', false, '[]', 'P3Y', 'x', now())"),
            {"p": PURPOSE})
    assert entitlement(client, world.resident)["reasons"][0]["code"] == "scenario_not_available"
