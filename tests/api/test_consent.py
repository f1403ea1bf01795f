"""Residents grant and withdraw consent through the API, with signed receipts."""

import jwt
import pytest
from jwt import PyJWK

from core.registry import CORE
from tests.support.consent import counts, give, notice
from tests.support.factories import bearer, login, new_operator


def test_notices_list_every_purpose_in_chinese_by_default_and_english_on_request(client):
    zh = client.get("/api/v1/notices").get_json()
    purposes = [n["purpose"] for n in zh]
    assert purposes[0] == "scoring" and len(purposes) == 12
    assert "scenario:medical_credit" in purposes
    first = zh[0]
    for key in ("id", "purpose", "version", "text", "categories", "requires_separate_consent",
                "hash", "recipients", "retention", "text_zh", "text_en", "language"):
        assert key in first
    assert first["language"] == "zh" and first["text"] == first["text_zh"]
    en = client.get("/api/v1/notices?language=en").get_json()[0]
    assert en["text"] == en["text_en"] and en["hash"] == first["hash"]


def test_granting_scoring_for_some_categories_returns_a_verifiable_receipt(client, idp):
    token = login(client, idp, 1)
    response = give(client, token, categories=["tax", "utilities"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    chosen = sorted(CORE | {"utilities"})  # the core comes with scoring
    assert body["event"] == "given" and body["categories"] == chosen

    header = jwt.get_unverified_header(body["receipt"])
    assert header["alg"] == "EdDSA" and header["typ"] == "pc-consent-receipt+jwt"
    jwks = client.get("/.well-known/receipt-keys.json").get_json()["keys"]
    key = PyJWK(next(k for k in jwks if k["kid"] == header["kid"]))
    claims = jwt.decode(body["receipt"], key, algorithms=["EdDSA"])
    assert claims["consent_id"] == body["consent_id"]
    assert claims["jurisdiction"] == "CN-GD-SZ"
    assert claims["purpose"] == "scoring" and claims["event"] == "given"
    assert claims["categories"] == chosen
    assert claims["notice"]["hash"] == notice(client, "scoring")["hash"]
    assert claims["services"][0]["purposes"][0]["piiCategory"] == chosen
    assert "张三" not in str(claims) and claims["subject"] == claims["piiPrincipalId"]

    verdict = client.post("/api/v1/receipts/verify", json={"receipt": body["receipt"]})
    assert verdict.get_json()["valid"] is True and verdict.get_json()["recorded"] is True


def test_a_tampered_or_foreign_receipt_does_not_verify(client, idp):
    token = login(client, idp, 1)
    receipt = give(client, token, categories=["tax"]).get_json()["receipt"]
    head, body, sig = receipt.split(".")
    forged = ".".join([head, body[:-4] + ("AAAA" if body[-4:] != "AAAA" else "BBBB"), sig])
    assert client.post("/api/v1/receipts/verify",
                       json={"receipt": forged}).get_json()["valid"] is False
    assert client.post("/api/v1/receipts/verify",
                       json={"receipt": "not-a-jws"}).get_json()["reason"] == "malformed"


def test_a_second_identical_grant_returns_the_same_record_and_receipt(app, client, idp):
    token = login(client, idp, 1)
    first = give(client, token, categories=["utilities", "tax"]).get_json()
    before = counts(app)
    again = give(client, token, categories=["tax", "utilities"])
    assert again.status_code == 200
    assert again.get_json()["consent_id"] == first["consent_id"]
    assert again.get_json()["receipt"] == first["receipt"]
    assert counts(app) == before


def test_changing_the_chosen_categories_replaces_the_consent(client, idp):
    token = login(client, idp, 1)
    first = give(client, token, categories=["tax"]).get_json()
    second = give(client, token, categories=["tax", "traffic"]).get_json()
    assert second["consent_id"] != first["consent_id"] and second["event"] == "renewed"
    items = client.get("/api/v1/me/consents", headers=bearer(token)).get_json()["items"]
    assert {i["consent_id"]: i["status"] for i in items} == {
        first["consent_id"]: "withdrawn", second["consent_id"]: "active"}


@pytest.mark.parametrize("purpose, body, status, code", [
    ("scoring", {"categories": ["tax", "religion"]}, 422, "categories_invalid"),
    ("scenario:medical_credit", {}, 422, "separate_consent_required"),
    ("scenario:deposit_waiver_bike", {"separate_consent": False}, 422,
     "separate_consent_required"),
    ("scenario:points_redemption", {"categories": ["tax"], "separate_consent": True}, 422,
     "categories_invalid"),
])
def test_bad_grants_are_clear_problems_and_write_nothing(app, client, idp, purpose, body, status,
                                                         code):
    token = login(client, idp, 1)
    before = counts(app)
    response = give(client, token, purpose, **body)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == code and response.get_json()["detail_zh"]
    assert counts(app) == before


def test_an_unknown_notice_is_not_found(app, client, idp):
    token = login(client, idp, 1)
    before = counts(app)
    response = client.post("/api/v1/me/consents", headers=bearer(token),
                           json={"notice_id": "00000000-0000-4000-8000-000000000000"})
    assert response.status_code == 404 and response.get_json()["code"] == "notice_not_found"
    assert counts(app) == before


def test_sensitive_consent_is_recorded_with_the_separate_acknowledgement(client, idp):
    token = login(client, idp, 1)
    response = give(client, token, "scenario:medical_credit", separate_consent=True)
    assert response.status_code == 201
    claims = jwt.decode(response.get_json()["receipt"], options={"verify_signature": False})
    assert claims["sensitive"] is True


def test_withdrawal_returns_a_receipt_and_takes_effect_at_once(client, idp):
    token = login(client, idp, 1)
    given = give(client, token, categories=["tax"]).get_json()
    response = client.post(f"/api/v1/me/consents/{given['consent_id']}/withdraw",
                           headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["consent_id"] == given["consent_id"] and body["status"] == "withdrawn"
    claims = jwt.decode(body["receipt"], options={"verify_signature": False})
    assert claims["event"] == "withdrawn"
    assert client.post("/api/v1/receipts/verify",
                       json={"receipt": body["receipt"]}).get_json()["valid"] is True
    receipt = client.get(f"/api/v1/me/consents/{given['consent_id']}/receipt",
                         headers=bearer(token)).get_json()
    assert receipt["receipt"] == body["receipt"] and receipt["event"] == "withdrawn"
    assert [r["event"] for r in receipt["receipts"]] == ["given", "withdrawn"]
    # nothing unrelated is refused
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_withdrawing_twice_or_someone_elses_consent_is_refused_without_writing(app, client, idp):
    mine, theirs = login(client, idp, 1), login(client, idp, 2, "李四")
    given = give(client, mine, categories=["tax"]).get_json()
    url = f"/api/v1/me/consents/{given['consent_id']}/withdraw"
    before = counts(app)
    other = client.post(url, headers=bearer(theirs))
    assert other.status_code == 404 and other.get_json()["code"] == "consent_not_found"
    assert counts(app) == before
    assert client.post(url, headers=bearer(mine)).status_code == 200
    before = counts(app)
    twice = client.post(url, headers=bearer(mine))
    assert twice.status_code == 409 and twice.get_json()["code"] == "consent_not_active"
    assert counts(app) == before


def test_the_history_lists_every_event_with_the_notice_hash_shown(client, idp):
    token = login(client, idp, 1)
    given = give(client, token, categories=["tax"], language="en", channel="miniprogram")
    cid = given.get_json()["consent_id"]
    client.post(f"/api/v1/me/consents/{cid}/withdraw", headers=bearer(token))
    items = client.get("/api/v1/me/consent-history", headers=bearer(token)).get_json()["items"]
    assert [i["event"] for i in items] == ["given", "withdrawn"]
    assert items[0]["language"] == "en" and items[0]["channel"] == "miniprogram"
    assert items[0]["notice_hash"] == notice(client, "scoring")["hash"]
    detail = client.get(f"/api/v1/me/consents/{cid}", headers=bearer(token)).get_json()
    assert detail["status"] == "withdrawn" and len(detail["events"]) == 2


def test_auditors_export_consent_history_as_json_and_csv_with_the_notice_text(app, client, idp):
    token = login(client, idp, 1)
    cid = give(client, token, categories=["tax"]).get_json()["consent_id"]
    client.post(f"/api/v1/me/consents/{cid}/withdraw", headers=bearer(token))
    resident_id = client.get("/api/v1/me", headers=bearer(token)).get_json()["id"]
    _op, key = new_operator(app, "auditor")

    data = client.get(f"/admin/v1/residents/{resident_id}/consents",
                      headers=bearer(key)).get_json()
    assert [e["event"] for e in data["events"]] == ["given", "withdrawn"]
    shown = data["notices"][data["events"][0]["notice_id"]]
    from consent.notices import notice_hash, text_hash

    assert notice_hash(shown) == shown["hash"] == data["events"][0]["notice_hash"]
    assert text_hash(shown["text_zh"]) == data["events"][0]["text_sha256"]
    # the resident sees that an auditor read their consent history (查询记录)
    log = client.get("/api/v1/me/access-log", headers=bearer(token)).get_json()["items"]
    assert [(e["actor"]["kind"], e["action"]) for e in log] == [
        ("operator", "consent_history_read")]

    csv = client.get("/admin/v1/consents/export?format=csv", headers=bearer(key))
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("seq,event_id,consent_id") and len(lines) == 3

    _admin, admin_key = new_operator(app, "admin")
    assert client.get("/admin/v1/consents/export", headers=bearer(admin_key)).status_code == 403
    assert client.get("/admin/v1/consents/export", headers=bearer(token)).status_code == 401
