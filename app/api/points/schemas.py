"""What goes in and out of the points endpoints (partners, residents, operators)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.api.common import UTCDateTime
from rewards.points import ledger
from rewards.points.statements import PointsItem

ORDER_NO = ma.validate.Regexp(r"^[\x21-\x7e]{1,64}$",
                              error="1-64 printable ASCII characters, no spaces")


class PointsRedeemSchema(ma.Schema):
    token = ma.fields.String(required=True, metadata={"description": "the resident's token"})
    out_order_no = ma.fields.String(required=True, validate=ORDER_NO,
                                    metadata={"description": "your order number (idempotency)"})
    points = ma.fields.Integer(required=True, strict=True,
                               validate=ma.validate.Range(1, ledger.MAX_POINTS))


class PointsRedemptionSchema(ma.Schema):
    """A `RedemptionView` (or its stored answer)."""

    redemption_id = ma.fields.String()
    sub = ma.fields.String(metadata={"description": "your pairwise pseudonym of the resident"})
    points = ma.fields.Integer()
    out_order_no = ma.fields.String()
    refunded = ma.fields.Integer(metadata={"description": "points refunded so far"})
    refundable = ma.fields.Integer(metadata={"description": "points that can still be refunded"})
    created_at = UTCDateTime()


class PointsRefundInSchema(ma.Schema):
    out_refund_no = ma.fields.String(required=True, validate=ORDER_NO,
                                     metadata={"description": "your refund number (idempotency)"})
    points = ma.fields.Integer(strict=True, load_default=None, allow_none=True,
                               validate=ma.validate.Range(1, ledger.MAX_POINTS),
                               metadata={"description": "omit to refund all that is refundable"})


class PointsRefundSchema(ma.Schema):
    """A `RefundView` (or its stored answer)."""

    refund_id = ma.fields.String()
    redemption_id = ma.fields.String()
    sub = ma.fields.String()
    out_refund_no = ma.fields.String()
    points = ma.fields.Integer()
    returned = ma.fields.Integer(metadata={"description": "points back in the resident's balance"})
    expired = ma.fields.Integer(metadata={"description": "points whose lot expired meanwhile"})
    refunded_total = ma.fields.Integer()
    refundable = ma.fields.Integer()
    created_at = UTCDateTime()


class PointsPeriodSchema(ma.Schema):
    start = ma.fields.AwareDateTime(required=True, data_key="from",
                                    metadata={"description": "inclusive, with offset"})
    end = ma.fields.AwareDateTime(required=True, data_key="to",
                                  metadata={"description": "exclusive, with offset"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "csv")))


class PointsStatementLineSchema(ma.Schema):
    """A `StatementLine`."""

    at = UTCDateTime()
    type = ma.fields.String(metadata={"description": "redemption | refund"})
    points = ma.fields.Integer(metadata={"description": "+ redeemed, − refunded"})
    out_order_no = ma.fields.String(allow_none=True)
    out_refund_no = ma.fields.String(allow_none=True)
    redemption_id = ma.fields.String(allow_none=True)
    refund_id = ma.fields.String(allow_none=True)
    sub = ma.fields.String(allow_none=True)
    transfer_id = ma.fields.String()


class PointsStatementPartnerSchema(ma.Schema):
    """Who the statement is for."""

    client_id = ma.fields.String()
    name = ma.fields.String()


class PointsStatementPeriodSchema(ma.Schema):
    """`[from, to)`."""

    start = UTCDateTime(data_key="from", metadata={"description": "inclusive"})
    end = UTCDateTime(data_key="to", metadata={"description": "exclusive"})


class PointsStatementSchema(ma.Schema):
    """A `Statement`: its partner and period, balances and lines."""

    partner = ma.fields.Nested(PointsStatementPartnerSchema)
    account = ma.fields.String()
    period = ma.fields.Nested(PointsStatementPeriodSchema)
    opening_balance = ma.fields.Integer()
    redeemed = ma.fields.Integer()
    refunded = ma.fields.Integer()
    net = ma.fields.Integer()
    closing_balance = ma.fields.Integer()
    count = ma.fields.Integer()
    lines = ma.fields.List(ma.fields.Nested(PointsStatementLineSchema))


class PointsHistoryQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))


class PointsItemSchema(ma.Schema):
    """A `PointsItem`; `partner` only on the movements that name one."""

    transfer_id = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "earn | redeem | refund | expire"})
    points = ma.fields.Integer(metadata={"description": "+ in, − out"})
    at = UTCDateTime()
    rule = ma.fields.String(allow_none=True)
    title = ma.fields.Dict(allow_none=True, metadata={"description": "the rule's name (zh, en)"})
    partner = ma.fields.Method("_partner", allow_none=True, metadata={"type": "string"})

    def _partner(self, item: PointsItem) -> Any:
        return item.partner if item.names_partner else ma.missing


class PointsExpiringSchema(ma.Schema):
    points = ma.fields.Integer()
    expires_at = UTCDateTime()


class MyPointsSchema(ma.Schema):
    """A `PointsOverview`."""

    balance = ma.fields.Integer(metadata={"description": "points you can spend now"})
    history = ma.fields.List(ma.fields.Nested(PointsItemSchema))
    expiring = ma.fields.List(ma.fields.Nested(PointsExpiringSchema))
    expiring_total = ma.fields.Integer()
    expiring_within_days = ma.fields.Integer()


PointsReconciliationSchema = ma.Schema.from_dict({
    "ok": ma.fields.Boolean(), "legs_total": ma.fields.Integer(),
    "unbalanced_transfers": ma.fields.Integer(), "negative_balances": ma.fields.Integer(),
    "balance_mismatches": ma.fields.Integer(), "lot_mismatches": ma.fields.Integer(),
    "refund_mismatches": ma.fields.Integer(), "accounts": ma.fields.Integer(),
    "transfers": ma.fields.Integer()}, name="PointsReconciliation")
