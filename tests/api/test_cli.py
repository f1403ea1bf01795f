"""The operator CLI: registering partners, sources and operators; database upgrade."""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select, text

from app.cli import main
from core.identity import DataSource, Operator, Partner
from tests.support.factories import bearer, cli, id_number


def one_json(result) -> dict:
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def test_partners_create_prints_one_json_object_and_stores_only_the_hash(app, uow):
    out = one_json(cli(app, "partners", "create", "--name", "深圳市人民医院", "--kind", "hospital",
                       "--scenario", "medical_credit", "--scenario", "priority_service"))
    assert out["client_id"].startswith("ptn_") and out["api_key"].startswith("pk_")
    partner = uow.session.scalars(select(Partner)).one()
    assert partner.client_id == out["client_id"] and partner.kind == "hospital"
    assert partner.scenarios == ["medical_credit", "priority_service"]
    assert partner.api_key_hash == hashlib.sha256(out["api_key"].encode()).hexdigest()
    raw = json.dumps([list(map(str, r)) for r in uow.session.execute(
        text("SELECT * FROM partners")).all()])
    assert out["api_key"] not in raw


def test_sources_create_prints_a_key_that_works_as_a_bearer(app, client, uow):
    out = one_json(cli(app, "sources", "create", "--name", "水务集团", "--category", "utilities"))
    assert set(out) >= {"client_id", "api_key"}
    stored = uow.session.scalars(select(DataSource)).one()
    assert stored.api_key_hash == hashlib.sha256(out["api_key"].encode()).hexdigest()
    assert out["api_key"] not in json.dumps([list(map(str, r)) for r in uow.session.execute(
        text("SELECT * FROM data_sources")).all()])
    response = client.post("/ingest/v1/records", headers=bearer(out["api_key"]), json={
        "records": [{"source_record_id": "1", "id_number": id_number(1), "category": "utilities",
                     "type": "payment_on_time", "occurred_at": "2026-10-01T00:00:00Z"}]})
    assert response.status_code == 200 and response.get_json()["accepted"] == 1


def test_operators_create_prints_a_key(app, uow):
    out = one_json(cli(app, "operators", "create", "--name", "信用办", "--role", "auditor"))
    assert out["role"] == "auditor"
    assert uow.session.scalars(select(Operator)).one().client_id == out["client_id"]


def test_each_create_gives_a_fresh_client_id_and_key(app):
    a = one_json(cli(app, "sources", "create", "--name", "A", "--category", "tax"))
    b = one_json(cli(app, "sources", "create", "--name", "A", "--category", "tax"))
    assert a["client_id"] != b["client_id"] and a["api_key"] != b["api_key"]


def _invoke(app, *args):
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_bad_arguments_fail_cleanly_without_a_traceback(app, uow):
    for args in (("partners", "create", "--name", "X", "--kind", "casino"),
                 ("sources", "create", "--name", "X", "--category", "astrology"),
                 ("sources", "create", "--name", "X"),
                 ("sources", "create", "--name", " ", "--category", "tax"),
                 ("operators", "create", "--name", "X", "--role", "god")):
        result = _invoke(app, *args)
        assert result.exit_code == 2 or result.exit_code == 1, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            args, repr(result.exception))
        assert "Traceback" not in result.output
        assert result.stdout.strip() == ""
    assert uow.session.scalars(select(DataSource)).all() == []


def test_db_upgrade_migrates_a_fresh_database_and_creates_signing_keys(config, clock, tmp_path,
                                                                      monkeypatch,
                                                                      scratch_database):
    from app import create_app

    monkeypatch.setenv("PENGCHENG_INSTANCE_PATH", str(tmp_path / "inst"))
    url = scratch_database
    fresh = create_app({**config, "DATABASE_URL": url}, clock=clock)
    result = cli(fresh, "db", "upgrade")
    assert result.exit_code == 0, result.output
    again = cli(fresh, "db", "upgrade")
    assert again.exit_code == 0
    published = [fresh.test_client().get(f"/.well-known/{name}.json").get_json()["keys"]
                 for name in ("jwks", "receipt-keys", "report-keys", "audit-keys")]
    assert [len(keys) for keys in published] == [2, 2, 2, 2]  # active + next per purpose
    fresh.extensions["pengcheng"].engine.dispose()
