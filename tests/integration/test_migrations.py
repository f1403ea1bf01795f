"""The Alembic migrations go up, all the way down and up again; the SQL functions installed
after them (`app.migrate`) are the `.sql` files' and nothing else."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text

from app.migrate import (
    SQL_FILES,
    FunctionsDisagree,
    alembic_config,
    check,
    downgrade,
    functions,
    upgrade,
)
from core.db import Base, normalize_url


def _tables(url: str) -> set[str]:
    engine = create_engine(normalize_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    import app.models  # noqa: F401

    upgrade(url)
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert expected <= _tables(url)
    downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}
    with _connected(url) as conn:
        assert not conn.scalar(text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'pc\\_%'"))
    upgrade(url)
    assert expected <= _tables(url)


@pytest.mark.services
def test_migrations_round_trip_on_postgresql(scratch_database):
    _round_trip(scratch_database)
    engine = create_engine(normalize_url(scratch_database))
    try:
        with engine.connect() as conn:
            triggers = set(conn.scalars(text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
            functions = set(conn.scalars(text(
                "SELECT proname FROM pg_proc WHERE proname LIKE 'pc\\_%'")))
            heads = list(conn.scalars(text("SELECT version_num FROM alembic_version")))
        assert {"audit_log_insert_only", "audit_checkpoints_insert_only"} <= triggers
        # the partner hot paths (core.pgcall) come back with the schema
        assert {"pc_introspect", "pc_consume_token", "pc_claim_request", "pc_redeem",
                "pc_credit_authorize", "pc_credit_capture"} <= functions
        script = ScriptDirectory.from_config(alembic_config(scratch_database))
        assert heads == list(script.get_heads())
    finally:
        engine.dispose()


@pytest.mark.services
def test_the_migrated_schema_matches_the_models(scratch_database):
    """No model change is missing a migration (autogenerate finds nothing to do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import app.models  # noqa: F401

    upgrade(scratch_database)
    engine = create_engine(normalize_url(scratch_database))
    try:
        with engine.connect() as conn:
            # procrastinate's tables are its own (migration 0026 installs its schema)
            diff = compare_metadata(MigrationContext.configure(conn, opts={
                "include_name": lambda name, kind, _: not (
                    kind == "table" and str(name).startswith("procrastinate_"))}),
                Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


@contextmanager
def _connected(url: str) -> Iterator[Connection]:
    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


# sha256 of `pg_get_functiondef` of every `pc_*` function (trigger functions aside) in a database
# upgraded to head. Issue 18 moved the functions' text, unchanged, out of the migrations into the
# `.sql` files (checked against a database migrated to 0018 by the migrations of commit 5f0a6b5);
# a deliberate change to a function changes its hash here, in the same commit.
AT_HEAD = {
    "pc_channel_queue": "ae850cf71537399da1c6b02b427b41640ec6efd29eb22059d681da8e8fc6ae41",
    "pc_claim_request": "99a1733f487cc3556b132e74f331c0de488f9988110407700797a49bdea68014",
    "pc_consent_last_use": "ebf5242718cbfd6ea8595685c93695bd32c1d5df6fee33373edcef6c655cbf29",
    "pc_consent_renewal": "b96ff1b14a462d2b1ec9727c9c925f2a537c273a063590461c377655ff76b3b7",
    "pc_consent_since": "fa75234dc71bf5f8dd23cc948c8fc21e88b58f21ba533efc8659fadd7b12bdd8",
    "pc_consent_valid": "15f2349061455044ec43670ce296d3f405bf71ac2b36bbd7aa5d60e101834698",
    "pc_consume_token": "cf55c6ede0276c1143d1e46e2af7ccf93f3bc42a0ca80d9b7bbb4228e1e1866a",
    "pc_credit_authorize": "942677559f66c5028a2758b9b54d8ccfba15aa7f22dd52a304e618d287eeeb48",
    "pc_credit_capture": "56965672fb422cb256cc086452c5960be6fc58dca0a08ee59a28e716ee46ca23",
    "pc_credit_expire_holds": "f1b10da156cfb549ee9f37fb08f29288ba7968c0108e61182102afc183ca6b93",
    "pc_exclusions": "7c78b68b26871d60c9322e935688b12f8239fed900965ce7308db4e995aa681f",
    "pc_introspect": "7b084ef276a5e7a2dff4a8854ea12bad773d811e0c81ce32e0827bf7c0336fe4",
    "pc_log_access": "adc2726ff957021cc08541f64d69724e3af5f81bfc1cc9301792f3642b242205",
    "pc_outbox_emit": "cca5fbd47df6941f0c214e47ab5208a2a4884208c3a9998fe2a8f1f647f667ea",
    "pc_outbox_row": "dad50e6ef219c81a1948cbd3f34aac9b1af4d01257f3de9e5c721dae15135fb6",
    "pc_outbox_time": "673fb7ed288e86dcf4d52515ac1fd6cc8407ea9a0f808dcf06f8fdd5aa1ed835",
    "pc_overrides_in_force": "1ada5ee47c1ed21d053f4b34fef64fcce8ebdcc38fe61edb0f221f71a54e8f7a",
    "pc_points_account": "f4e82abd2a5f8f4428026a11bc2ef86def45a4be042fb4ed6b8c59154569448d",
    "pc_points_due": "81ccd201666f6bc1cd484620b45e8b1c66e4b1488b74731622715dbdc4b55070",
    "pc_points_expire": "0b77eff7600ff1b0ad722dc73c179be2f91bfa3b7fdeb11832c6e4c97ab188de",
    "pc_redeem": "553128b736c75c99853feb2be4a3f0c2330289210d610bae86e43c70a1f52e96",
    "pc_redeemed_answer": "4b9bc9e69696126c6882eba6cbebac719f6c9efc201c860abd398db56f16333a",
    "pc_refuse": "ba3ea68e27cf3845a235a7ffed065ad5a433c4d65711f3e9a888469d841935fa",
    "pc_scenario_excluded": "a3bb2adf942b30a1f33022f8976e8b9211aa00a54900af3dc8826619680b81d6",
    "pc_scenario_exclusions": "618d75f9a8a8a0a41d2333c94225da6d4d7ffffcbc6e0019a38e08d0bddffc07",
    "pc_store_answer": "8d68ff8a54433edbf07cc2dd296b7f31840c7e3458c7822e311dfa6e678a9ede",
    "pc_token_limit": "bbed68a439725ffb28e52b0d73951b0a35358b2c50d878181436289429f41616",
    "pc_token_state": "221aa2ab5653c549426bd373f87d9122715e57a577698fd29dd8500bdf301f73",
    "pc_use_token": "78220e70d8ca49a10b956552bb114cf68f0363028e86e45569d9820dd44b7f0b",
}


def _digests(conn: Connection) -> dict[str, str]:
    return {signature.split("(")[0]: hashlib.sha256(body.encode()).hexdigest()
            for signature, body in functions(conn).items()}


@pytest.mark.services
def test_a_fresh_database_gets_exactly_the_functions_of_the_sql_files(scratch_database):
    upgrade(scratch_database)
    with _connected(scratch_database) as conn:
        assert _digests(conn) == AT_HEAD
    assert check(scratch_database) == []


@pytest.mark.services
def test_an_upgrade_at_head_replaces_a_function_that_differs_from_its_file(scratch_database):
    upgrade(scratch_database)
    with _connected(scratch_database) as conn:
        conn.execute(text(
            "CREATE OR REPLACE FUNCTION pc_refuse(p_code text, p_extra jsonb DEFAULT '{}') "
            "RETURNS void LANGUAGE sql AS 'SELECT 1'"))
    assert check(scratch_database) == ["pc_refuse(text,jsonb)"]
    upgrade(scratch_database)
    assert check(scratch_database) == []
    with _connected(scratch_database) as conn:
        assert _digests(conn) == AT_HEAD


@pytest.mark.services
def test_a_function_the_files_do_not_define_fails_the_upgrade(scratch_database):
    upgrade(scratch_database)
    with _connected(scratch_database) as conn:
        conn.execute(text("CREATE FUNCTION pc_left_behind(int) RETURNS int LANGUAGE sql "
                          "AS 'SELECT 1'"))
    assert check(scratch_database) == ["pc_left_behind(integer)"]
    with pytest.raises(FunctionsDisagree, match="pc_left_behind"):
        upgrade(scratch_database)
    assert check(scratch_database) == ["pc_left_behind(integer)"]  # the upgrade rolled back


def test_every_sql_file_of_the_packages_is_installed():
    root = Path(__file__).resolve().parents[2]
    found = {path.relative_to(root).as_posix()
             for package in ("core", "consent", "scoring", "rewards", "rights", "reports",
                            "events")
             for path in (root / package).rglob("sql/*.sql")}
    listed = {f"{package.replace('.', '/')}/sql/{name}" for package, name in SQL_FILES}
    assert found == listed


@pytest.mark.services
def test_an_upgrade_of_a_database_whose_functions_agree_replaces_none(scratch_database):
    """(A replaced function is recompiled by every session that calls it next.)"""
    versions = text("SELECT proname, xmin::text FROM pg_proc WHERE proname LIKE 'pc\\_%'")
    upgrade(scratch_database)
    with _connected(scratch_database) as conn:
        before = dict(conn.execute(versions).all())
    upgrade(scratch_database)
    with _connected(scratch_database) as conn:
        assert dict(conn.execute(versions).all()) == before
