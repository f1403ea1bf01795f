"""Data-source ingestion: `POST /ingest/v1/records`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app import auth
from app.api.common import SOURCE, Blueprint
from app.api.ingest.schemas import BatchSchema, IngestResultSchema
from app.ratelimit import enforce
from app.runtime import runtime
from core.records import IngestResult, ingest

blp = Blueprint("ingest", __name__, url_prefix="/ingest/v1",
                description="Data sources push records (batches of up to 1000)")


@blp.route("/records")
class Records(MethodView):
    @blp.arguments(BatchSchema())
    @blp.response(200, IngestResultSchema)
    @blp.doc(security=SOURCE)
    def post(self, body: dict[str, Any]) -> IngestResult:
        """Push up to 1000 records; idempotent by `source_record_id`."""
        with runtime().uow() as uow:
            source = auth.source(uow)
            enforce(f"ingest:{source.client_id}", runtime().settings["RATE_LIMIT_INGEST"])
            return ingest(uow, runtime().keyring, source_id=source.id,
                          source_client_id=source.client_id, granted=source.categories,
                          records=body["records"], now=runtime().clock.now())
