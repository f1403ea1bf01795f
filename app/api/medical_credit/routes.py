"""先诊后付: hospitals authorize, capture and void (`/partner/v1/medical-credit`), payment
channels take repayments, residents see their line and bills (`/api/v1/me/medical-credit`),
and in development a built-in demo channel lets a resident pay."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.runtime import runtime
from rewards.credit import services as credit
from rewards.credit import terms as credit_terms
from rewards.credit.views import summary

partner_blp = Blueprint("medical_credit", __name__, url_prefix="/partner/v1/medical-credit",
                        description="Hospitals hold, capture and void credit; payment channels "
                                    "take repayments (先诊后付)")
blp = Blueprint("medical_credit_me", __name__, url_prefix="/api/v1/me/medical-credit",
                description="The resident's credit care line, holds and bills")
demo_blp = Blueprint("medical_credit_demo", __name__, url_prefix="/api/v1/me/medical-credit",
                     description="Development only: pay a bill through a built-in demo channel")

AMOUNT = ma.validate.Range(min=1, max=credit.MAX_FEN)
KEY = ma.validate.Length(1, 64)
TIME = {"format": "date-time"}


def terms() -> credit_terms.Terms:
    return credit_terms.from_config(current_app.config)


class CreditAuthorizeSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=ma.validate.Length(1, 4096),
                             metadata={"description": "the resident's token (信用码)"})
    out_request_no = ma.fields.String(required=True, validate=KEY,
                                      metadata={"description": "your idempotency key"})
    amount_fen = ma.fields.Integer(required=True, strict=True, validate=AMOUNT)


class CreditAuthorizationSchema(ma.Schema):
    authorization_id = ma.fields.String()
    sub = ma.fields.String(metadata={"description": "your pairwise pseudonym of the resident"})
    out_request_no = ma.fields.String()
    amount_fen = ma.fields.Integer(metadata={"description": "the amount held"})
    available_fen = ma.fields.Integer(metadata={"description": "left on the line after it"})
    status = ma.fields.String(metadata={"description": "held | captured | voided | expired"})
    created_at = ma.fields.String(metadata=TIME)
    expires_at = ma.fields.String(metadata=TIME)
    closed_at = ma.fields.String(allow_none=True, metadata=TIME)


class CreditCaptureSchema(ma.Schema):
    amount_fen = ma.fields.Integer(required=True, strict=True, validate=AMOUNT,
                                   metadata={"description": "the bill, at most the hold"})
    out_bill_no = ma.fields.String(required=True, validate=KEY)


class CreditBillSchema(ma.Schema):
    bill_id = ma.fields.String()
    authorization_id = ma.fields.String()
    out_bill_no = ma.fields.String()
    amount_fen = ma.fields.Integer()
    released_fen = ma.fields.Integer(metadata={"description": "the part of the hold released"})
    paid_fen = ma.fields.Integer()
    owed_fen = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "open | overdue | paid"})
    created_at = ma.fields.String(metadata=TIME)
    due_at = ma.fields.String(metadata=TIME)
    overdue_at = ma.fields.String(allow_none=True, metadata=TIME)
    paid_at = ma.fields.String(allow_none=True, metadata=TIME)


class CreditPaymentInSchema(ma.Schema):
    out_payment_no = ma.fields.String(required=True, validate=KEY)
    amount_fen = ma.fields.Integer(required=True, strict=True, validate=AMOUNT)


class CreditDemoPaymentInSchema(ma.Schema):
    amount_fen = ma.fields.Integer(required=True, strict=True, validate=AMOUNT)


class CreditPaymentSchema(ma.Schema):
    payment_id = ma.fields.String()
    bill_id = ma.fields.String()
    out_payment_no = ma.fields.String()
    amount_fen = ma.fields.Integer()
    paid_fen = ma.fields.Integer()
    owed_fen = ma.fields.Integer()
    bill_status = ma.fields.String()
    due_at = ma.fields.String(metadata=TIME)
    created_at = ma.fields.String(metadata=TIME)


class CreditPartnerRefSchema(ma.Schema):
    client_id = ma.fields.String()
    name = ma.fields.String()


class CreditReasonSchema(ma.Schema):
    code = ma.fields.String()
    zh = ma.fields.String()
    en = ma.fields.String()


class CreditHoldViewSchema(ma.Schema):
    authorization_id = ma.fields.String()
    hospital = ma.fields.Nested(CreditPartnerRefSchema, allow_none=True)
    amount_fen = ma.fields.Integer()
    status = ma.fields.String()
    created_at = ma.fields.String(metadata=TIME)
    expires_at = ma.fields.String(metadata=TIME)


class CreditBillPaymentSchema(ma.Schema):
    payment_id = ma.fields.String()
    amount_fen = ma.fields.Integer()
    channel = ma.fields.String()
    created_at = ma.fields.String(metadata=TIME)


class CreditBillViewSchema(ma.Schema):
    bill_id = ma.fields.String()
    authorization_id = ma.fields.String()
    hospital = ma.fields.Nested(CreditPartnerRefSchema, allow_none=True)
    amount_fen = ma.fields.Integer()
    paid_fen = ma.fields.Integer()
    owed_fen = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "open | overdue | paid"})
    created_at = ma.fields.String(metadata=TIME)
    due_at = ma.fields.String(metadata=TIME)
    overdue_at = ma.fields.String(allow_none=True, metadata=TIME)
    paid_at = ma.fields.String(allow_none=True, metadata=TIME)
    reported = ma.fields.Boolean(metadata={"description": "an overdue record was written"})
    payments = ma.fields.List(ma.fields.Nested(CreditBillPaymentSchema))


class CreditTermsSchema(ma.Schema):
    hold_hours = ma.fields.Integer()
    due_days = ma.fields.Integer()
    remind_days = ma.fields.Integer()
    grace_days = ma.fields.Integer()


class MedicalCreditSchema(ma.Schema):
    eligible = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.Nested(CreditReasonSchema),
                             metadata={"description": "why not (only you see this)"})
    line_fen = ma.fields.Integer(metadata={"description": "your line by tier"})
    held_fen = ma.fields.Integer()
    owed_fen = ma.fields.Integer()
    available_fen = ma.fields.Integer()
    holds = ma.fields.List(ma.fields.Nested(CreditHoldViewSchema))
    bills = ma.fields.List(ma.fields.Nested(CreditBillViewSchema),
                           metadata={"description": "unpaid bills, soonest due first"})
    history = ma.fields.List(ma.fields.Dict(),
                             metadata={"description": "closed holds and paid bills"})
    terms = ma.fields.Nested(CreditTermsSchema)


# -- partners -----------------------------------------------------------------------------------

@partner_blp.route("/authorizations")
class Authorizations(MethodView):
    @partner_blp.arguments(CreditAuthorizeSchema())
    @partner_blp.response(201, CreditAuthorizationSchema)
    @partner_blp.doc(security=[{"partnerKey": []}])
    def post(self, body):
        """Hold an amount of the resident's credit line (uses up their token); idempotent by
        out_request_no."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "hospital")
        return credit.authorize(runtime().uow, body["token"], partner=partner,
                                amount_fen=body["amount_fen"],
                                out_request_no=body["out_request_no"],
                                now=runtime().clock.now(), terms=terms())


