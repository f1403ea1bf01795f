"""Issue 19, item 5: audit checkpoints that cannot be bypassed.

The attacks are made as someone with write access to the database would make them (the
insert-only triggers switched off for the transaction), and `pengcheng audit verify` is asked
afterwards, with and without the checkpoints exported before the attack (the file
`pengcheng audit export-checkpoints` writes, kept outside the database).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.runtime import runtime
from core import audit
from tests.support.factories import bearer, cli, new_operator

INTERVAL_AND_MARGIN = 60 + 30  # AUDIT_CHECKPOINT_MINUTES + AUDIT_CHECKPOINT_MARGIN_MINUTES


def append(app: Any, n: int, start: int = 0) -> None:
    with app.app_context(), runtime().uow() as uow:
        for i in range(start, start + n):
            audit.record(uow.session, actor="test", action="thing.done", subject=f"s{i}",
                         now=runtime().clock.now(), data={"i": i})
        uow.commit()


@contextmanager
def tampering(app: Any) -> Iterator[Connection]:
    """A transaction with the insert-only triggers off (as an attacker with DDL rights would)."""
    with app.app_context(), runtime().uow() as uow:
        conn = uow.session.connection()
        for table in ("audit_log", "audit_checkpoints"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield conn
        for table in ("audit_log", "audit_checkpoints"):
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        uow.commit()


def rehash_from(conn: Connection, seq: int) -> None:
    """Recompute every link from `seq` on, so the chain is consistent again after an edit."""
    prev = conn.execute(text("SELECT entry_hash FROM audit_log WHERE seq = :s"),
                        {"s": seq - 1}).scalar() or audit.GENESIS
    rows = conn.execute(text("SELECT seq, at, actor, action, subject, data FROM audit_log "
                             "WHERE seq >= :s ORDER BY seq"), {"s": seq}).all()
    conn.execute(text("UPDATE audit_log SET entry_hash = 'parked-' || seq WHERE seq >= :s"),
                 {"s": seq})
    for row in rows:
        new = audit._hash(prev, row.seq, row.at, row.actor, row.action, row.subject, row.data)
        conn.execute(text("UPDATE audit_log SET prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                     {"p": prev, "h": new, "s": row.seq})
        prev = new


def checkpoint(app: Any) -> int:
    result = cli(app, "audit", "checkpoint")
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["seq"])


def export(app: Any, path: Path) -> Path:
    """What an operator keeps outside the database: `audit export-checkpoints > FILE`."""
    result = cli(app, "audit", "export-checkpoints")
    assert result.exit_code == 0, result.output
    path.write_text(result.stdout, "utf-8")
    return path


def verify(app: Any, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli(app, "audit", "verify", *args)
    return result.exit_code, json.loads(result.stdout or "{}")


def test_a_chain_rehashed_after_an_edit_with_its_checkpoints_deleted_fails_verification(
        app, tmp_path):
    append(app, 6)
    signed = checkpoint(app)
    kept = export(app, tmp_path / "checkpoints.jsonl")
    assert verify(app)[0] == 0

    with tampering(app) as conn:  # the attack: edit, re-hash, remove the evidence
        conn.execute(text("""UPDATE audit_log SET data = '{"i": 99}' WHERE seq = 3"""))
        rehash_from(conn, 3)
        conn.execute(text("DELETE FROM audit_checkpoints"))

    code, report = verify(app)
    assert (code, report["ok"]) == (1, False), report
    assert any("no checkpoint" in p for p in report["problems"]), report
    code, report = verify(app, "--checkpoints", str(kept))
    assert (code, report["ok"]) == (1, False), report
    assert any(f"entry {signed}" in p and "rewritten" in p for p in report["problems"]), report
    assert any("not in the database" in p for p in report["problems"]), report


def test_a_checkpoint_signed_with_a_key_slipped_into_the_database_does_not_count(app, clock):
    """The attacker re-hashes the chain, deletes the checkpoints and signs the forged head with
    a key of their own, added to `signing_keys` beside ours (they cannot encrypt its private
    part under the master key, which the database does not hold)."""
    append(app, 6)
    checkpoint(app)
    clock.advance(minutes=INTERVAL_AND_MARGIN + 1)
    mine = Ed25519PrivateKey.generate()
    with tampering(app) as conn:
        conn.execute(text("""UPDATE audit_log SET data = '{"i": 99}' WHERE seq = 3"""))
        rehash_from(conn, 3)
        conn.execute(text("DELETE FROM audit_checkpoints"))
        seq, head = conn.execute(text(
            "SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1")).one()
        ours = conn.execute(text("SELECT master_kid FROM signing_keys LIMIT 1")).scalar()
        conn.execute(text(
            "INSERT INTO signing_keys (kid, purpose, status, public_raw, private_ct, master_kid,"
            " created_at) VALUES ('audit-forged', 'audit', 'retired', :pub, :ct, :m, now())"),
            {"pub": mine.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
             "ct": b"\0" * 60, "m": ours})
        now = runtime().clock.now()
        forged = jwt.encode({"seq": seq, "entry_hash": head, "at": int(now.timestamp())}, mine,
                            algorithm="EdDSA", headers={"kid": "audit-forged",
                                                        "typ": "pc-audit+jwt"})
        conn.execute(text("INSERT INTO audit_checkpoints (seq, entry_hash, at, signature) "
                          "VALUES (:s, :h, :at, :sig)"),
                     {"s": seq, "h": head, "at": now, "sig": forged})

    code, report = verify(app)
    assert (code, report["ok"]) == (1, False), report
    assert any(f"checkpoint {seq}: signature invalid" in p for p in report["problems"]), report


def test_a_chain_truncated_after_its_last_remaining_checkpoint_fails_verification(
        app, clock, tmp_path):
    append(app, 3)
    first = checkpoint(app)
    append(app, 3, start=3)
    second = checkpoint(app)
    kept = export(app, tmp_path / "checkpoints.jsonl")
    assert verify(app)[0] == 0

    with tampering(app) as conn:  # the attack: drop everything after the first checkpoint
        conn.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": first})
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq > :s"), {"s": first})

    clock.advance(minutes=INTERVAL_AND_MARGIN + 1)  # and no checkpoint since
    code, report = verify(app)
    assert (code, report["ok"]) == (1, False), report
    assert any("older than" in p for p in report["problems"]), report
    code, report = verify(app, "--checkpoints", str(kept))
    assert (code, report["ok"]) == (1, False), report
    assert any(f"checkpoint {second}" in p and "truncated" in p
               for p in report["problems"]), report


def test_an_old_checkpoint_redated_to_look_recent_does_not_count(app, clock):
    """The same cut, and the remaining checkpoint's `at` moved to now: the signed time wins."""
    append(app, 3)
    first = checkpoint(app)
    append(app, 3, start=3)
    checkpoint(app)
    clock.advance(minutes=INTERVAL_AND_MARGIN + 1)
    with tampering(app) as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": first})
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq > :s"), {"s": first})
        conn.execute(text("UPDATE audit_checkpoints SET at = :now"),
                     {"now": runtime().clock.now()})

    code, report = verify(app)
    assert (code, report["ok"]) == (1, False), report
    assert any(f"checkpoint {first}: signed content differs" in p
               for p in report["problems"]), report


