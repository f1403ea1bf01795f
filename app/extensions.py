"""Extensions, created unbound and attached to an app in `create_app`."""

from __future__ import annotations

import http
from typing import Any

from flask import Flask, current_app
from flask_smorest import Api as _Api
from flask_smorest.utils import prepare_response
from sqlalchemy.orm import sessionmaker

from app.errors import PROBLEM, ProblemSchema
from app.idp import IdentityProvider
from core.clock import Clock, SystemClock
from core.crypto import Keyring, parse_key
from core.db import UnitOfWork, make_engine
from core.fast import RateLimiter, make_store
from core.signing import Signer


class Api(_Api):
    """flask-smorest's Api, documenting errors as application/problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Errors are mapped in app/errors.py, not by flask-smorest."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Problem details (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


class Services:
    """The process-wide parts one app needs: engine, keys, fast store, clock, identity provider."""

    def init_app(self, app: Flask, clock: Clock | None = None) -> None:
        cfg = app.config
        url = cfg["DATABASE_URL"]
        engine = make_engine(url, pool_size=int(cfg["DB_POOL_SIZE"]))
        masters = [parse_key(k) for k in str(cfg["MASTER_KEY"]).split(",")]
        keyring = Keyring(masters, parse_key(str(cfg["INDEX_KEY"])))
        store = make_store(cfg.get("REDIS_URL"))
        app.extensions["pengcheng"] = {
            "engine": engine,
            "session_factory": sessionmaker(engine, expire_on_commit=False),
            # For paths whose writes are one statement (introspection, the PostgreSQL
            # functions of core.pgcall): no BEGIN/COMMIT round trips. Never for anything
            # that needs two statements to be atomic.
            "autocommit_factory": sessionmaker(
                engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False),
            "keyring": keyring,
            "signer": Signer(keyring),
            "store": store,
            "limiter": RateLimiter(store),
            "clock": clock or SystemClock(),
            "idp": IdentityProvider.from_config(cfg.get("IDP_JWKS"), cfg.get("IDP_ISSUER")),
            "principal_cache": {},
        }

    @staticmethod
    def _state() -> dict[str, Any]:
        return current_app.extensions["pengcheng"]

    @staticmethod
    def app_config(key: str) -> Any:
        return current_app.config[key]

    def uow(self, *, autocommit: bool = False) -> UnitOfWork:
        """A unit of work; `autocommit=True` only where each statement may stand alone."""
        return UnitOfWork(self._state()["autocommit_factory" if autocommit else
                                        "session_factory"], autocommit=autocommit)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._state()[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


api = Api()
services = Services()