@partner_blp.route("/authorizations/<uuid:authorization_id>/capture")
class Capture(MethodView):
    @partner_blp.arguments(CreditCaptureSchema())
    @partner_blp.response(201, CreditBillSchema)
    @partner_blp.doc(security=[{"partnerKey": []}])
    def post(self, body, authorization_id):
        """Post the bill (at most the hold; the rest is released); idempotent by out_bill_no."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "hospital")
        return credit.capture(runtime().uow, authorization_id, partner=partner,
                              amount_fen=body["amount_fen"], out_bill_no=body["out_bill_no"],
                              now=runtime().clock.now(), terms=terms())


@partner_blp.route("/authorizations/<uuid:authorization_id>/void")
class Void(MethodView):
    @partner_blp.response(200, CreditAuthorizationSchema)
    @partner_blp.doc(security=[{"partnerKey": []}])
    def post(self, authorization_id):
        """Release the hold (repeating answers the same state)."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "hospital")
            return credit.void(uow, authorization_id, partner=partner, now=runtime().clock.now())


@partner_blp.route("/bills/<uuid:bill_id>/payments")
class Payments(MethodView):
    @partner_blp.arguments(CreditPaymentInSchema())
    @partner_blp.response(201, CreditPaymentSchema)
    @partner_blp.doc(security=[{"partnerKey": []}])
    def post(self, body, bill_id):
        """Take a repayment (partial allowed, never more than owed); idempotent by
        out_payment_no. Payment channels only."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "payment_channel")
        return credit.pay(runtime().uow, bill_id, partner=partner, amount_fen=body["amount_fen"],
                          out_payment_no=body["out_payment_no"], now=runtime().clock.now())


# -- the resident -------------------------------------------------------------------------------

@blp.route("")
class MyMedicalCredit(MethodView):
    @blp.response(200, MedicalCreditSchema)
    @blp.doc(security=[{"residentSession": []}])
    def get(self):
        """Your credit care line, what is held and owed, open holds, bills and history."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return summary(uow, resident, now=runtime().clock.now(), terms=terms())


@demo_blp.route("/bills/<uuid:bill_id>/demo-payment")
class DemoPayment(MethodView):
    @demo_blp.arguments(CreditDemoPaymentInSchema())
    @demo_blp.response(201, CreditPaymentSchema)
    @demo_blp.doc(security=[{"residentSession": []}])
    def post(self, body, bill_id):
        """Development only: pay your bill through the built-in demo payment channel."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return credit.pay_demo(uow, resident, bill_id, amount_fen=body["amount_fen"],
                                   now=runtime().clock.now())
