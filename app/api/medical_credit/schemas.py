"""先诊后付's request and answer shapes. An answer renders a use case's dataclass or the stored
JSON of an idempotent write alike, so a first answer and its replay are the same bytes."""

from __future__ import annotations

import marshmallow as ma

from app.api.common import KEY, CodedReason, UTCDateTime
from rewards.credit.services import MAX_FEN

AMOUNT = ma.validate.Range(min=1, max=MAX_FEN)


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
    status = ma.fields.String(metadata={"description": "held | captured | voided | expired"})
    created_at = UTCDateTime()
    expires_at = UTCDateTime()
    closed_at = UTCDateTime()


class CounterHoldsQuerySchema(ma.Schema):
    hours = ma.fields.Integer(load_default=24, validate=ma.validate.Range(1, 24 * 7),
                              metadata={"description": "holds placed in the last this many hours"})


class CounterBillSchema(ma.Schema):
    bill_id = ma.fields.String()
    out_bill_no = ma.fields.String()
    amount_fen = ma.fields.Integer()
    due_at = UTCDateTime()


class CounterHoldSchema(CreditAuthorizationSchema):
    placed_by = ma.fields.String(allow_none=True, metadata={
        "description": "the counter staff username that placed the hold (null: the API key)"})
    bill = ma.fields.Nested(CounterBillSchema, allow_none=True)


class CounterHoldListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CounterHoldSchema))


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
    created_at = UTCDateTime()
    due_at = UTCDateTime()
    overdue_at = UTCDateTime()
    paid_at = UTCDateTime()


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
    due_at = UTCDateTime()
    created_at = UTCDateTime()


class CreditPartnerRefSchema(ma.Schema):
    client_id = ma.fields.String()
    name = ma.fields.String()


class CreditHoldViewSchema(ma.Schema):
    authorization_id = ma.fields.String()
    hospital = ma.fields.Nested(CreditPartnerRefSchema, allow_none=True)
    amount_fen = ma.fields.Integer()
    status = ma.fields.String()
    created_at = UTCDateTime()
    expires_at = UTCDateTime()


class CreditBillPaymentSchema(ma.Schema):
    payment_id = ma.fields.String()
    amount_fen = ma.fields.Integer()
    channel = ma.fields.String()
    created_at = UTCDateTime()


class CreditBillViewSchema(ma.Schema):
    bill_id = ma.fields.String()
    authorization_id = ma.fields.String()
    hospital = ma.fields.Nested(CreditPartnerRefSchema, allow_none=True)
    amount_fen = ma.fields.Integer()
    paid_fen = ma.fields.Integer()
    owed_fen = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "open | overdue | paid"})
    created_at = UTCDateTime()
    due_at = UTCDateTime()
    overdue_at = UTCDateTime()
    paid_at = UTCDateTime()
    reported = ma.fields.Boolean(metadata={"description": "an overdue record was written"})
    payments = ma.fields.List(ma.fields.Nested(CreditBillPaymentSchema))


class CreditTermsSchema(ma.Schema):
    hold_hours = ma.fields.Integer()
    due_days = ma.fields.Integer()
    remind_days = ma.fields.Integer()
    grace_days = ma.fields.Integer()


class MedicalCreditSchema(ma.Schema):
    eligible = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.Nested(CodedReason),
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
