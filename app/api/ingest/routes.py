"""Data-source ingestion: `POST /ingest/v1/records`."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.ratelimit import enforce
from app.runtime import runtime
from core.records import MAX_BATCH, ingest

blp = Blueprint("ingest", __name__, url_prefix="/ingest/v1",
                description="Data sources push records (batches of up to 1000)")


class RecordInSchema(ma.Schema):
    """One record. Each is validated on its own; see `rejected` in the answer."""

    source_record_id = ma.fields.String(required=True)
    id_number = ma.fields.String(required=True, metadata={"description": "18-digit 身份证号"})
    category = ma.fields.String(required=True)
    type = ma.fields.String(required=True)
    occurred_at = ma.fields.String(required=True, metadata={"format": "date-time"})
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


@blp.route("/records")
class Records(MethodView):
    @blp.arguments(BatchSchema())
    @blp.response(200, IngestResultSchema)
    @blp.doc(security=[{"sourceKey": []}])
    def post(self, body):
        """Push up to 1000 records; idempotent by `source_record_id`."""
        with runtime().uow() as uow:
            source = auth.source(uow)
            enforce(f"ingest:{source.client_id}", runtime().settings["RATE_LIMIT_INGEST"])
            return ingest(uow, runtime().keyring, source_id=source.id,
                          source_client_id=source.client_id, granted=source.categories,
                          records=body["records"], now=runtime().clock.now())
