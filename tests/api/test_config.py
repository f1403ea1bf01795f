"""Configuration: safe defaults for development, clear refusals elsewhere."""

from __future__ import annotations

import json
import os
import stat

import pytest

from app import create_app
from app.config import ConfigError
from core import embedded
from core.crypto import new_key_text
from tests.support.factories import bearer, login


@pytest.fixture
def clean_env(monkeypatch, cluster_home):
    for name in list(os.environ):
        if name.startswith("PENGCHENG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PENGCHENG_INSTANCE_PATH", str(cluster_home / "instance"))
    return cluster_home / "instance"


def production(idp, **overrides):
    config = {"ENV": "production", "MASTER_KEY": new_key_text(), "INDEX_KEY": new_key_text(),
              "IDP_JWKS": idp.jwks,
              # a server address that is never reached: these tests only build the app
              "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/unused"}
    config.update(overrides)
    return config


@pytest.mark.parametrize("missing", ["MASTER_KEY", "INDEX_KEY", "IDP_JWKS"])
def test_outside_development_a_missing_secret_is_a_config_error(clean_env, idp, missing):
    with pytest.raises(ConfigError, match=f"PENGCHENG_{missing}"):
        create_app(production(idp, **{missing: None}))
    assert not (clean_env / "master.key").exists()


def test_the_environment_variable_selects_production_mode(clean_env, monkeypatch):
    monkeypatch.setenv("PENGCHENG_ENV", "production")
    with pytest.raises(ConfigError, match="PENGCHENG_MASTER_KEY"):
        create_app()


@pytest.mark.parametrize("bad", ["short", "zz" * 32, new_key_text() + ",nope"],
                         ids=["too-short", "not-base64", "second-key-bad"])
def test_a_malformed_master_key_is_a_config_error(clean_env, idp, bad):
    with pytest.raises(ConfigError, match="not a valid key"):
        create_app(production(idp, MASTER_KEY=bad))


def test_a_complete_production_configuration_starts(clean_env, idp):
    app = create_app(production(idp))
    assert app.config["ENV"] == "production"
    assert not (clean_env / "master.key").exists()


def test_development_generates_keys_into_the_instance_folder_once(clean_env):
    first = create_app({"ENV": "development"})
    master, index = clean_env / "master.key", clean_env / "index.key"
    assert master.exists() and index.exists()
    assert stat.S_IMODE(master.stat().st_mode) == 0o600
    assert master.read_text() != index.read_text()
    second = create_app({"ENV": "development"})
    assert first.config["MASTER_KEY"] == second.config["MASTER_KEY"] == master.read_text().strip()
    # No PENGCHENG_DATABASE_URL: the embedded PostgreSQL under the instance path, shared by
    # both apps of this process (one cluster, one user), a real server that answers.
    cluster = clean_env / "postgres"
    assert first.config["DATABASE_URL"] == second.config["DATABASE_URL"] == (
        f"postgresql://pengcheng_app@/pengcheng?host={cluster}")
    assert first.config["MIGRATION_DATABASE_URL"] == (
        f"postgresql://postgres@/pengcheng?host={cluster}")
    engine = first.extensions["pengcheng"].engine
    with engine.connect() as conn:
        # The app's own role, not a superuser (it never takes the reserved connections).
        assert conn.exec_driver_sql(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).one() == ("pengcheng_app", False)
        assert conn.exec_driver_sql("SHOW port").scalar() == "5432"  # the socket's name only
    engine.dispose()
    second.extensions["pengcheng"].engine.dispose()
    embedded.for_instance(clean_env).detach()  # the last user: it stops
    assert not embedded.for_instance(clean_env).running()


def test_the_idp_jwks_may_be_a_path_to_a_file(clean_env, idp, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(idp.jwks))
    app = create_app(production(idp, IDP_JWKS=str(path)))
    assert app.extensions["pengcheng"].idp.jwks is not None


def test_demo_login_routes_do_not_exist_outside_development(clean_env, idp):
    client = create_app(production(idp)).test_client()
    for method, path in (("GET", "/api/v1/auth/demo/residents"), ("POST", "/api/v1/auth/demo")):
        response = client.open(path, method=method, json={"resident_id": "0" * 32})
        assert response.status_code == 404
        assert response.get_json()["code"] == "not_found"
    rules = {r.rule for r in client.application.url_map.iter_rules()}
    assert not any("demo" in r for r in rules)


def test_demo_login_works_in_development(app, client, idp):
    login(client, idp, 1, "周九")
    residents = client.get("/api/v1/auth/demo/residents").get_json()
    assert len(residents) == 1 and "周九" in residents[0]["label"]
    session = client.post("/api/v1/auth/demo", json={"resident_id": residents[0]["resident_id"]})
    assert session.status_code == 201
    me = client.get("/api/v1/me", headers=bearer(session.get_json()["token"]))
    assert me.get_json()["name"] == "周九"
    unknown = client.post("/api/v1/auth/demo",
                          json={"resident_id": "00000000-0000-0000-0000-000000000000"})
    assert unknown.status_code == 404


def test_without_idp_configuration_development_login_is_a_503_not_a_crash(
        config, clock, tmp_path, monkeypatch, idp):
    monkeypatch.setenv("PENGCHENG_INSTANCE_PATH", str(tmp_path / "inst"))
    app = create_app({**config, "IDP_JWKS": None}, clock=clock)
    response = app.test_client().post("/api/v1/auth/session",
                                      json={"assertion": idp.assertion("11010519491231002X")})
    assert response.status_code == 503
    assert response.get_json()["code"] == "idp_not_configured"
    app.extensions["pengcheng"].engine.dispose()


def test_the_openapi_document_lists_the_backbone_endpoints(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/auth/session", "/ingest/v1/records", "/api/v1/me",
                 "/.well-known/jwks.json"):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200
