"""The app runs as a non-superuser role (issue 22, part 5): `pengcheng db create-role` prints
or applies exactly the grants it needs; migrations stay with the owner; partner writes (the
PostgreSQL functions) and resident requests work as that role, with the bounded waits."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
from sqlalchemy import text

from tests.support.factories import bearer
from tests.support.roles import app_role, cli
from tests.support.tokens import World


def test_without_apply_the_role_is_only_printed_and_no_password_is_shown(
        app: Any, monkeypatch: Any) -> None:
    name = f"pc_print_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PC_TEST_ROLE_PASSWORD", "s3cret-do-not-print")
    result = cli(app, "db", "create-role", "--name", name, "--password-env",
                 "PC_TEST_ROLE_PASSWORD")
    assert result.exit_code == 0, result.output
    assert f'CREATE ROLE "{name}" LOGIN NOSUPERUSER' in result.output
    assert "s3cret" not in result.output and "PASSWORD '***'" in result.output
    assert "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public" in result.output
    with psycopg.connect(app.config["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() \
            is None


def test_the_app_works_as_the_role_create_role_makes_and_it_is_no_superuser(
        scratch_database: str, config: dict[str, Any], idp: Any, clock: Any, tmp_path: Any,
        monkeypatch: Any) -> None:
    from app import create_app

    monkeypatch.setenv("PENGCHENG_INSTANCE_PATH", str(tmp_path / "instance"))
    with app_role(scratch_database, config, clock, "pc_app") as (owner_app, role_url, name):
        again = cli(owner_app, "db", "create-role", "--name", name, "--apply")  # idempotent
        assert again.exit_code == 0 and f'ALTER ROLE "{name}"' in again.output, again.output

        app = create_app({**config, "DATABASE_URL": role_url}, clock=clock)
        try:
            from app.runtime import runtime
            from scoring.services import ensure_builtin_model

            with app.app_context():
                with runtime().uow() as uow:
                    who = uow.session.execute(text(
                        "SELECT current_user, rolsuper, current_setting('lock_timeout') "
                        "FROM pg_roles WHERE rolname = current_user")).one()
                    runtime().signer.ensure(uow.session, runtime().clock.now())
                    uow.commit()
                with runtime().uow() as uow:
                    ensure_builtin_model(uow, runtime().clock.now())
            assert tuple(who) == (name, False, "2s")
            client = app.test_client()
            world = World(app, client, idp)  # ingest, sign-in, consents, partners
            hold = client.post("/partner/v1/medical-credit/authorizations",
                               headers=bearer(world.hospital_key),
                               json={"token": world.token(), "out_request_no": "role-1",
                                     "amount_fen": 100})
            assert hold.status_code == 201, hold.get_json()
            score = client.get("/api/v1/me/score", headers=bearer(world.resident))
            assert score.status_code == 200, score.get_json()
            jobs = cli(app, "jobs", "run")
            assert jobs.exit_code == 0, jobs.output
            assert all("error" not in str(v) for v in json.loads(
                jobs.output.strip().splitlines()[-1]).values())
        finally:
            app.extensions["pengcheng"].engine.dispose()
