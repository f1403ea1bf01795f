"""Partner webhooks over HTTP: registering endpoints (http(s) only, known event types, a
secret shown once), one partner never reaching another's, the published v1a keys, the
operators' log and re-send, and an endpoint failing for days disabled with a notice."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from app.runtime import runtime
from core.crypto import new_key_text
from core.identity import Partner
from events import delivery, endpoints
from events.models import Event, WebhookDelivery, WebhookEndpoint
from rewards.pseudonyms import sector
from tests.support.factories import bearer, cli, new_operator, new_partner
from tests.support.medical_credit import Credit
from tests.support.points import PointsWorld
from tests.support.webhooks import Receiver

pytestmark = pytest.mark.services

HOOKS = "/partner/v1/webhooks"


def _register(client: Any, key: str, url: str = "https://partner.example/hooks",
              types: list[str] | None = None) -> Any:
    return client.post(HOOKS, headers=bearer(key),
                       json={"url": url, "event_types": types or ["hold.placed"]})


def test_a_partner_registers_lists_changes_and_rotates_an_endpoint(app, client):
    _, key = new_partner(app, "hospital", ["medical_credit"])
    created = _register(client, key, types=["bill.paid", "hold.placed"])
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["status"] == "active"
    assert body["event_types"] == ["bill.paid", "hold.placed"]
    endpoint = body["endpoint_id"]

    listed = client.get(HOOKS, headers=bearer(key)).get_json()["items"]
    assert [e["endpoint_id"] for e in listed] == [endpoint]
    assert "secret" not in listed[0]

    changed = client.patch(f"{HOOKS}/{endpoint}", headers=bearer(key),
                           json={"active": False, "event_types": ["*"]})
    assert changed.status_code == 200
    assert changed.get_json()["status"] == "disabled"
    assert "its partner" in changed.get_json()["disabled_reason"]
    again = client.patch(f"{HOOKS}/{endpoint}", headers=bearer(key), json={"active": True})
    assert again.get_json()["status"] == "active" and again.get_json()["disabled_reason"] is None

    rotated = client.post(f"{HOOKS}/{endpoint}/secret", headers=bearer(key)).get_json()["secret"]
    assert rotated.startswith("whsec_") and rotated != body["secret"]


@pytest.mark.parametrize("url", ["ftp://partner.example/x", "file:///etc/passwd",
                                 "javascript:alert(1)", "https://user:pw@partner.example/",
                                 "partner.example/hooks", "http://:80/", "gopher://x/",
                                 "http://[::1/x", "http://partner.example:99999/",
                                 "https://partner example/", "https://partner.example/\nx"])
def test_only_http_and_https_urls_are_accepted(app, client, url):
    _, key = new_partner(app, "hospital", ["medical_credit"])
    response = _register(client, key, url=url)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_unknown_event_types_are_refused(app, client):
    _, key = new_partner(app, "hospital", ["medical_credit"])
    response = _register(client, key, types=["hold.placed", "resident.score"])
    assert response.status_code == 422


def test_a_partner_cannot_see_or_change_another_partners_endpoint(app, client):
    _, mine = new_partner(app, "hospital", ["medical_credit"])
    _, theirs = new_partner(app, "hospital", ["medical_credit"])
    endpoint = _register(client, mine).get_json()["endpoint_id"]
    for method, path, body in (("get", f"{HOOKS}/{endpoint}", None),
                               ("patch", f"{HOOKS}/{endpoint}", {"active": False}),
                               ("post", f"{HOOKS}/{endpoint}/secret", None)):
        response = getattr(client, method)(path, headers=bearer(theirs), json=body)
        assert response.status_code == 404, (method, path)
    assert client.get(HOOKS, headers=bearer(theirs)).get_json()["items"] == []
    assert client.get(f"{HOOKS}/{uuid.uuid4()}", headers=bearer(mine)).status_code == 404


def test_the_v1a_public_keys_are_published_to_partners(app, client):
    _, key = new_partner(app, "hospital", ["medical_credit"])
    keys = client.get(f"{HOOKS}/keys", headers=bearer(key)).get_json()["keys"]
    assert keys and all(k["public_key"].startswith("whpk_") for k in keys)
    assert {k["jwk"]["crv"] for k in keys} == {"Ed25519"}
    assert client.get(f"{HOOKS}/keys").status_code == 401


def test_operators_read_the_log_and_resend_a_delivery_once_more(app, client, idp):
    credit = Credit(app, client, idp)
    endpoint = _register(client, credit.hospital_key, url="http://127.0.0.1:9/x").get_json()
    held = credit.hold(800)
    _, admin = new_operator(app, "admin")
    _, reviewer = new_operator(app, "reviewer")
    assert client.get("/admin/v1/webhooks/deliveries", headers=bearer(reviewer)
                      ).status_code == 403
    log = client.get("/admin/v1/webhooks/deliveries",
                     query_string={"client_id": credit.hospital.client_id},
                     headers=bearer(admin)).get_json()["items"]
    assert [(d["type"], d["status"]) for d in log] == [("hold.placed", "pending")]
    # The partner's view of its own log; never another's.
    mine = client.get(f"{HOOKS}/deliveries", headers=bearer(credit.hospital_key)).get_json()
    assert [d["delivery_id"] for d in mine["items"]] == [log[0]["delivery_id"]]
    assert client.get(f"{HOOKS}/deliveries", headers=bearer(credit.other_key)
                      ).get_json()["items"] == []

    resent = client.post(f"/admin/v1/webhooks/deliveries/{log[0]['delivery_id']}/resend",
                         headers=bearer(admin))
    assert resent.status_code == 202 and resent.get_json()["webhook_id"] == log[0]["webhook_id"]
    with app.app_context(), runtime().engine.connect() as conn:
        jobs = conn.execute(text("SELECT args, lock FROM procrastinate_jobs "
                                 "WHERE args->>'delivery_id' = :d ORDER BY id"),
                            {"d": log[0]["delivery_id"]}).all()
    assert [a.get("manual", False) for a, _ in jobs] == [False, True]
    assert {lock for _, lock in jobs} == {
        f"webhook:{endpoint['endpoint_id']}:hold:{held['authorization_id']}"}
    assert client.post(f"/admin/v1/webhooks/deliveries/{uuid.uuid4()}/resend",
                       headers=bearer(admin)).status_code == 404

    client.patch(f"{HOOKS}/{endpoint['endpoint_id']}", headers=bearer(credit.hospital_key),
                 json={"active": False})
    refused = client.post(f"/admin/v1/webhooks/deliveries/{log[0]['delivery_id']}/resend",
                          headers=bearer(admin))
    assert refused.status_code == 409


def test_an_endpoint_failing_for_three_days_is_disabled_with_a_notice(app, client, idp):
    """The delivery use case itself, against a receiver that always answers 500, with the
    clock moved on between attempts."""
    credit = Credit(app, client, idp)
    receiver = Receiver(answer=lambda n, h, b: 500)
    try:
        endpoint = _register(client, credit.hospital_key, url=receiver.url,
                             types=["*"]).get_json()
        credit.hold(600)
        credit.hold(700)
        with app.app_context():
            rt = runtime()
            with rt.uow() as uow:
                first, second = uow.session.scalars(select(WebhookDelivery.id).order_by(
                    WebhookDelivery.created_at, WebhookDelivery.id)).all()
            clock = [datetime(2026, 11, 1, tzinfo=UTC)]

            def attempt(delivery_id: uuid.UUID, final: bool = False) -> str:
                return delivery.deliver(rt.uow, rt.keyring, rt.signer, delivery_id,
                                        now=lambda: clock[0], final=final,
                                        allow_private=True).state

            assert attempt(first) == "retry"
            clock[0] += timedelta(days=2, hours=23)
            assert attempt(first) == "retry"  # failing for less than three days
            clock[0] += timedelta(hours=1)
            assert attempt(first, final=True) == "failed"
            with rt.uow() as uow:
                found = uow.session.get(WebhookEndpoint, uuid.UUID(endpoint["endpoint_id"]))
                assert found is not None and found.status == "disabled"
                assert "no 2xx answer since 2026-11-01" in (found.disabled_reason or "")
            # Its other pending delivery is not sent any more.
            sent = len(receiver.requests)
            assert attempt(second) == "failed"
            assert len(receiver.requests) == sent == 3
    finally:
        receiver.close()
    shown = client.get(f"{HOOKS}/{endpoint['endpoint_id']}", headers=bearer(credit.hospital_key))
    assert shown.get_json()["status"] == "disabled"
    assert shown.get_json()["disabled_reason"].startswith("disabled: no 2xx answer")


def test_the_cli_registers_lists_and_switches_endpoints(app):
    partner, _ = new_partner(app, "deposit_partner", ["deposit_waiver_bike"])
    made = cli(app, "webhooks", "register", "--partner", partner.client_id,
               "--url", "https://bikes.example/hooks", "--event", "waiver.defaulted")
    assert made.exit_code == 0, made.output
    endpoint = json.loads(made.output)
    assert endpoint["secret"].startswith("whsec_")
    listed = cli(app, "webhooks", "list", "--partner", partner.client_id)
    assert json.loads(listed.output)["endpoint_id"] == endpoint["endpoint_id"]
    off = cli(app, "webhooks", "disable", endpoint["endpoint_id"])
    assert json.loads(off.output)["disabled_reason"] == "switched off by an operator"
    bad = cli(app, "webhooks", "register", "--partner", partner.client_id, "--url",
              "ftp://x/", "--event", "waiver.defaulted")
    assert bad.exit_code != 0 and "http" in bad.output


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_outside_development_a_delivery_never_reaches_a_non_public_address(host):
    """A partner's URL cannot make the service call into its own network: loopback (by
    address or by a name resolving to it) is refused before connecting."""
    receiver = Receiver()
    try:
        port = receiver.url.split(":")[2].split("/")[0]
        status, error = delivery.post(f"http://{host}:{port}/hooks", {}, b"{}")
        assert status is None and error is not None and "not a public address" in error
        assert receiver.requests == []
        assert delivery.post(f"http://{host}:{port}/hooks", {}, b'{"type": "x"}',
                             allow_private=True) == (200, None)
    finally:
        receiver.close()


def _payloads(app: Any, partner: Any) -> list[dict[str, Any]]:
    """The bodies the partner's endpoints would be sent, oldest event first."""
    with app.app_context(), runtime().uow() as uow:
        rows = uow.session.scalars(select(Event).where(Event.partner_id == partner.id)
                                   .order_by(Event.seq)).all()
        found = uow.session.get(Partner, partner.id)
        assert found is not None
        return [json.loads(delivery.payload(e, runtime().keyring.pseudonym(
            sector(found), e.resident_id) if e.resident_id else None)) for e in rows]


