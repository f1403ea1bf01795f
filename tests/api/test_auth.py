"""Resident identity: IdP assertions, sessions, encryption at rest, key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

from app.runtime import runtime
from core.crypto import CryptoError
from core.identity import Resident, SessionToken, find_resident, read_personal
from core.records import Record
from tests.conftest import T0
from tests.support.factories import bearer, cli, id_number, login, new_source


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _session(client, assertion):
    return client.post("/api/v1/auth/session", json={"assertion": assertion})


def _rejected(response, status=401, code="unauthorized"):
    assert response.status_code == status, response.get_json()
    assert response.get_json()["code"] == code
    assert "token" not in response.get_json()
    return response.get_json()


# -- login -----------------------------------------------------------------------------------

def test_first_login_creates_the_resident_and_the_second_finds_the_same(client, idp, uow):
    first = _session(client, idp.assertion(id_number(1), "王五"))
    second = _session(client, idp.assertion(id_number(1).lower(), "王五"))
    assert first.status_code == second.status_code == 201
    assert first.get_json()["resident_id"] == second.get_json()["resident_id"]
    assert first.get_json()["token"] != second.get_json()["token"]
    assert uow.session.scalar(select(Resident.id).where(Resident.id.is_not(None))) is not None
    assert len(uow.session.scalars(select(Resident)).all()) == 1


def test_records_pushed_before_first_login_belong_to_the_resident_after_it(app, client, idp, uow):
    _src, key = new_source(app, ["utilities"])
    batch = {"records": [{"source_record_id": f"r{i}", "id_number": id_number(7),
                          "category": "utilities", "type": "payment_on_time",
                          "occurred_at": "2026-10-01T00:00:00Z"} for i in range(3)]}
    assert client.post("/ingest/v1/records", json=batch, headers=bearer(key)).status_code == 200
    assert uow.session.scalars(select(Record.resident_id)).all() == [None, None, None]
    resident_id = _session(client, idp.assertion(id_number(7))).get_json()["resident_id"]
    uow.session.expire_all()
    owners = {str(r) for r in uow.session.scalars(select(Record.resident_id))}
    assert owners == {resident_id}


def test_an_assertion_signed_by_another_key_is_rejected(client, idp):
    forged = jwt.decode(idp.assertion(id_number(1)), options={"verify_signature": False})
    token = jwt.encode(forged, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                       headers={"kid": "idp-1"})
    _rejected(_session(client, token))


def test_an_assertion_with_an_unknown_kid_is_rejected(client, idp):
    claims = jwt.decode(idp.assertion(id_number(1)), options={"verify_signature": False})
    token = jwt.encode(claims, idp.key, algorithm="EdDSA", headers={"kid": "idp-2"})
    _rejected(_session(client, token))


def test_an_unsigned_alg_none_assertion_is_rejected(client, idp):
    claims = jwt.decode(idp.assertion(id_number(1)), options={"verify_signature": False})
    header = _b64(json.dumps({"alg": "none", "kid": "idp-1", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    _rejected(_session(client, f"{header}.{body}."))


def test_an_hs256_assertion_keyed_with_the_public_key_is_rejected(client, idp):
    claims = jwt.decode(idp.assertion(id_number(1)), options={"verify_signature": False})
    header = _b64(json.dumps({"alg": "HS256", "kid": "idp-1", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    for secret in (idp.jwks["keys"][0]["x"].encode(), json.dumps(idp.jwks["keys"][0]).encode()):
        sig = _b64(hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest())
        _rejected(_session(client, f"{header}.{body}.{sig}"))


def test_an_expired_assertion_is_rejected(client, idp):
    _rejected(_session(client, idp.assertion(id_number(1), now=T0 - timedelta(minutes=10))))


def test_a_not_yet_valid_assertion_is_rejected(client, idp):
    nbf = int((T0 + timedelta(minutes=5)).timestamp())
    _rejected(_session(client, idp.assertion(id_number(1), nbf=nbf)))


@pytest.mark.parametrize("claim,value", [
    ("aud", "someone-else"), ("iss", "https://evil.example"), ("id_number", "bad-checksum"),
    ("id_number", None), ("id_number", "44030519900231001X"), ("name", ""), ("name", 5),
    ("exp", "soon"), ("nbf", "later"),
])
def test_an_assertion_with_a_wrong_claim_is_rejected(client, idp, claim, value):
    good = id_number(1)
    if value == "bad-checksum":
        value = good[:17] + ("0" if good[17] != "0" else "1")
    claims = {"name": "张三", claim: value}
    number = claims.pop("id_number", good)
    _rejected(_session(client, idp.assertion(number, claims.pop("name"), **claims)))


def test_an_assertion_missing_a_required_claim_is_rejected(client, idp):
    claims = jwt.decode(idp.assertion(id_number(1)), options={"verify_signature": False})
    del claims["sub"]
    _rejected(_session(client, jwt.encode(claims, idp.key, algorithm="EdDSA",
                                          headers={"kid": "idp-1"})))


def test_an_oversized_assertion_is_rejected(client, idp):
    huge = idp.assertion(id_number(1), pad="x" * 9000)
    response = _session(client, huge)
    assert response.status_code in (401, 422)
    assert "token" not in response.get_json()


def test_garbage_assertions_are_401_not_500(client):
    for junk in ("x", "a.b.c", "....", "eyJhbGciOiJFZERTQSJ9.e30.", "\u4e2d.\u6587.x"):
        _rejected(_session(client, junk))


def test_logout_kills_the_token(client, idp):
    token = login(client, idp)
    assert client.delete("/api/v1/auth/session", headers=bearer(token)).status_code == 204
    _rejected(client.get("/api/v1/me", headers=bearer(token)))
    _rejected(client.delete("/api/v1/auth/session", headers=bearer(token)))


def test_an_expired_session_is_401(app, client, idp, clock):
    token = login(client, idp)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    clock.advance(seconds=app.config["SESSION_TTL_SECONDS"] + 1)
    _rejected(client.get("/api/v1/me", headers=bearer(token)))


def test_session_tokens_are_stored_hashed(client, idp, uow):
    token = login(client, idp)
    stored = uow.session.scalars(select(SessionToken.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


def test_a_login_rate_limit_answers_429_with_retry_after(app, client, idp):
    app.config["RATE_LIMIT_LOGIN"] = "2/60"
    for _ in range(2):
        assert _session(client, idp.assertion(id_number(1))).status_code == 201
    response = _session(client, idp.assertion(id_number(1)))
    _rejected(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1


# -- personal data at rest -------------------------------------------------------------------

def _raw_rows(uow) -> bytes:
    out = b""
    for table in ("residents", "data_keys", "sessions", "audit_log", "records"):
        for row in uow.session.execute(text(f"SELECT * FROM {table}")):
            for value in row:
                out += value if isinstance(value, bytes | memoryview) else str(value).encode()
    return bytes(out)


def test_personal_fields_are_encrypted_at_rest(app, client, idp, uow):
    number = id_number(3)
    assertion = idp.assertion(number, "欧阳明月", phone_number="13912345678")
    assert _session(client, assertion).status_code == 201
    raw = _raw_rows(uow)
    for plain in ("欧阳明月", number, "13912345678", number[6:14]):
        assert plain.encode() not in raw
    person = read_personal(uow.session, runtime().keyring, uow.session.scalars(
        select(Resident)).one())
    assert (person.name, person.id_number, person.phone) == ("欧阳明月", number, "13912345678")


def test_a_ciphertext_moved_to_another_row_or_column_does_not_decrypt(client, idp, uow):
    login(client, idp, 1, "甲")
    login(client, idp, 2, "乙")
    a, b = uow.session.scalars(select(Resident).order_by(Resident.created_at)).all()
    keyring = runtime().keyring
    with pytest.raises(CryptoError):
        keyring.decrypt(uow.session, a.name_ct, f"residents:name:{b.id}")
    with pytest.raises(CryptoError):
        keyring.decrypt(uow.session, a.name_ct, f"residents:id_number:{a.id}")
    a.phone_ct = a.name_ct
    with pytest.raises(CryptoError):
        read_personal(uow.session, keyring, a)
    b.data_key_id, b.name_ct = a.data_key_id, a.name_ct
    with pytest.raises(CryptoError):
        read_personal(uow.session, keyring, b)
    tampered = bytearray(a.id_number_ct)
    tampered[-1] ^= 1
    with pytest.raises(CryptoError):
        keyring.decrypt(uow.session, bytes(tampered), f"residents:id_number:{a.id}")
    uow.session.rollback()


def test_the_blind_index_finds_a_resident_by_id_number(client, idp, uow):
    number = make_x_number()
    assert _session(client, idp.assertion(number)).status_code == 201
    found = find_resident(uow.session, runtime().keyring, number.lower())
    assert found is not None
    assert find_resident(uow.session, runtime().keyring, id_number(99)) is None
    assert number not in found.id_index and len(found.id_index) == 64


def make_x_number() -> str:
    """An ID number whose check character is X (exercises normalization)."""
    from datetime import date

    from core.idnumber import make

    for seq in range(1000):
        value = make("440305", date(1988, 2, 29), seq)
        if value.endswith("X"):
            return value
    raise AssertionError("no X check digit found")


def published(client) -> set[str]:
    """The kids of every published key: tokens, receipts, reports, audit checkpoints."""
    return {k["kid"] for name in ("jwks", "receipt-keys", "report-keys", "audit-keys")
            for k in client.get(f"/.well-known/{name}.json").get_json()["keys"]}


def test_keys_rotate_reencrypts_and_publishes_old_and_new_keys(app, client, idp, uow):
    token = login(client, idp, 5, "赵六")
    before = {r.id: (r.name_ct, r.id_number_ct, r.data_key_id)
              for r in uow.session.scalars(select(Resident))}
    jwks_before = published(client)
    result = cli(app, "keys", "rotate")
    assert result.exit_code == 0, result.output
    uow.session.expire_all()
    after = {r.id: r for r in uow.session.scalars(select(Resident))}
    for rid, (name_ct, id_ct, key_id) in before.items():
        assert after[rid].name_ct != name_ct and after[rid].id_number_ct != id_ct
        assert after[rid].data_key_id != key_id
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["name"] == "赵六"
    jwks_after = published(client)
    assert jwks_before < jwks_after  # the old keys stay published, new next keys are added
    assert len(jwks_after) == len(jwks_before) + 4


def test_a_master_key_rotation_keeps_everything_readable_under_the_new_key_alone(
        app, client, idp, config, clock, tmp_path, monkeypatch):
    from app import create_app
    from core.crypto import new_key_text
    from core.signing import SigningKey

    login(client, idp, 8, "钱七")
    new_master = new_key_text()
    both = create_app({**config, "MASTER_KEY": f"{new_master},{config['MASTER_KEY']}"},
                      clock=clock)
    assert cli(both, "keys", "rotate").exit_code == 0
    both.extensions["pengcheng"].engine.dispose()
    only_new = create_app({**config, "MASTER_KEY": new_master}, clock=clock)
    try:
        with only_new.app_context(), runtime().uow() as u:
            resident = u.session.scalars(select(Resident)).one()
            assert read_personal(u.session, runtime().keyring, resident).name == "钱七"
            for purpose in ("token", "receipt", "audit", "report"):
                kid, _private = runtime().signer.active(u.session, purpose)
                assert u.session.get(SigningKey, kid).master_kid == runtime().keyring.current_kid
        assert cli(only_new, "audit", "checkpoint").exit_code == 0
    finally:
        only_new.extensions["pengcheng"].engine.dispose()
