"""Deposit waivers' request and answer shapes (a first answer and its replay render alike)."""

from __future__ import annotations

import marshmallow as ma

from app.api.common import KEY, UTCDateTime
from app.api.medical_credit.schemas import CreditPartnerRefSchema
from rewards.waivers.services import MAX_DEPOSIT_FEN


class DepositWaiverInSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=ma.validate.Length(1, 4096),
                             metadata={"description": "the resident's token (信用码)"})
    out_order_no = ma.fields.String(required=True, validate=KEY,
                                    metadata={"description": "your idempotency key"})
    deposit_fen = ma.fields.Integer(required=True, strict=True,
                                    validate=ma.validate.Range(1, MAX_DEPOSIT_FEN))
    due_at = ma.fields.AwareDateTime(required=True,
                                     metadata={"description": "when the item is due back"})
    item = ma.fields.String(required=True, validate=ma.validate.Length(1, 200),
                            metadata={"description": "what is lent, e.g. a bike number"})
    items = ma.fields.Integer(strict=True, load_default=None,
                              validate=ma.validate.Range(1, 10_000), metadata={
                                  "description": "how many items are lent, where the scenario "
                                                 "counts them (library lending)"})


class DepositWaiverSchema(ma.Schema):
    waiver_id = ma.fields.String()
    sub = ma.fields.String(metadata={"description": "your pairwise pseudonym of the resident"})
    scenario = ma.fields.String()
    out_order_no = ma.fields.String()
    item = ma.fields.String()
    deposit_fen = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "active | completed | defaulted | settled"})
    created_at = UTCDateTime()
    due_at = UTCDateTime()
    completed_at = UTCDateTime()
    defaulted_at = UTCDateTime()
    settled_at = UTCDateTime()


class DepositMyWaiverSchema(DepositWaiverSchema):
    partner = ma.fields.Nested(CreditPartnerRefSchema)
    reported = ma.fields.Boolean(metadata={"description": "a default record was written"})


class DepositMyWaiversSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DepositMyWaiverSchema))
