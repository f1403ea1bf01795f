"""What a data source's batch looks like, and the answer."""

from __future__ import annotations

import marshmallow as ma

from app.api.common import UTCDateTime
from core.records import MAX_BATCH


class RecordInSchema(ma.Schema):
    """One record. Each is validated on its own; see `rejected` in the answer."""

    source_record_id = ma.fields.String(required=True)
    id_number = ma.fields.String(required=True, metadata={"description": "18-digit 身份证号"})
    category = ma.fields.String(required=True)
    type = ma.fields.String(required=True)
    occurred_at = UTCDateTime(required=True, allow_none=False)
    amount_fen = ma.fields.Integer(allow_none=True)
    quantity = ma.fields.Float(allow_none=True)
    severity = ma.fields.String(allow_none=True)
    attributes = ma.fields.Dict(allow_none=True)


class BatchSchema(ma.Schema):
    # Records are kept raw here and validated one by one in the domain, so one bad record is
    # a per-record rejection instead of failing the whole batch: an item that is not even an
    # object is one too (`not_an_object`), so the schema promises no type for an item.
    records = ma.fields.List(
        ma.fields.Raw(metadata={"description": "A record (see RecordIn); any other item is "
                                               "rejected on its own as `not_an_object`"}),
        required=True, validate=ma.validate.Length(1, MAX_BATCH),
    )


class RejectionSchema(ma.Schema):
    index = ma.fields.Integer()
    code = ma.fields.String()
    detail = ma.fields.String()


class IngestResultSchema(ma.Schema):
    accepted = ma.fields.Integer()
    duplicates = ma.fields.Integer()
    rejected = ma.fields.List(ma.fields.Nested(RejectionSchema))
