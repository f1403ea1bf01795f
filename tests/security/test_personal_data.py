"""Personal data stays out of logs and out of the database in plaintext.

A full flow (login, ingest, consent, score, token, introspection, hold and bill, deposit waiver,
points redemption, dispute, report, export, access log, a few refused requests) runs with every
logger at DEBUG — SQLAlchemy then logs every statement, parameter and row. Neither the log nor
the database (every column of every table, and `pg_dump`) may contain a
resident's name, ID number (or anything shaped like a valid one) or phone number.
"""

from __future__ import annotations

import logging
import re
import subprocess
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select

from core import embedded
from core.idnumber import is_valid
from rewards.tokens import CODE_PREFIX
from tests.security.estate import Estate, ok
from tests.support.factories import bearer, id_number

PHONE = "13912345678"
# Standing alone, not inside a longer hex or base64 run: 18 digits in a row turn up by chance in
# the audit log's SHA-256 hex and in ciphertext encodings (about once in a few hundred runs).
ID_SHAPED = re.compile(r"(?<![0-9A-Za-z_-])[1-9]\d{16}[\dXx](?![0-9A-Za-z_-])")
# A token's one-time code (`rewards.tokens.CODE_PREFIX` + 16 random digits) is 18 digits too and
# passes the checksum and date test about once in a few hundred; no ID number starts with 28
# (no province has that code), so a value with the codes' prefix is a code, not an ID number.


def secrets_of(numbers: dict[int, str]) -> list[str]:
    """Every spelling under which a name, ID number or phone could leak."""
    out = [PHONE]
    for n, name in numbers.items():
        out += [id_number(n), name, name.encode("unicode_escape").decode(),
                name.encode().hex(), repr(name.encode())[2:-1]]
    return out


def assert_clean(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} found in {where}"
        assert secret.lower() not in text.lower(), f"{secret!r} found in {where}"
    shaped = [m for m in ID_SHAPED.findall(text)
              if is_valid(m.upper()) and not m.startswith(CODE_PREFIX)]
    assert not shaped, f"ID-number-shaped values in {where}: {shaped[:3]}"


def full_flow(app: Any, client: Any, idp: Any) -> tuple[Estate, list[str]]:
    """Resident A (王五, with a phone) and B (赵六) through every kind of request."""
    first = client.post("/api/v1/auth/session", json={
        "assertion": idp.assertion(id_number(7), "王五", phone_number=PHONE)})
    assert first.status_code == 201, first.get_json()
    estate = Estate(app, client, idp)  # ingest, consents, score, tokens, holds, bill, waiver…
    me = bearer(estate.resident)
    profile = ok(client.get("/api/v1/me", headers=me))
    # Stored (the searches below can find a leak) and masked even in its owner's profile view.
    assert profile["name"] == "王五", profile
    assert profile["phone_masked"] == PHONE[:3] + "****" + PHONE[-4:], profile
    assert PHONE not in str(profile)
    token = estate.token("medical_credit", "hospital")
    ok(client.post("/partner/v1/tokens/introspect",
                   headers=bearer(estate.partner_key("hospital")), json={"token": token}))
    for path in ("/api/v1/me/score", "/api/v1/me/export", "/api/v1/me/access-log",
                 "/api/v1/me/medical-credit", "/api/v1/me/points", "/api/v1/me/disputes",
                 f"/api/v1/me/reports/{estate.ids['report_id']}/html",
                 f"/api/v1/me/reports/{estate.ids['report_id']}/pdf"):
        ok(client.get(path, headers=me))
    # Refused and invalid requests log too: they must not echo what they were sent.
    client.post("/ingest/v1/records", headers=bearer(estate.source_key), json={"records": [
        {"source_record_id": "bad-1", "id_number": id_number(7)[:-1] + "0",
         "category": "tax", "type": "filed_on_time", "occurred_at": "2026-10-01T00:00:00Z"},
        {"source_record_id": "bad-2", "id_number": id_number(7), "category": "religion",
         "type": "x", "occurred_at": "2026-10-01T00:00:00Z"}]})
    client.post("/api/v1/auth/session", json={"assertion": idp.assertion(
        id_number(7), "王五", phone_number=PHONE, aud="someone-else")})
    client.get("/api/v1/me", headers=bearer("rs_forged"))
    return estate, secrets_of({7: "王五", 8: "赵六"})


def test_logs_hold_no_personal_data(app: Any, client: Any, idp: Any,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("werkzeug", "sqlalchemy.engine", "app", "core"):
        caplog.set_level(logging.DEBUG, logger=name)
    _estate, secrets = full_flow(app, client, idp)
    text = "\n".join([caplog.text] + [repr(r.args) for r in caplog.records])
    assert "SELECT" in text and len(caplog.records) > 1000, "the flow was not logged at DEBUG"
    assert_clean(text, secrets, "the log")


def table_text(url: str) -> str:
    """Every value of every column of every table, as text (bytes both decoded and as hex)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    meta = MetaData()
    meta.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        raw = bytes(value)
                        parts += [raw.hex(), raw.decode("utf-8", "replace")]
                    else:
                        parts.append(str(value))
    engine.dispose()
    return "\n".join(parts)


def test_the_database_holds_no_plaintext_names_id_numbers_or_phones(
        app: Any, client: Any, idp: Any, database_url: str) -> None:
    estate, secrets = full_flow(app, client, idp)
    text = table_text(database_url)
    assert estate.ids["report_id"] in text, "the flow's rows were not read"
    assert_clean(text, secrets, "the database")


@pytest.mark.services
def test_a_postgresql_dump_holds_no_plaintext_names_id_numbers_or_phones(
        app: Any, client: Any, idp: Any, pg_url: str) -> None:
    # The embedded PostgreSQL's own pg_dump (18): it dumps that server and any older one.
    pg_dump = str(embedded.binaries() / "pg_dump")
    estate, secrets = full_flow(app, client, idp)
    dump = subprocess.run([pg_dump, "--no-owner", "--data-only", pg_url], check=True,
                          capture_output=True, text=True, timeout=120).stdout
    assert estate.ids["report_id"] in dump and "audit" in dump
    assert_clean(dump, secrets, "pg_dump")