def test_redemptions_and_refunds_are_the_shops_events_without_a_balance(app, client, idp):
    world = PointsWorld(app, client, idp)
    world.give(500)
    redeemed = world.redeem(120, "order-9")
    assert redeemed.status_code == 201, redeemed.get_json()
    redemption = redeemed.get_json()
    assert world.refund(redemption["redemption_id"], "refund-9", 20).status_code == 201
    sent = _payloads(app, world.shop)
    assert [p["type"] for p in sent] == ["points.redeemed", "points.refunded"]
    assert sent[0]["data"] == {"redemption_id": redemption["redemption_id"],
                               "out_order_no": "order-9", "points": 120,
                               "sub": redemption["sub"]}
    assert sent[1]["data"]["points"] == 20 and sent[1]["data"]["out_refund_no"] == "refund-9"
    assert all(p["timestamp"].endswith("Z") for p in sent)
    assert _payloads(app, world.other_shop) == []


def test_a_waivers_events_carry_the_deposit_and_due_date_never_the_cap(app, client, idp):
    credit = Credit(app, client, idp)
    waived = credit.waive(19900, due_at="2026-11-02T08:00:00Z")
    assert waived.status_code == 201, waived.get_json()
    sent = _payloads(app, credit.bikes)
    assert [p["type"] for p in sent] == ["waiver.created"]
    assert sent[0]["data"] == {"waiver_id": waived.get_json()["waiver_id"],
                               "scenario": "deposit_waiver_bike",
                               "out_order_no": waived.get_json()["out_order_no"],
                               "deposit_fen": 19900, "status": "active",
                               "due_at": "2026-11-02T08:00:00Z", "sub": waived.get_json()["sub"]}


def test_an_endpoint_secret_survives_a_master_key_rotation(app, client, config, clock):
    """The secret is sealed under a data key; `keys rotate` re-wraps every data key, so the
    secret still opens under the new master key alone."""
    from app import create_app

    _, key = new_partner(app, "hospital", ["medical_credit"])
    created = _register(client, key).get_json()
    new_master = new_key_text()
    both = create_app({**config, "MASTER_KEY": f"{new_master},{config['MASTER_KEY']}"},
                      clock=clock)
    assert cli(both, "keys", "rotate").exit_code == 0
    both.extensions["pengcheng"].engine.dispose()
    only_new = create_app({**config, "MASTER_KEY": new_master}, clock=clock)
    try:
        with only_new.app_context(), runtime().uow() as uow:
            found = uow.session.get(WebhookEndpoint, uuid.UUID(created["endpoint_id"]))
            assert found is not None
            assert endpoints.secret_of(uow.session, runtime().keyring, found) == created["secret"]
    finally:
        only_new.extensions["pengcheng"].engine.dispose()
