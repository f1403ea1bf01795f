"""The audit log: hash chain, tamper detection, signed checkpoints, insert-only tables."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.runtime import runtime
from core import audit
from core.audit import AuditCheckpoint, AuditEntry
from tests.support.factories import cli


def append(app, n: int, start: int = 0) -> None:
    with app.app_context(), runtime().uow() as uow:
        for i in range(start, start + n):
            audit.record(uow.session, actor="test", action="thing.done", subject=f"s{i}",
                         now=runtime().clock.now(), data={"i": i, "nested": {"k": [1, "二"]}})
        uow.commit()


def verdict(app) -> audit.Verdict:
    with app.app_context(), runtime().uow() as uow:
        return audit.verify(uow.session, runtime().signer, runtime().clock.now())


@contextmanager
def tampering(app) -> Iterator:
    """A transaction with the insert-only triggers off (as an attacker with DDL rights would)."""
    with app.app_context(), runtime().uow() as uow:
        conn = uow.session.connection()
        for table in ("audit_log", "audit_checkpoints"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield conn
        for table in ("audit_log", "audit_checkpoints"):
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        uow.commit()


def cli_verify(app) -> tuple[int, dict]:
    result = cli(app, "audit", "verify")
    return result.exit_code, json.loads(result.stdout)


def test_an_untouched_chain_verifies(app):
    append(app, 5)
    v = verdict(app)
    assert v.ok and v.entries >= 5 and v.problems == []
    assert cli_verify(app)[0] == 1  # the CLI also wants a recent checkpoint
    cli(app, "audit", "checkpoint")
    code, report = cli_verify(app)
    assert code == 0 and report["ok"] is True and report["newest_checkpoint"]["seq"] > 5


def test_an_edited_entry_is_reported(app):
    append(app, 5)
    cli(app, "audit", "checkpoint")
    with tampering(app) as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3"))
    v = verdict(app)
    assert not v.ok and any("entry 3" in p and "edited" in p for p in v.problems)
    code, report = cli_verify(app)
    assert code == 1 and report["ok"] is False and report["problems"] == v.problems


def test_an_edit_that_recomputes_its_own_hash_breaks_the_next_link(app):
    append(app, 5)
    with app.app_context(), runtime().uow() as uow:
        e = uow.session.get(AuditEntry, 3)
        forged = audit._hash(e.prev_hash, e.seq, e.at, e.actor, e.action, e.subject, {"i": 99})
    with tampering(app) as conn:
        conn.execute(text("UPDATE audit_log SET data = :d, entry_hash = :h WHERE seq = 3"),
                     {"d": json.dumps({"i": 99}), "h": forged})
    v = verdict(app)
    assert not v.ok and any("entry 4" in p and "chain broken" in p for p in v.problems)
    assert cli_verify(app)[0] == 1


def test_a_deleted_entry_is_reported(app):
    append(app, 5)
    with tampering(app) as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    v = verdict(app)
    assert not v.ok and any("missing" in p for p in v.problems)
    assert cli_verify(app)[0] == 1


def test_two_reordered_entries_are_reported(app):
    append(app, 5)
    cols = "at, actor, action, subject, data, prev_hash, entry_hash"
    with tampering(app) as conn:
        a = conn.execute(text(f"SELECT {cols} FROM audit_log WHERE seq = 2")).one()
        b = conn.execute(text(f"SELECT {cols} FROM audit_log WHERE seq = 3")).one()
        # entry_hash is unique: park one row's hash while swapping
        conn.execute(text("UPDATE audit_log SET entry_hash = 'parked' WHERE seq = 2"))
        for seq, row in ((3, a), (2, b)):
            conn.execute(text(
                "UPDATE audit_log SET at=:at, actor=:actor, action=:action, subject=:subject, "
                "data=:data, prev_hash=:prev_hash, entry_hash=:entry_hash WHERE seq=:seq"),
                {**row._asdict(), "data": json.dumps(row.data) if not isinstance(row.data, str)
                 else row.data, "seq": seq})
    v = verdict(app)
    assert not v.ok and any("chain broken" in p or "edited" in p for p in v.problems)
    assert cli_verify(app)[0] == 1


def test_a_deleted_tail_is_caught_by_the_checkpoint(app):
    append(app, 5)
    assert cli(app, "audit", "checkpoint").exit_code == 0
    assert verdict(app).ok and verdict(app).checkpoints == 1
    with tampering(app) as conn:
        head = conn.execute(text("SELECT max(seq) FROM audit_log")).scalar()
        conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": head})
    v = verdict(app)
    assert not v.ok and any("no longer matches" in p for p in v.problems)


def test_checkpoints_verify_and_export(app):
    append(app, 3)
    first = json.loads(cli(app, "audit", "checkpoint").stdout)
    second = json.loads(cli(app, "audit", "checkpoint").stdout)  # signs an entry of its own
    assert second["seq"] == first["seq"] + 1
    append(app, 2, start=3)
    cli(app, "audit", "checkpoint")
    exported = [json.loads(line) for line in
                cli(app, "audit", "export-checkpoints").stdout.splitlines()]
    assert [c["seq"] for c in exported] == [first["seq"], first["seq"] + 1, first["seq"] + 4]
    with app.app_context(), runtime().uow() as uow:
        signed = [uow.session.get(AuditEntry, c["seq"]) for c in exported]
        assert {(e.action, e.actor) for e in signed} == {("audit.checkpoint", "cli")}
    with app.app_context(), runtime().uow() as uow:  # what /.well-known/audit-keys.json publishes
        jwks = runtime().signer.jwks(uow.session, runtime().clock.now())["keys"]
    for cp in exported:
        kid = jwt.get_unverified_header(cp["signature"])["kid"]
        jwk = next(k for k in jwks if k["kid"] == kid)
        claims = jwt.decode(cp["signature"], jwt.PyJWK(jwk).key, algorithms=["EdDSA"])
        assert (claims["seq"], claims["entry_hash"]) == (cp["seq"], cp["entry_hash"])
    assert verdict(app).ok


@pytest.mark.commits  # the jobs runner works on connections of its own (`runtime().engine`)
def test_the_jobs_runner_makes_periodic_checkpoints(app, clock):
    """`pengcheng jobs run` (every few minutes in production) signs the chain at most every
    AUDIT_CHECKPOINT_MINUTES, also when nothing else was appended."""
    def run() -> int:
        result = cli(app, "jobs", "run", "--only", "audit.checkpoint")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["audit.checkpoint"]["checkpoints"]

    append(app, 3)
    assert run() == 1
    append(app, 2, start=3)
    clock.advance(minutes=59)
    assert run() == 0  # too soon
    clock.advance(minutes=1)
    assert run() == 1
    clock.advance(minutes=60)
    assert run() == 1  # a quiet chain is signed again: verify wants a recent checkpoint
    exported = [json.loads(line) for line in
                cli(app, "audit", "export-checkpoints").stdout.splitlines()]
    assert len(exported) == 3 and verdict(app).ok and verdict(app).checkpoints == 3
    assert exported[2]["seq"] == exported[1]["seq"] + 1


def test_a_deleted_checkpoint_leaves_its_entry_behind(app):
    append(app, 2)
    seq = json.loads(cli(app, "audit", "checkpoint").stdout)["seq"]
    append(app, 2, start=2)
    cli(app, "audit", "checkpoint")
    with tampering(app) as conn:
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq = :s"), {"s": seq})
    v = verdict(app)
    assert not v.ok and v.problems == [
        f"entry {seq} records checkpoint {seq}, which is not in the database (deleted)"]


def test_entries_are_read_in_pages_and_filtered(app, clock):
    append(app, 4)
    clock.advance(minutes=5)
    with app.app_context(), runtime().uow() as uow:
        audit.record(uow.session, actor="cli", action="a_b.done", subject="s9",
                     now=runtime().clock.now())
        audit.record(uow.session, actor="cli", action="axb.done", subject="s9",
                     now=runtime().clock.now())
        uow.commit()
    with app.app_context(), runtime().uow() as uow:
        s = uow.session
        first = audit.entries(s, action="thing.done", limit=3)
        assert [e.subject for e in first.items] == ["s0", "s1", "s2"]
        rest = audit.entries(s, action="thing.done", after_seq=first.next_after_seq or 0)
        assert [e.subject for e in rest.items] == ["s3"] and rest.next_after_seq is None
        # a prefix is taken literally: `_` is no wildcard
        assert [e.action for e in audit.entries(s, action="a_b.*").items] == ["a_b.done"]
        assert [e.action for e in audit.entries(s, actor="cli", subject="s9").items] == [
            "a_b.done", "axb.done"]
        later = audit.entries(s, since=runtime().clock.now())
        assert [e.subject for e in later.items] == ["s9", "s9"]
        assert audit.entries(s, subject="s9", until=runtime().clock.now()).items == []
        e = first.items[1]
        assert e.prev_hash == first.items[0].entry_hash
        assert audit._hash(e.prev_hash, e.seq, e.at, e.actor, e.action, e.subject,
                           e.data) == e.entry_hash


def test_a_forged_checkpoint_is_reported(app):
    append(app, 3)
    with app.app_context(), runtime().uow() as uow:
        head = uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        kid, _ = runtime().signer.active(uow.session, "audit")
        forged = jwt.encode({"seq": head.seq, "entry_hash": head.entry_hash, "at": 0},
                            Ed25519PrivateKey.generate(), algorithm="EdDSA",
                            headers={"kid": kid})
        uow.session.add(AuditCheckpoint(seq=head.seq, entry_hash=head.entry_hash,
                                        at=runtime().clock.now(), signature=forged))
        uow.commit()
    v = verdict(app)
    assert not v.ok and any("signature invalid" in p for p in v.problems)
    assert cli_verify(app)[0] == 1


def test_checkpoints_still_verify_after_the_master_key_is_rotated(app, config, clock):
    """Verify only trusts audit keys that open under the master key; a master-key rotation
    re-wraps them, so checkpoints signed before it still count."""
    from app import create_app
    from core.crypto import new_key_text

    append(app, 2)
    cli(app, "audit", "checkpoint")
    new_master = new_key_text()
    both = create_app({**config, "MASTER_KEY": f"{new_master},{config['MASTER_KEY']}"},
                      clock=clock)
    assert cli(both, "keys", "rotate", "--no-data-keys").exit_code == 0
    both.extensions["pengcheng"].engine.dispose()
    only_new = create_app({**config, "MASTER_KEY": new_master}, clock=clock)
    try:
        cli(only_new, "audit", "checkpoint")
        code, report = cli_verify(only_new)
        assert code == 0 and report["checkpoints"] == 2, report
    finally:
        only_new.extensions["pengcheng"].engine.dispose()
    stranger = create_app({**config, "MASTER_KEY": new_key_text()}, clock=clock)
    try:  # a process without our master key cannot tell our keys from anyone's
        code, report = cli_verify(stranger)
        assert code == 1 and all("signature invalid" in p for p in report["problems"])
    finally:
        stranger.extensions["pengcheng"].engine.dispose()


def test_a_checkpoint_whose_stored_hash_was_changed_is_reported(app):
    append(app, 3)
    cli(app, "audit", "checkpoint")
    with tampering(app) as conn:
        conn.execute(text("UPDATE audit_checkpoints SET entry_hash = :h"), {"h": "0" * 64})
    v = verdict(app)
    assert not v.ok and any("signed content differs" in p for p in v.problems)


def test_the_database_refuses_updates_and_deletes_of_the_audit_log(app):
    append(app, 2)
    cli(app, "audit", "checkpoint")
    for stmt in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log",
                 "UPDATE audit_checkpoints SET entry_hash = 'x'", "DELETE FROM audit_checkpoints"):
        with app.app_context(), runtime().uow() as uow:
            with pytest.raises(DBAPIError, match="insert-only"):
                uow.session.execute(text(stmt))
    assert verdict(app).ok


@pytest.mark.services
def test_the_insert_only_trigger_is_installed(app, pg_url):
    with app.app_context(), runtime().uow() as uow:
        names = set(uow.session.scalars(text(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
        assert {"audit_log_insert_only", "audit_checkpoints_insert_only"} <= names
        with pytest.raises(DBAPIError) as err:
            uow.session.execute(text("DELETE FROM audit_log"))
        assert getattr(err.value.orig, "sqlstate", None) == "42501"


def test_entries_never_hold_personal_fields(app):
    with app.app_context(), runtime().uow() as uow:
        for field in ("name", "id_number", "phone", "address"):
            with pytest.raises(ValueError, match="personal"):
                audit.record(uow.session, actor="t", action="a", now=runtime().clock.now(),
                             data={field: "x"})


@pytest.mark.services
@pytest.mark.commits  # six threads, six connections
def test_concurrent_appends_keep_the_chain_linear(app, pg_url):
    errors: list[BaseException] = []
    before = verdict(app).entries

    def worker(k: int) -> None:
        try:
            for j in range(10):
                append(app, 2, start=k * 100 + j * 2)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    v = verdict(app)
    assert v.ok, v.problems
    assert v.entries == before + 6 * 10 * 2
