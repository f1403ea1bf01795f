"""The operator CLI for credentials: list, rotate-key, deactivate, reactivate (audited)."""

from __future__ import annotations

import json
import time
import types
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.identity import DataSource, Operator, Partner, hash_key
from tests.support.factories import bearer, cli, id_number

INTROSPECT = "/partner/v1/tokens/introspect"

# Per group: the `create` arguments and one real call its key authorizes (method, path, body).
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, str, Any]]] = {
    "partners": (("--kind", "hospital", "--scenario", "medical_credit"),
                 ("POST", INTROSPECT, {"token": "x"})),
    "sources": (("--category", "utilities"),
                ("POST", "/ingest/v1/records", {"records": [{
                    "source_record_id": "cli-1", "id_number": id_number(7),
                    "category": "utilities", "type": "payment_on_time",
                    "occurred_at": "2026-10-01T00:00:00Z"}]})),
    "operators": (("--role", "admin"), ("GET", "/admin/v1/disputes", None)),
}
MODELS = {"partners": Partner, "sources": DataSource, "operators": Operator}
NOUNS = {"partners": "partner", "sources": "source", "operators": "operator"}


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    """No principal cache: a change must show on the very next request."""
    return {**config, "AUTH_CACHE_SECONDS": 0}


def json_lines(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def one_json(result: Any) -> dict[str, Any]:
    (obj,) = json_lines(result)
    return obj


def create(app: Any, group: str, name: str = "测试") -> dict[str, Any]:
    return one_json(cli(app, group, "create", "--name", name, *GROUPS[group][0]))


def status(client: Any, group: str, key: str) -> int:
    method, path, body = GROUPS[group][1]
    return client.open(path, method=method, headers=bearer(key), json=body).status_code


def audit_entries(uow: Any) -> list[AuditEntry]:
    uow.session.expire_all()
    return list(uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_rotating_a_partner_key_refuses_the_old_key_and_accepts_the_new_one(app, client):
    made = create(app, "partners")
    assert client.post(INTROSPECT, headers=bearer(made["api_key"]),
                       json={"token": "x"}).get_json() == {"active": False}
    rotated = one_json(cli(app, "partners", "rotate-key", made["client_id"]))
    assert rotated["client_id"] == made["client_id"] and rotated["active"] is True
    assert rotated["api_key"].startswith("pk_") and rotated["api_key"] != made["api_key"]
    old = client.post(INTROSPECT, headers=bearer(made["api_key"]), json={"token": "x"})
    assert old.status_code == 401 and old.get_json()["code"] == "unauthorized"
    new = client.post(INTROSPECT, headers=bearer(rotated["api_key"]), json={"token": "x"})
    assert new.status_code == 200 and new.get_json() == {"active": False}


@pytest.mark.parametrize("group", list(GROUPS))
def test_a_rotated_key_stops_working_and_the_new_one_works(app, client, group):
    made = create(app, group)
    assert status(client, group, made["api_key"]) == 200
    rotated = one_json(cli(app, group, "rotate-key", made["client_id"]))
    assert status(client, group, made["api_key"]) == 401
    assert status(client, group, rotated["api_key"]) == 200


@pytest.mark.parametrize("group", list(GROUPS))
def test_a_deactivated_key_is_refused_until_it_is_reactivated(app, client, group):
    made = create(app, group)
    off = one_json(cli(app, group, "deactivate", made["client_id"]))
    assert off["active"] is False and off["changed"] is True
    assert status(client, group, made["api_key"]) == 401
    on = one_json(cli(app, group, "reactivate", made["client_id"]))
    assert on["active"] is True and on["changed"] is True
    assert status(client, group, made["api_key"]) == 200


def test_a_key_rotated_while_deactivated_works_only_after_reactivation(app, client):
    made = create(app, "partners")
    one_json(cli(app, "partners", "deactivate", made["client_id"]))
    rotated = one_json(cli(app, "partners", "rotate-key", made["client_id"]))
    assert rotated["active"] is False
    assert status(client, "partners", rotated["api_key"]) == 401
    one_json(cli(app, "partners", "reactivate", made["client_id"]))
    assert status(client, "partners", rotated["api_key"]) == 200
    assert status(client, "partners", made["api_key"]) == 401


@pytest.mark.parametrize("group", list(GROUPS))
def test_list_shows_every_principal_and_never_key_material(app, uow, group):
    first, second = create(app, group, "甲"), create(app, group, "乙")
    rotated = one_json(cli(app, group, "rotate-key", second["client_id"]))
    one_json(cli(app, group, "deactivate", first["client_id"]))
    result = cli(app, group, "list")
    listed = json_lines(result)
    role_field = {"partners": "kind", "sources": "categories", "operators": "role"}[group]
    assert {row["client_id"]: row["active"] for row in listed} == {
        first["client_id"]: False, second["client_id"]: True}
    for row in listed:
        assert {"client_id", "name", role_field, "active", "created_at"} <= set(row)
        assert "api_key" not in row and "api_key_hash" not in row
    stored = uow.session.scalars(select(MODELS[group].api_key_hash)).all()
    for secret in (first["api_key"], second["api_key"], rotated["api_key"], *stored):
        assert secret not in result.output
    assert hash_key(rotated["api_key"]) in stored


@pytest.mark.parametrize("group", list(GROUPS))
@pytest.mark.parametrize("verb", ["rotate-key", "deactivate", "reactivate"])
def test_an_unknown_client_id_fails_with_a_message_and_changes_nothing(app, uow, group, verb):
    partner = create(app, "partners")  # a real client id, but of another group for most
    before = len(audit_entries(uow))
    for client_id in ("nope_0000", partner["client_id"] if group != "partners" else "ptn_0"):
        result = cli(app, group, verb, client_id)
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert f"no {NOUNS[group]} with client_id {client_id}" in result.stderr
        assert "Traceback" not in result.output
    assert len(audit_entries(uow)) == before


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_change_is_audited_by_the_cli_and_the_chain_still_verifies(app, uow, group):
    made = create(app, group)
    rotated = one_json(cli(app, group, "rotate-key", made["client_id"]))
    one_json(cli(app, group, "deactivate", made["client_id"]))
    again = one_json(cli(app, group, "deactivate", made["client_id"]))  # already off: no entry
    assert again["changed"] is False
    one_json(cli(app, group, "reactivate", made["client_id"]))
    noun = NOUNS[group]
    entries = [e for e in audit_entries(uow) if e.subject == made["client_id"]]
    assert [(e.actor, e.action) for e in entries] == [
        ("cli", f"{noun}.created"), ("cli", f"{noun}.key_rotated"),
        ("cli", f"{noun}.deactivated"), ("cli", f"{noun}.reactivated")]
    assert [e.data.get("active") for e in entries[2:]] == [False, True]
    logged = json.dumps([e.data for e in entries])
    for secret in (made["api_key"], rotated["api_key"], hash_key(made["api_key"]),
                   hash_key(rotated["api_key"])):
        assert secret not in logged
    one_json(cli(app, "audit", "checkpoint"))  # verify wants a recent checkpoint
    verdict = one_json(cli(app, "audit", "verify"))
    assert verdict["ok"] is True and verdict["problems"] == []


def test_with_the_principal_cache_on_a_rotated_key_is_refused_once_the_cache_expires(
        app, client, monkeypatch):
    from app import auth

    app.config["AUTH_CACHE_SECONDS"] = 5
    made = create(app, "partners")
    assert status(client, "partners", made["api_key"]) == 200  # now cached
    rotated = one_json(cli(app, "partners", "rotate-key", made["client_id"]))
    assert status(client, "partners", rotated["api_key"]) == 200  # a new key is never cached
    assert status(client, "partners", made["api_key"]) == 200  # the documented caveat
    later = time.monotonic() + 5.1
    monkeypatch.setattr(auth, "time", types.SimpleNamespace(monotonic=lambda: later))
    assert status(client, "partners", made["api_key"]) == 401
