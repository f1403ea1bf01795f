"""The floor: how fast an introspection can be on this machine with no framework at all.

Two WSGI apps for `bench/load/run.py --floor`, served by the same gunicorn settings as the
real endpoints:

* `wsgi_bare()` — the bare endpoint without Flask: read the body, parse JSON, answer JSON.
  What gunicorn itself costs per request.
* `introspection_floor()` — the least an introspection must do here and nothing more: parse
  the body, find the partner by its key (remembered per process), check the token's Ed25519
  signature, one call of `pc_introspect` (the access-log entry and the live check) on a
  per-thread autocommit connection, answer JSON. No Flask, no argument schema, no request id,
  no security headers, no error handling: not a service, a lower bound. Any real endpoint
  costs at least this much, so a target it cannot reach is out of reach.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import markupsafe  # noqa: F401 - bench.common.wait_loaded waits for workers to map it

INTROSPECT_PATH = "/partner/v1/tokens/introspect"
_PC_INTROSPECT = (
    "SELECT pc_introspect(%(jti)s, %(sub)s, %(scn)s, %(iat)s, CAST(%(ent)s AS json),"
    " %(partner_id)s, %(client_id)s, %(partner_name)s, NULL, %(log_id)s, %(now)s,"
    " %(exclusions)s)")


def _answer(start_response: Any, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]


def _body(environ: dict[str, Any]) -> Any:
    return json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))


def wsgi_bare() -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        _body(environ)
        return _answer(start_response, {"active": False})

    return app


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def introspection_floor() -> Any:
    import psycopg

    from app import create_app
    from app.runtime import runtime
    from core.identity import Partner, by_api_key
    from rewards.tokens import shipped_exclusions

    flask_app = create_app()  # for /healthz, the keys and the partner lookup
    url = flask_app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    partners: dict[str, Partner] = {}
    keys: dict[str, Any] = {}
    local = threading.local()

    def looked_up(api_key: str, kid: str) -> tuple[Partner, Any]:
        with flask_app.app_context(), runtime().uow() as uow:
            if api_key not in partners:
                found = by_api_key(uow.session, Partner, api_key)
                uow.session.expunge(found)
                partners[api_key] = found
            if kid not in keys:
                keys[kid] = runtime().tokens.public_key(uow.session, kid, datetime.now(UTC))
        return partners[api_key], keys[kid]

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] != INTROSPECT_PATH:
            return flask_app(environ, start_response)
        token = _body(environ)["token"]
        api_key = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        head, payload, signature = token.split(".")
        kid = json.loads(_segment(head))["kid"]
        partner, key = partners.get(api_key), keys.get(kid)
        if partner is None or key is None:
            partner, key = looked_up(api_key, kid)
        key.verify(_segment(signature), f"{head}.{payload}".encode())
        claims = json.loads(_segment(payload))
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        outcome = conn.execute(_PC_INTROSPECT, {
            "jti": claims["jti"], "sub": claims["sub"], "scn": claims["scn"],
            "iat": claims["iat"], "ent": json.dumps(claims["ent"]), "partner_id": partner.id,
            "client_id": partner.client_id, "partner_name": partner.name,
            "log_id": uuid.uuid4(), "now": datetime.now(UTC),
            "exclusions": shipped_exclusions(claims["scn"])}).fetchone()[0]
        if not outcome.startswith("active"):
            return _answer(start_response, {"active": False})
        return _answer(start_response, {"sub": claims["sub"], "scn": claims["scn"],
                                        "ent": claims["ent"], "active": True,
                                        "exp": claims["exp"]})

    return app
