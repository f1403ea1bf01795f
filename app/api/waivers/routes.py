"""Deposit waivers (免押): partners create, complete and report defaults
(`/partner/v1/deposit-waivers`); residents see theirs (`/api/v1/me/deposit-waivers`)."""

from __future__ import annotations

from flask.views import MethodView

from app import auth
from app.api.common import PARTNER, RESIDENT, Blueprint
from app.api.waivers.schemas import (
    DepositMyWaiversSchema,
    DepositWaiverInSchema,
    DepositWaiverSchema,
)
from app.runtime import runtime
from rewards.credit.terms import from_config
from rewards.waivers import services as waivers

partner_blp = Blueprint("deposit_waivers", __name__, url_prefix="/partner/v1/deposit-waivers",
                        description="Deposit partners waive a deposit, then complete it or "
                                    "report a default (免押)")
blp = Blueprint("deposit_waivers_me", __name__, url_prefix="/api/v1/me/deposit-waivers",
                description="The resident's deposit waivers")


@partner_blp.route("")
class Waivers(MethodView):
    @partner_blp.arguments(DepositWaiverInSchema())
    @partner_blp.response(201, DepositWaiverSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, body):
        """Waive a deposit (uses up the resident's token); idempotent by out_order_no. More
        than the resident can have (deposit, items, waivers open at once) is `limit_exceeded`,
        the same whatever the reason."""
        partner = auth.calling_partner("deposit_partner")
        return waivers.create(runtime().uow, body["token"], partner=partner,
                              out_order_no=body["out_order_no"], deposit_fen=body["deposit_fen"],
                              due_at=body["due_at"], item=body["item"], items=body["items"],
                              now=runtime().clock.now(), ctx=runtime().tokens)


@partner_blp.route("/<uuid:waiver_id>/complete")
class Complete(MethodView):
    @partner_blp.response(200, DepositWaiverSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, waiver_id):
        """The item came back: complete the waiver, or settle it if it was in default."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "deposit_partner")
            return waivers.complete(uow, waiver_id, partner=partner, now=runtime().clock.now())


@partner_blp.route("/<uuid:waiver_id>/default")
class Default(MethodView):
    @partner_blp.response(200, DepositWaiverSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, waiver_id):
        """The item was not returned by its due date (a record follows after a grace period)."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "deposit_partner")
            return waivers.default(uow, waiver_id, partner=partner, now=runtime().clock.now(),
                                   grace=from_config(runtime().settings).waiver_grace)


@blp.route("")
class MyWaivers(MethodView):
    @blp.response(200, DepositMyWaiversSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Your deposit waivers: open ones first, then the newest."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": waivers.for_resident(uow.session, resident.id)}
