"""What the settlement lists and statements take and give (`rewards.settlement`)."""

from __future__ import annotations

import marshmallow as ma

from rewards.settlement import MAX_PAGE


def list_query(statuses: tuple[str, ...]) -> type[ma.Schema]:
    """The query of a list: state, creation period, cursor, page size."""

    class ListQuery(ma.Schema):
        status = ma.fields.String(validate=ma.validate.OneOf(statuses))
        start = ma.fields.AwareDateTime(
            data_key="from", metadata={"description": "created at or after (with offset)"})
        end = ma.fields.AwareDateTime(data_key="to",
                                      metadata={"description": "created before (with offset)"})
        cursor = ma.fields.String(validate=ma.validate.Length(max=200),
                                  metadata={"description": "the previous page's next_cursor"})
        limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, MAX_PAGE))

    return ListQuery


class HoldItemSchema(ma.Schema):
    """One of your authorizations (holds)."""

    authorization_id = ma.fields.String()
    sub = ma.fields.String(allow_none=True, metadata={"description": "the resident's pseudonym"})
    out_request_no = ma.fields.String()
    amount_fen = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "held | captured | voided | expired"})
    created_at = ma.fields.String()
    expires_at = ma.fields.String()
    closed_at = ma.fields.String(allow_none=True)


class BillItemSchema(ma.Schema):
    """One of your bills."""

    bill_id = ma.fields.String()
    authorization_id = ma.fields.String()
    sub = ma.fields.String(allow_none=True, metadata={"description": "the resident's pseudonym"})
    out_bill_no = ma.fields.String()
    amount_fen = ma.fields.Integer()
    paid_fen = ma.fields.Integer()
    owed_fen = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "open | overdue | paid"})
    created_at = ma.fields.String()
    due_at = ma.fields.String()
    overdue_at = ma.fields.String(allow_none=True)
    paid_at = ma.fields.String(allow_none=True)


class WaiverItemSchema(ma.Schema):
    """One of your deposit waivers."""

    waiver_id = ma.fields.String()
    sub = ma.fields.String(allow_none=True, metadata={"description": "the resident's pseudonym"})
    scenario = ma.fields.String()
    out_order_no = ma.fields.String()
    item = ma.fields.String()
    deposit_fen = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "active | completed | defaulted | settled"})
    created_at = ma.fields.String()
    due_at = ma.fields.String()
    completed_at = ma.fields.String(allow_none=True)
    defaulted_at = ma.fields.String(allow_none=True)
    settled_at = ma.fields.String(allow_none=True)


def page_of(item: type[ma.Schema]) -> type[ma.Schema]:
    class PageSchema(ma.Schema):
        items = ma.fields.List(ma.fields.Nested(item))
        next_cursor = ma.fields.String(allow_none=True,
                                       metadata={"description": "null on the last page"})

    PageSchema.__name__ = item.__name__.replace("ItemSchema", "PageSchema")
    return PageSchema


HoldPageSchema = page_of(HoldItemSchema)
BillPageSchema = page_of(BillItemSchema)
WaiverPageSchema = page_of(WaiverItemSchema)


class StatementQuerySchema(ma.Schema):
    day = ma.fields.Date(required=True, data_key="date",
                         metadata={"description": "a calendar day in Asia/Shanghai (YYYY-MM-DD)"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "csv")))


class StatementLineSchema(ma.Schema):
    at = ma.fields.String()
    type = ma.fields.String(metadata={"description": "authorized | captured | voided | expired | "
                                                     "billed | paid | waived | returned | "
                                                     "defaulted | settled"})
    account = ma.fields.String(metadata={"description": "held | owed | active | defaulted"})
    amount_fen = ma.fields.Integer(metadata={"description": "+ adds to the balance, − takes"})
    sub = ma.fields.String(allow_none=True)
    authorization_id = ma.fields.String(allow_none=True)
    bill_id = ma.fields.String(allow_none=True)
    payment_id = ma.fields.String(allow_none=True)
    waiver_id = ma.fields.String(allow_none=True)
    out_no = ma.fields.String(allow_none=True,
                              metadata={"description": "your out_request_no, out_bill_no or "
                                                       "out_order_no"})


class BalanceSchema(ma.Schema):
    opening_fen = ma.fields.Integer()
    closing_fen = ma.fields.Integer()


class SettlementDocumentSchema(ma.Schema):
    partner = ma.fields.Dict()
    kind = ma.fields.String()
    date = ma.fields.String()
    period = ma.fields.Dict(metadata={"description": "{from, to}: the day's bounds in UTC"})
    generated_at = ma.fields.String()
    balances = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(BalanceSchema))
    totals = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                            metadata={"description": "fen by line type"})
    count = ma.fields.Integer()
    lines = ma.fields.List(ma.fields.Nested(StatementLineSchema))


class SettlementStatementSchema(ma.Schema):
    """A signed daily statement: verify `signature` (report-keys.json), then the digests."""

    statement = ma.fields.Nested(SettlementDocumentSchema)
    signature = ma.fields.String(metadata={"description": "compact JWS (EdDSA, typ "
                                                          "pc-statement+jws) over the seal"})
