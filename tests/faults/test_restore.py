"""A restored backup revives nothing (docs/operations.md, "Restoring from a backup").

The backup is a real `pg_dump` of the test database (the embedded PostgreSQL's own client),
restored with `pg_restore` into a scratch database; `pengcheng restore finish` then runs on it
as the runbook says. What happened after the dump — a token consumed, a resident erased — must
stay done.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core import embedded
from core.crypto import CryptoError, DataKey, Keyring
from core.identity import Resident, read_personal
from core.signing import SigningKey
from tests.conftest import REDIS_URL
from tests.support.factories import bearer, cli, login
from tests.support.tokens import World, ask_token, introspect


def pg(program: str, *args: str) -> None:
    subprocess.run([str(embedded.binaries() / program), *args], check=True,
                   capture_output=True, text=True, timeout=120)


def consume(client: Any, key: str, token: str, use: str) -> Any:
    """A 先诊后付 authorization: the partner write that uses (consumes) the token."""
    return client.post("/partner/v1/medical-credit/authorizations", headers=bearer(key),
                       json={"token": token, "out_request_no": use, "amount_fen": 10000})


def me(client: Any, session: str) -> str:
    return client.get("/api/v1/me", headers=bearer(session)).get_json()["id"]


def personal(app: Any, resident_id: str) -> Any:
    """The resident's name as a fresh process would read it (no key cache)."""
    from app.runtime import runtime

    with app.app_context(), runtime().uow() as uow:
        resident = uow.session.get(Resident, uuid.UUID(resident_id))
        cold = Keyring(list(runtime().keyring.masters.values()), b"\0" * 32)
        return resident, read_personal(uow.session, cold, resident).name


@pytest.fixture
def journal(app: Any, tmp_path: Path) -> Path:
    path = tmp_path / "journal" / "erasures.jsonl"
    app.config["ERASURE_JOURNAL"] = str(path)
    return path


def test_a_restored_backup_refuses_a_token_consumed_after_it_and_keeps_the_erased_unreadable(
        app: Any, client: Any, idp: Any, config: dict, clock: Any, pg_url: str,
        scratch_database: str, journal: Path, tmp_path: Path) -> None:
    from app import create_app
    from app.runtime import runtime

    world = World(app, client, idp)
    leaving = login(client, idp, 8, "李四")
    gone = me(client, leaving)
    token = world.token()

    backup = tmp_path / "backup.dump"
    pg("pg_dump", "--format=custom", "--no-owner", f"--file={backup}", pg_url)

    # After the backup: the token is used, the resident erases their account.
    assert consume(client, world.hospital_key, token, "use-1").status_code == 201
    assert client.delete("/api/v1/me", headers=bearer(leaving)).status_code == 200
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert lines == [{"resident_id": gone, "erased_at": clock.now().isoformat()}]

    pg("pg_restore", "--no-owner", f"--dbname={scratch_database}", str(backup))
    restored = create_app({**config, "DATABASE_URL": scratch_database,
                           "ERASURE_JOURNAL": str(journal)}, clock=clock)
    try:
        with restored.app_context():
            if REDIS_URL:
                runtime().store.client.flushdb()  # the worst case: the fast store forgot too
        partner = restored.test_client()

        # What the finding saw: the backup alone revives both.
        assert introspect(partner, world.hospital_key, token).get_json()["active"] is True
        assert personal(restored, gone)[1] == "李四"

        result = cli(restored, "restore", "finish")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["erasures"] == {"replayed": 1, "already_erased": 0, "not_in_backup": 0,
                                       "unreadable_lines": 0}
        assert summary["sessions_revoked"] >= 2 and len(summary["token_kids_withdrawn"]) == 2

        refused = consume(partner, world.hospital_key, token, "use-2")
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["code"] == "token_unknown_key"
        assert introspect(partner, world.hospital_key, token).get_json() == {"active": False}
        jwks = partner.get("/.well-known/jwks.json").get_json()["keys"]
        assert not {k["kid"] for k in jwks} & set(summary["token_kids_withdrawn"])

        with pytest.raises(CryptoError):
            personal(restored, gone)
        with restored.app_context(), runtime().uow() as uow:
            resident = uow.session.get(Resident, uuid.UUID(gone))
            assert resident.status == "erased" and resident.id_index.startswith("erased:")
            assert uow.session.get(DataKey, resident.data_key_id).wrapped is None
        assert me(partner, login(partner, idp, 8, "李四")) != gone  # a new, empty account

        # A token issued after the restore works; the old session does not.
        assert partner.get("/api/v1/me", headers=bearer(world.resident)).status_code == 401
        again = login(partner, idp, 7, "王五")
        fresh = ask_token(partner, again, "medical_credit", world.hospital.client_id)
        assert fresh.status_code == 201, fresh.get_json()
        used = consume(partner, world.hospital_key, fresh.get_json()["token"], "use-3")
        assert used.status_code == 201, used.get_json()

        # Run twice, it replays nothing more.
        second = json.loads(cli(restored, "restore", "finish").stdout)
        assert second["erasures"]["replayed"] == 0 and second["erasures"]["already_erased"] == 1
    finally:
        restored.extensions["pengcheng"].engine.dispose()


def test_an_erasure_the_journal_missed_is_appended_by_sync_journal(
        app: Any, client: Any, idp: Any, journal: Path) -> None:
    leaving = login(client, idp, 9, "赵六")
    gone = me(client, leaving)
    journal.parent.mkdir(parents=True)
    journal.mkdir()  # unwritable as a file: the append fails after the commit
    assert client.delete("/api/v1/me", headers=bearer(leaving)).status_code == 200
    journal.rmdir()

    first = json.loads(cli(app, "restore", "sync-journal").stdout)
    again = json.loads(cli(app, "restore", "sync-journal").stdout)
    assert (first["added"], again["added"]) == (1, 0)
    assert [json.loads(line)["resident_id"] for line in journal.read_text().splitlines()] == [gone]


def test_restarting_the_token_keys_unpublishes_every_older_kid_at_once(app: Any, uow: Any,
                                                                      clock: Any) -> None:
    from app.runtime import runtime

    signer = runtime().signer
    signer.rotate(uow.session, "token", clock.now())  # a retired key still in its grace day
    before = {k.kid for k in signer.keys(uow.session, "token")}
    withdrawn, active = signer.restart(uow.session, "token", clock.now())
    assert set(withdrawn) == before and active not in before
    published = {k["kid"] for k in signer.jwks(uow.session, clock.now())["keys"]}
    assert not published & before
    assert all(signer.public(uow.session, kid, clock.now()) is None for kid in before)
    receipts = uow.session.scalars(select(SigningKey).where(SigningKey.purpose == "receipt"))
    assert all(k.status != "retired" for k in receipts)  # other purposes untouched
