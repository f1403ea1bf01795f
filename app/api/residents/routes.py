"""Resident sign-in and profile: `/api/v1/auth/session`, `/api/v1/me`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.views import MethodView

from app import auth
from app.api.common import RESIDENT, Blueprint
from app.api.residents.schemas import AssertionSchema, MeSchema, SessionSchema
from app.ratelimit import attempt
from app.runtime import runtime
from core.identity import Profile, profile
from core.sessions import OpenedSession, login, logout

blp = Blueprint("residents", __name__, url_prefix="/api/v1",
                description="Resident sign-in and profile")


def open_session_for(claims: dict[str, Any], channel: str) -> OpenedSession:
    """A session for verified identity claims (the identity provider's, or the demo's)."""
    ttl = timedelta(seconds=int(runtime().settings["SESSION_TTL_SECONDS"]))
    with runtime().uow() as uow:
        return login(uow, runtime().keyring, claims, now=runtime().clock.now(), ttl=ttl,
                     channel=channel)


@blp.route("/auth/session")
class Session(MethodView):
    @blp.arguments(AssertionSchema())
    @blp.response(201, SessionSchema)
    def post(self, body: dict[str, Any]) -> OpenedSession:
        """Exchange an identity-provider assertion for a session token (first login registers)."""
        with attempt("login", by_address="RATE_LIMIT_LOGIN",
                     by_subject="RATE_LIMIT_LOGIN_IDENTITY") as tried:
            claims = runtime().idp.verify(body["assertion"], runtime().clock.now(),
                                           seen=runtime().store)
            tried.subject(f"{claims['iss']}|{claims['sub']}")
        return open_session_for(claims, "idp")

    @blp.response(204)
    @blp.doc(security=RESIDENT)
    def delete(self) -> None:
        """Log out: the session token stops working at once."""
        with runtime().uow() as uow:
            auth.resident(uow)
            logout(uow, auth.bearer(), runtime().clock.now())


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    @blp.doc(security=RESIDENT)
    def get(self) -> Profile:
        """The signed-in resident's own profile (ID number and phone masked)."""
        with runtime().uow() as uow:
            return profile(uow.session, runtime().keyring, auth.resident(uow))
