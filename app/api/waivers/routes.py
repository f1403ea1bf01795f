"""Deposit waivers (免押): partners create, complete and report defaults
(`/partner/v1/deposit-waivers`); residents see theirs (`/api/v1/me/deposit-waivers`)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.api.medical_credit.routes import KEY, TIME, CreditPartnerRefSchema, terms
from app.runtime import runtime
from rewards.waivers import services as waivers

partner_blp = Blueprint("deposit_waivers", __name__, url_prefix="/partner/v1/deposit-waivers",
                        description="Deposit partners waive a deposit, then complete it or "
                                    "report a default (免押)")
blp = Blueprint("deposit_waivers_me", __name__, url_prefix="/api/v1/me/deposit-waivers",
                description="The resident's deposit waivers")


class DepositWaiverInSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=ma.validate.Length(1, 4096),
                             metadata={"description": "the resident's token (信用码)"})
    out_order_no = ma.fields.String(required=True, validate=KEY,
                                    metadata={"description": "your idempotency key"})
    deposit_fen = ma.fields.Integer(required=True, strict=True,
                                    validate=ma.validate.Range(1, waivers.MAX_DEPOSIT_FEN))
    due_at = ma.fields.AwareDateTime(required=True,
                                     metadata={"description": "when the item is due back"})
    item = ma.fields.String(required=True, validate=ma.validate.Length(1, 200),
                            metadata={"description": "what is lent, e.g. a bike number"})


class DepositWaiverSchema(ma.Schema):
    waiver_id = ma.fields.String()
    sub = ma.fields.String(metadata={"description": "your pairwise pseudonym of the resident"})
    scenario = ma.fields.String()
    out_order_no = ma.fields.String()
    item = ma.fields.String()
    deposit_fen = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "active | completed | defaulted | settled"})
    created_at = ma.fields.String(metadata=TIME)
    due_at = ma.fields.String(metadata=TIME)
    completed_at = ma.fields.String(allow_none=True, metadata=TIME)
    defaulted_at = ma.fields.String(allow_none=True, metadata=TIME)
    settled_at = ma.fields.String(allow_none=True, metadata=TIME)


class DepositMyWaiverSchema(DepositWaiverSchema):
    partner = ma.fields.Nested(CreditPartnerRefSchema)
    reported = ma.fields.Boolean(metadata={"description": "a default record was written"})


class DepositMyWaiversSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DepositMyWaiverSchema))


@partner_blp.route("")
class Waivers(MethodView):
    @partner_blp.arguments(DepositWaiverInSchema())
    @partner_blp.response(201, DepositWaiverSchema)
    @partner_blp.doc(security=[{"partnerKey": []}])
    def post(self, body):
        """Waive a deposit (within the resident's cap and limit of open waivers; uses up their
        token); idempotent by out_order_no."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "deposit_partner")
        return waivers.create(runtime().uow, body["token"], partner=partner,
                              out_order_no=body["out_order_no"], deposit_fen=body["deposit_fen"],
                              due_at=body["due_at"], item=body["item"],
                              now=runtime().clock.now())


@partner_blp.route("/<uuid:waiver_id>/complete")
class Complete(MethodView):
    @partner_blp.response(200, DepositWaiverSchema)
    @partner_blp.doc(security=[{"partnerKey": []}])
    def post(self, waiver_id):
        """The item came back: complete the waiver, or settle it if it was in default."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "deposit_partner")
            return waivers.complete(uow, waiver_id, partner=partner, now=runtime().clock.now())


@partner_blp.route("/<uuid:waiver_id>/default")
class Default(MethodView):
    @partner_blp.response(200, DepositWaiverSchema)
    @partner_blp.doc(security=[{"partnerKey": []}])
    def post(self, waiver_id):
        """The item was not returned by its due date (a record follows after a grace period)."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "deposit_partner")
            return waivers.default(uow, waiver_id, partner=partner, now=runtime().clock.now(),
                                   grace=terms().waiver_grace)


@blp.route("")
class MyWaivers(MethodView):
    @blp.response(200, DepositMyWaiversSchema)
    @blp.doc(security=[{"residentSession": []}])
    def get(self):
        """Your deposit waivers: open ones first, then the newest."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": waivers.for_resident(uow.session, resident.id)}
