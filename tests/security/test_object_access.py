"""Object-level authorization: nobody reaches another's objects by knowing (or guessing) an id.

Resident B calls every resident operation that names an object with resident A's ids; a second
partner of the same kind calls every partner operation with the first partner's ids. Both are
refused with 404 (no existence leak) or 403, nothing changes, and the owner's own call with the
same ids is not a 404 (so the ids are real). Generic over /openapi.json.
"""

from __future__ import annotations

from typing import Any

from tests.security.actors import operations, partner_kind, scheme_of
from tests.security.estate import Estate, fingerprint, ok
from tests.security.openapi import path_params, request_for
from tests.support.factories import bearer, id_number, new_source
from tests.support.tokens import introspect

PROBLEM = "application/problem+json"
# Objects a partner owns. A bill is paid through any payment channel (the channel is the
# resident's choice of how to pay, not the bill's owner), so bill ids are not in this set.
PARTNER_OWNED = {"authorization_id", "waiver_id", "redemption_id"}


def naming_objects(document: dict, scheme: str) -> list[tuple[str, str, dict]]:
    return [(m, p, op) for m, p, op in operations(document)
            if scheme_of(op) == scheme and path_params(op)]


def refused(response: Any, what: str) -> None:
    assert response.status_code in (403, 404), (what, response.status_code,
                                                response.get_data(as_text=True)[:300])
    assert response.mimetype == PROBLEM, what


def test_a_resident_cannot_reach_another_residents_objects(estate: Estate,
                                                           document: dict) -> None:
    targets = naming_objects(document, "residentSession")
    unknown = {p for _m, _p, op in targets for p in path_params(op)} - set(estate.ids)
    assert not unknown, f"no object of resident A for path parameters {unknown} (add to Estate)"
    before = fingerprint(estate.app)
    for method, path, op in targets:
        kwargs = request_for(document, method, path, op, estate.ids)
        refused(estate.client.open(headers=bearer(estate.resident_b), **kwargs),
                f"{method} {path} as resident B")
    assert fingerprint(estate.app) == before
    for method, path, op in sorted(targets, key=lambda t: t[0] != "GET"):
        response = estate.client.open(headers=bearer(estate.resident),
                                      **request_for(document, method, path, op, estate.ids))
        assert response.status_code != 404, (method, path, response.get_json())


def test_a_partner_cannot_act_on_another_partners_objects(estate: Estate,
                                                          document: dict) -> None:
    targets = [(m, p, op) for m, p, op in naming_objects(document, "partnerKey")
               if set(path_params(op)) & PARTNER_OWNED]
    assert len(targets) >= 6, "partner operations on authorizations, waivers, redemptions"
    before = fingerprint(estate.app)
    for method, path, op in targets:
        kind = partner_kind(path) or "hospital"
        kwargs = request_for(document, method, path, op, estate.ids)
        refused(estate.client.open(headers=bearer(estate.intruders[kind][1]), **kwargs),
                f"{method} {path} as another {kind}")
    assert fingerprint(estate.app) == before
    for method, path, op in sorted(targets, key=lambda t: t[0] != "GET"):
        kind = partner_kind(path) or "hospital"
        response = estate.client.open(headers=bearer(estate.partner_key(kind)),
                                      **request_for(document, method, path, op, estate.ids))
        assert response.status_code != 404, (method, path, response.get_json())


def test_a_partner_learns_nothing_from_a_token_addressed_to_another(estate: Estate) -> None:
    token = estate.token("medical_credit", "hospital")
    other_key = estate.intruders["hospital"][1]
    assert ok(introspect(estate.client, other_key, token)) == {"active": False}
    response = estate.client.post("/partner/v1/medical-credit/authorizations",
                                  headers=bearer(other_key), json={
                                      "token": token, "out_request_no": "steal-1",
                                      "amount_fen": 10000})
    assert 400 <= response.status_code < 500 and response.mimetype == PROBLEM
    # The refused attempt did not use the token up: its addressee still can.
    assert ok(introspect(estate.client, estate.partner_key("hospital"), token))["active"]
    response = estate.client.post("/partner/v1/medical-credit/authorizations",
                                  headers=bearer(estate.partner_key("hospital")), json={
                                      "token": token, "out_request_no": "mine-1",
                                      "amount_fen": 10000})
    assert response.status_code == 201, response.get_json()


