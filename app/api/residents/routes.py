"""Resident sign-in and profile: `/api/v1/auth/session`, `/api/v1/me`."""

from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.ratelimit import attempt
from app.runtime import runtime
from core.identity import login, logout, read_personal
from core.idnumber import mask

blp = Blueprint("residents", __name__, url_prefix="/api/v1",
                description="Resident sign-in and profile")


class AssertionSchema(ma.Schema):
    assertion = ma.fields.String(required=True, validate=ma.validate.Length(1, 8192),
                                 metadata={"description": "JWT from the city identity provider"})


class SessionSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "Bearer token for the resident API"})
    expires_at = ma.fields.DateTime()
    resident_id = ma.fields.UUID()


class MeSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    id_number_masked = ma.fields.String()
    phone_masked = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


def open_session_for(claims: dict, channel: str) -> dict:
    ttl = timedelta(seconds=int(runtime().settings["SESSION_TTL_SECONDS"]))
    with runtime().uow() as uow:
        resident, token, expires = login(uow, runtime().keyring, claims,
                                         now=runtime().clock.now(), ttl=ttl, channel=channel)
    return {"token": token, "expires_at": expires, "resident_id": resident.id}


@blp.route("/auth/session")
class Session(MethodView):
    @blp.arguments(AssertionSchema())
    @blp.response(201, SessionSchema)
    def post(self, body):
        """Exchange an identity-provider assertion for a session token (first login registers)."""
        with attempt("login", by_address="RATE_LIMIT_LOGIN",
                     by_subject="RATE_LIMIT_LOGIN_IDENTITY") as tried:
            claims = runtime().idp.verify(body["assertion"], runtime().clock.now())
            tried.subject(f"{claims['iss']}|{claims['sub']}")
        return open_session_for(claims, "idp")

    @blp.response(204)
    @blp.doc(security=[{"residentSession": []}])
    def delete(self):
        """Log out: the session token stops working at once."""
        with runtime().uow() as uow:
            auth.resident(uow)
            logout(uow, auth.bearer(), runtime().clock.now())


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    @blp.doc(security=[{"residentSession": []}])
    def get(self):
        """The signed-in resident's own profile (ID number and phone masked)."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            person = read_personal(uow.session, runtime().keyring, resident)
        return {
            "id": resident.id,
            "name": person.name,
            "id_number_masked": mask(person.id_number),
            "phone_masked": person.phone[:3] + "****" + person.phone[-4:] if person.phone else None,
            "created_at": resident.created_at,
        }