def test_a_missing_chain_fails_verification(app, tmp_path):
    append(app, 3)
    checkpoint(app)
    kept = export(app, tmp_path / "checkpoints.jsonl")

    with tampering(app) as conn:
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("DELETE FROM audit_checkpoints"))

    code, report = verify(app)
    assert (code, report["ok"], report["entries"]) == (1, False, 0), report
    code, report = verify(app, "--checkpoints", str(kept))
    assert (code, report["ok"]) == (1, False), report
    assert any("truncated" in p for p in report["problems"]), report


def test_an_untouched_chain_verifies_against_its_exported_checkpoints(app, tmp_path):
    append(app, 3)
    checkpoint(app)
    append(app, 2, start=3)
    checkpoint(app)
    kept = export(app, tmp_path / "checkpoints.jsonl")
    append(app, 2, start=5)  # entries after the newest checkpoint are fine
    code, report = verify(app, "--checkpoints", str(kept))
    assert (code, report["ok"], report["exported"]) == (0, True, 2), report
    assert report["problems"] == []


def test_the_kept_copy_only_grows(app, tmp_path):
    copy = tmp_path / "notary" / "checkpoints.jsonl"
    copy.parent.mkdir()

    def add() -> int:
        result = cli(app, "audit", "export-checkpoints", "--append", str(copy))
        assert result.exit_code == 0, result.output
        return int(json.loads(result.stdout)["appended"])

    append(app, 2)
    checkpoint(app)
    checkpoint(app)
    assert add() == 2
    assert add() == 0
    append(app, 2, start=2)
    checkpoint(app)
    assert add() == 1
    assert copy.read_text("utf-8") == export(app, tmp_path / "full.jsonl").read_text("utf-8")
    code, report = verify(app, "--checkpoints", str(copy))
    assert (code, report["exported"]) == (0, 3), report