def test_a_partner_of_another_kind_cannot_use_a_token_for_a_scenario_it_does_not_serve(
        estate: Estate) -> None:
    token = estate.token("deposit_waiver_bike", "deposit_partner")
    response = estate.client.post("/partner/v1/medical-credit/authorizations",
                                  headers=bearer(estate.partner_key("hospital")), json={
                                      "token": token, "out_request_no": "x-1",
                                      "amount_fen": 100})
    assert 400 <= response.status_code < 500 and response.mimetype == PROBLEM
    assert ok(introspect(estate.client, estate.partner_key("deposit_partner"), token))["active"]


def test_a_data_source_cannot_push_categories_it_was_not_granted(estate: Estate) -> None:
    _source, key = new_source(estate.app, ["utilities"])
    before = len(ok(estate.client.get("/api/v1/me/records",
                                      headers=bearer(estate.resident)))["items"])
    record = {"source_record_id": "sneak-1", "id_number": id_number(7),
              "category": "judicial", "type": "dishonest_debtor",
              "occurred_at": "2026-10-01T00:00:00Z"}
    result = ok(estate.client.post("/ingest/v1/records", headers=bearer(key),
                                   json={"records": [record]}))
    assert result["accepted"] == 0 and [r["index"] for r in result["rejected"]] == [0]
    after = ok(estate.client.get("/api/v1/me/records", headers=bearer(estate.resident)))
    assert len(after["items"]) == before
    granted = {**record, "source_record_id": "ok-1", "category": "utilities",
               "type": "payment_on_time"}
    assert ok(estate.client.post("/ingest/v1/records", headers=bearer(key),
                                 json={"records": [granted]}))["accepted"] == 1


def test_a_residents_own_views_never_show_another_residents_objects(
        estate: Estate, document: dict) -> None:
    views = [(m, p, op) for m, p, op in operations(document)
             if m == "GET" and scheme_of(op) == "residentSession" and not path_params(op)]
    assert len(views) >= 10
    for method, path, op in views:
        response = estate.client.open(headers=bearer(estate.resident_b),
                                      **request_for(document, method, path, op))
        text = response.get_data(as_text=True)
        leaked = {name for name, value in estate.ids.items() if value in text}
        assert not leaked, (path, leaked)
        assert "王五" not in text, path


def test_a_resident_cannot_name_another_residents_objects_in_a_request_body(
        estate: Estate, document: dict) -> None:
    targets = [(m, p, op) for m, p, op in operations(document)
               if scheme_of(op) == "residentSession" and m in ("POST", "PUT", "PATCH")
               and set(body_fields(document, op)) & set(estate.ids)]
    assert targets, "no resident operation takes an object id in its body"
    before = fingerprint(estate.app)
    for method, path, op in targets:
        kwargs = request_for(document, method, path, op, estate.ids)
        kwargs["json"] = {**kwargs["json"], **{k: estate.ids[k] for k in
                                               body_fields(document, op) if k in estate.ids}}
        refused(estate.client.open(headers=bearer(estate.resident_b), **kwargs),
                f"{method} {path} as resident B naming A's objects")
    assert fingerprint(estate.app) == before


def test_a_partners_statement_shows_only_its_own_redemptions(estate: Estate) -> None:
    period = {"from": "2026-10-01T00:00:00+00:00", "to": "2026-12-01T00:00:00+00:00"}
    own = estate.client.get("/partner/v1/points/statement", query_string=period,
                            headers=bearer(estate.partner_key("merchant")))
    other = estate.client.get("/partner/v1/points/statement", query_string=period,
                              headers=bearer(estate.intruders["merchant"][1]))
    assert estate.ids["redemption_id"] in str(ok(own))
    assert estate.ids["redemption_id"] not in str(ok(other))


def body_fields(document: dict, op: dict) -> list[str]:
    from tests.security.openapi import resolve

    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    return list(resolve(document, schema.get("schema", {})).get("properties", {}))
