"""先诊后付: hospitals authorize, capture and void (`/partner/v1/medical-credit`), payment
channels take repayments, residents see their line and bills (`/api/v1/me/medical-credit`),
and in development a built-in demo channel lets a resident pay."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView

from app import auth
from app.api.common import COUNTER, PARTNER, RESIDENT, Blueprint
from app.api.medical_credit.schemas import (
    CounterHoldListSchema,
    CounterHoldsQuerySchema,
    CreditAuthorizationSchema,
    CreditAuthorizeSchema,
    CreditBillSchema,
    CreditCaptureSchema,
    CreditDemoPaymentInSchema,
    CreditPaymentInSchema,
    CreditPaymentSchema,
    MedicalCreditSchema,
)
from app.runtime import runtime
from rewards.credit import services as credit
from rewards.credit import terms as credit_terms
from rewards.credit.views import counter_holds, summary

partner_blp = Blueprint("medical_credit", __name__, url_prefix="/partner/v1/medical-credit",
                        description="Hospitals hold, capture and void credit; payment channels "
                                    "take repayments (先诊后付)")
blp = Blueprint("medical_credit_me", __name__, url_prefix="/api/v1/me/medical-credit",
                description="The resident's credit care line, holds and bills")
demo_blp = Blueprint("medical_credit_demo", __name__, url_prefix="/api/v1/me/medical-credit",
                     description="Development only: pay a bill through a built-in demo channel")


def terms() -> credit_terms.Terms:
    """The credit terms this app is configured with."""
    return credit_terms.from_config(runtime().settings)


# -- partners -----------------------------------------------------------------------------------

@partner_blp.route("/authorizations")
class Authorizations(MethodView):
    @partner_blp.arguments(CounterHoldsQuerySchema(), location="query")
    @partner_blp.response(200, CounterHoldListSchema)
    @partner_blp.doc(security=COUNTER)
    def get(self, query):
        """Your holds of the last `hours` (24), newest first: the counter's working list."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "hospital")
            now = runtime().clock.now()
            return {"items": counter_holds(uow.session, partner, now=now,
                                           since=now - timedelta(hours=query["hours"]))}

    @partner_blp.arguments(CreditAuthorizeSchema())
    @partner_blp.response(201, CreditAuthorizationSchema)
    @partner_blp.doc(security=COUNTER)
    def post(self, body):
        """Hold an amount of the resident's credit line (uses up their token); idempotent by
        out_request_no."""
        partner = auth.calling_partner("hospital")
        return credit.authorize(runtime().uow, body["token"], partner=partner,
                                amount_fen=body["amount_fen"],
                                out_request_no=body["out_request_no"],
                                now=runtime().clock.now(), terms=terms(), ctx=runtime().tokens,
                                staff_id=auth.calling_staff())


@partner_blp.route("/authorizations/<uuid:authorization_id>/capture")
class Capture(MethodView):
    @partner_blp.arguments(CreditCaptureSchema())
    @partner_blp.response(201, CreditBillSchema)
    @partner_blp.doc(security=COUNTER)
    def post(self, body, authorization_id):
        """Post the bill (at most the hold; the rest is released); idempotent by out_bill_no."""
        partner = auth.calling_partner("hospital")
        return credit.capture(runtime().uow, authorization_id, partner=partner,
                              amount_fen=body["amount_fen"], out_bill_no=body["out_bill_no"],
                              now=runtime().clock.now(), terms=terms(),
                              staff_id=auth.calling_staff())


@partner_blp.route("/authorizations/<uuid:authorization_id>/void")
class Void(MethodView):
    @partner_blp.response(200, CreditAuthorizationSchema)
    @partner_blp.doc(security=COUNTER)
    def post(self, authorization_id):
        """Release the hold (repeating answers the same state)."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, "hospital")
            return credit.void(uow, authorization_id, partner=partner, now=runtime().clock.now(),
                               staff_id=auth.calling_staff())


@partner_blp.route("/bills/<uuid:bill_id>/payments")
class Payments(MethodView):
    @partner_blp.arguments(CreditPaymentInSchema())
    @partner_blp.response(201, CreditPaymentSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, body, bill_id):
        """Take a repayment (partial allowed, never more than owed); idempotent by
        out_payment_no. Payment channels only."""
        partner = auth.calling_partner("payment_channel")
        return credit.pay(runtime().uow, bill_id, partner=partner, amount_fen=body["amount_fen"],
                          out_payment_no=body["out_payment_no"], now=runtime().clock.now())


# -- the resident -------------------------------------------------------------------------------

@blp.route("")
class MyMedicalCredit(MethodView):
    @blp.response(200, MedicalCreditSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Your credit care line, what is held and owed, open holds, bills and history."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return summary(uow, resident, now=runtime().clock.now(), terms=terms())


@demo_blp.route("/bills/<uuid:bill_id>/demo-payment")
class DemoPayment(MethodView):
    @demo_blp.arguments(CreditDemoPaymentInSchema())
    @demo_blp.response(201, CreditPaymentSchema)
    @demo_blp.doc(security=RESIDENT)
    def post(self, body, bill_id):
        """Development only: pay your bill through the built-in demo payment channel."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return credit.pay_demo(uow, resident, bill_id, amount_fen=body["amount_fen"],
                                   now=runtime().clock.now())