def test_an_altered_or_empty_checkpoints_file_fails_verification(app, tmp_path):
    append(app, 3)
    checkpoint(app)
    kept = export(app, tmp_path / "checkpoints.jsonl")
    line = json.loads(kept.read_text("utf-8"))
    forged = tmp_path / "forged.jsonl"
    forged.write_text(json.dumps({**line, "entry_hash": "0" * 64}) + "\n", "utf-8")
    code, report = verify(app, "--checkpoints", str(forged))
    assert code == 1 and any("signed content" in p for p in report["problems"]), report
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", "utf-8")
    code, report = verify(app, "--checkpoints", str(empty))
    assert code == 1 and any("no checkpoint" in p for p in report["problems"]), report
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text("not json\n", "utf-8")
    result = cli(app, "audit", "verify", "--checkpoints", str(garbled))
    assert result.exit_code != 0 and "line 1" in result.output


def test_without_a_file_verify_needs_a_recent_checkpoint(app, clock):
    append(app, 3)
    code, report = verify(app)
    assert code == 1 and any("no checkpoint" in p for p in report["problems"]), report
    checkpoint(app)
    clock.advance(minutes=INTERVAL_AND_MARGIN - 1)
    assert verify(app)[0] == 0
    clock.advance(minutes=2)
    code, report = verify(app)
    assert code == 1 and any("older than" in p for p in report["problems"]), report


def test_the_jobs_keep_a_quiet_chain_fresh(app, clock):
    """Nothing happens for hours: `jobs run` still signs a checkpoint every interval."""
    def run() -> int:
        result = cli(app, "jobs", "run", "--only", "audit.checkpoint")
        assert result.exit_code == 0, result.output
        return int(json.loads(result.stdout)["audit.checkpoint"]["checkpoints"])

    append(app, 2)
    assert run() == 1
    for _ in range(4):
        clock.advance(minutes=60)
        assert run() == 1
        code, report = verify(app)
        assert code == 0, report
    assert report["checkpoints"] == 5


def test_auditors_read_the_chain_through_the_admin_api(app, client):
    append(app, 5)
    checkpoint(app)
    _auditor, key = new_operator(app, "auditor")
    page = client.get("/admin/v1/audit/entries?action=thing.done&limit=2",
                      headers=bearer(key))
    assert page.status_code == 200, page.get_json()
    body = page.get_json()
    assert [e["subject"] for e in body["items"]] == ["s0", "s1"]
    assert body["next_after_seq"] == body["items"][-1]["seq"]
    rest = client.get("/admin/v1/audit/entries", headers=bearer(key), query_string={
        "action": "thing.done", "after_seq": body["next_after_seq"]}).get_json()
    assert [e["subject"] for e in rest["items"]] == ["s2", "s3", "s4"]
    assert rest["next_after_seq"] is None
    one = client.get("/admin/v1/audit/entries?subject=s3", headers=bearer(key)).get_json()
    assert [(e["action"], e["data"]) for e in one["items"]] == [("thing.done", {"i": 3})]
    # the recipe docs/security.md gives auditors, from the answer alone
    e = one["items"][0]
    body = {k: e[k] for k in ("seq", "actor", "action", "subject", "data")}
    body["at"] = e["at"].replace("Z", "+00:00")
    digest = hashlib.sha256(bytes.fromhex(e["prev_hash"]) + json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    assert digest.hexdigest() == e["entry_hash"]
    prefixed = client.get("/admin/v1/audit/entries?action=audit.*",
                          headers=bearer(key)).get_json()
    assert [e["action"] for e in prefixed["items"]] == ["audit.checkpoint"]
    later = client.get("/admin/v1/audit/entries?since=2099-01-01T00:00:00Z",
                       headers=bearer(key)).get_json()
    assert later["items"] == []

    verdict = client.get("/admin/v1/audit/verify", headers=bearer(key))
    assert verdict.status_code == 200 and verdict.get_json()["ok"] is True
    signed = client.get("/admin/v1/audit/checkpoints", headers=bearer(key)).get_json()
    exported = [json.loads(line) for line in
                cli(app, "audit", "export-checkpoints").stdout.splitlines()]
    assert signed["items"] == exported

    for role in ("admin", "reviewer"):
        _op, other = new_operator(app, role)
        refused = client.get("/admin/v1/audit/entries", headers=bearer(other))
        assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"


def test_auditors_read_the_chain_through_the_cli(app):
    append(app, 4)
    every = cli(app, "audit", "entries", "--action", "thing.done")
    assert every.exit_code == 0, every.output
    first = json.loads(every.stdout.splitlines()[0])
    assert first["subject"] == "s0"
    result = cli(app, "audit", "entries", "--action", "thing.done", "--after-seq",
                 str(first["seq"]), "--limit", "2")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["subject"] for e in lines] == ["s1", "s2"]
    assert {"seq", "at", "actor", "action", "subject", "data", "prev_hash",
            "entry_hash"} <= set(lines[0])
