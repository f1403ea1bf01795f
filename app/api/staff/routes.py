"""Counter staff accounts (issue 20, item 4): a partner manages its own with its API key
(`/partner/v1/staff`), operators manage any partner's (`/admin/v1/partners/{client_id}/staff`),
and a staff member signs in to the counter (`/partner/v1/staff/sessions`). A staff session
cannot call any of the account endpoints (`app.auth.partner`)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app import auth
from app.api.common import OPERATOR, PARTNER, STAFF, Blueprint
from app.api.staff.schemas import (
    CurrentSessionSchema,
    SignInSchema,
    StaffInSchema,
    StaffListSchema,
    StaffSchema,
    StaffSessionSchema,
)
from app.ratelimit import attempt
from app.runtime import runtime
from core import staff
from core.db import UnitOfWork
from core.identity import Partner, principal

partner_blp = Blueprint("staff", __name__, url_prefix="/partner/v1/staff",
                        description="A partner's counter staff accounts, and their sign-in")
admin = Blueprint("staff_admin", __name__, url_prefix="/admin/v1/partners",
                  description="Operators manage any partner's counter staff accounts")

def _session(opened: staff.Opened) -> dict[str, Any]:
    return {"token": opened.token, "expires_at": opened.expires_at, "staff": opened.member,
            "partner": {"client_id": opened.client_id, "name": opened.partner_name}}


# -- staff sign-in (the counter page) ------------------------------------------------------------

@partner_blp.route("/sessions")
class Sessions(MethodView):
    @partner_blp.arguments(SignInSchema())
    @partner_blp.response(201, StaffSessionSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Sign in to the counter with the partner's client id, a username and password: a
        session token of 8 hours. Attempts are limited per address and per account."""
        with attempt("staff-sign-in", by_address="RATE_LIMIT_LOGIN",
                     by_subject="RATE_LIMIT_LOGIN_IDENTITY") as tried:
            tried.subject(f"{body['client_id'].strip()}|{body['username'].strip().lower()}")
        with runtime().uow() as uow:
            return _session(staff.sign_in(uow, client_id=body["client_id"],
                                          username=body["username"], password=body["password"],
                                          now=runtime().clock.now()))


@partner_blp.route("/sessions/current")
class CurrentSession(MethodView):
    @partner_blp.response(200, CurrentSessionSchema)
    @partner_blp.doc(security=STAFF)
    def get(self) -> dict[str, Any]:
        """Who this counter session is: the staff member and their partner."""
        with runtime().uow(autocommit=True) as uow:
            partner, member = staff.for_session(uow.session, auth.bearer(),
                                                runtime().clock.now())
            return {"staff": staff.Member.of(member),
                    "partner": {"client_id": partner.client_id, "name": partner.name}}

    @partner_blp.response(204)
    @partner_blp.doc(security=STAFF)
    def delete(self) -> None:
        """Sign out: the session token stops working at once."""
        with runtime().uow() as uow:
            staff.for_session(uow.session, auth.bearer(), runtime().clock.now())
            staff.sign_out(uow, auth.bearer(), now=runtime().clock.now())


# -- the partner's own accounts (its API key) ----------------------------------------------------

def _list(uow: UnitOfWork, partner: Partner) -> dict[str, Any]:
    return {"items": staff.members(uow.session, partner)}


def _add(uow: UnitOfWork, partner: Partner, body: dict[str, Any], actor: str) -> staff.Member:
    return staff.add(uow, partner, username=body["username"], name=body["name"],
                     password=body["password"], now=runtime().clock.now(), actor=actor)


@partner_blp.route("")
class Staff(MethodView):
    @partner_blp.response(200, StaffListSchema)
    @partner_blp.doc(security=PARTNER)
    def get(self) -> dict[str, Any]:
        """Your counter staff accounts, removed ones too."""
        with runtime().uow() as uow:
            return _list(uow, auth.partner(uow))

    @partner_blp.arguments(StaffInSchema())
    @partner_blp.response(201, StaffSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, body: dict[str, Any]) -> staff.Member:
        """Add a counter staff account (the password is stored hashed, never shown again)."""
        with runtime().uow() as uow:
            partner = auth.partner(uow)
            return _add(uow, partner, body, f"partner:{partner.client_id}")


@partner_blp.route("/<string:username>")
class StaffMember(MethodView):
    @partner_blp.response(200, StaffSchema)
    @partner_blp.doc(security=PARTNER)
    def delete(self, username: str) -> staff.Member:
        """Remove a staff account: it cannot sign in again and its sessions end at once."""
        with runtime().uow() as uow:
            partner = auth.partner(uow)
            return staff.remove(uow, partner, username, now=runtime().clock.now(),
                                actor=f"partner:{partner.client_id}")


# -- operators ---------------------------------------------------------------------------------

def _operated(uow: UnitOfWork, client_id: str) -> tuple[Partner, str]:
    operator = auth.operator(uow, "admin")
    return principal(uow.session, Partner, client_id), f"operator:{operator.client_id}"


@admin.route("/<string:client_id>/staff")
class AdminStaff(MethodView):
    @admin.response(200, StaffListSchema)
    @admin.doc(security=OPERATOR)
    def get(self, client_id: str) -> dict[str, Any]:
        """A partner's counter staff accounts (admin)."""
        with runtime().uow() as uow:
            partner, _actor = _operated(uow, client_id)
            return _list(uow, partner)

    @admin.arguments(StaffInSchema())
    @admin.response(201, StaffSchema)
    @admin.doc(security=OPERATOR)
    def post(self, body: dict[str, Any], client_id: str) -> staff.Member:
        """Add a counter staff account to a partner (admin; audited)."""
        with runtime().uow() as uow:
            partner, actor = _operated(uow, client_id)
            return _add(uow, partner, body, actor)


@admin.route("/<string:client_id>/staff/<string:username>")
class AdminStaffMember(MethodView):
    @admin.response(200, StaffSchema)
    @admin.doc(security=OPERATOR)
    def delete(self, client_id: str, username: str) -> staff.Member:
        """Remove a partner's counter staff account; its sessions end at once (admin; audited)."""
        with runtime().uow() as uow:
            partner, actor = _operated(uow, client_id)
            return staff.remove(uow, partner, username, now=runtime().clock.now(), actor=actor)
