"""The resident's rights: records, disputes, credit repair, human review, export, erasure."""

from __future__ import annotations

from flask.views import MethodView

from app import auth
from app.api.common import RESIDENT, Blueprint
from app.api.rights.schemas import (
    DisputeInSchema,
    DisputeListSchema,
    DisputeSchema,
    EligibilitySchema,
    ErasurePreviewSchema,
    ErasureSchema,
    MyRecordListSchema,
    RepairInSchema,
    RepairListSchema,
    RepairSchema,
    ReviewInSchema,
    ReviewListSchema,
    ReviewSchema,
)
from app.ratelimit import enforce
from app.runtime import runtime
from consent.services import Signing
from core.errors import Unauthorized
from core.journal import journal_at
from rights import disputes, erasure, export, repair, reviews
from rights.view import records_for

blp = Blueprint("rights", __name__, url_prefix="/api/v1",
                description="Your records, disputes (异议), credit repair (信用修复), "
                            "human review, data export and account erasure")



def _limit(kind: str, resident_id: object) -> None:
    enforce(f"rights:{kind}:{resident_id}", runtime().settings["RATE_LIMIT_RIGHTS"])


@blp.route("/me/records")
class Records(MethodView):
    @blp.response(200, MyRecordListSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Every record held about you, whether it counts now, and its dispute or repair."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": records_for(uow, resident.id, now=runtime().clock.now())}


@blp.route("/me/records/<uuid:record_id>/repair")
class RepairEligibility(MethodView):
    @blp.response(200, EligibilitySchema)
    @blp.doc(security=RESIDENT)
    def get(self, record_id):
        """Whether this record can be repaired now (信用修复), and if not, from when and why."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return repair.check(uow, resident, record_id, now=runtime().clock.now())


@blp.route("/me/disputes")
class Disputes(MethodView):
    @blp.response(200, DisputeListSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Your disputes with their deadlines and outcomes, newest first."""
        now = runtime().clock.now()
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": disputes.mine(uow, resident.id, now=now)}

    @blp.arguments(DisputeInSchema())
    @blp.response(201, DisputeSchema)
    @blp.doc(security=RESIDENT)
    def post(self, body):
        """Dispute a record (异议): it stops counting at once until an operator resolves it."""
        now = runtime().clock.now()
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            _limit("dispute", resident.id)
            found = disputes.open_dispute(
                uow, resident, record_id=body["record_id"], reason=body["reason"],
                evidence=body.get("evidence"), now=now,
                days=int(runtime().settings["DISPUTE_DAYS"]))
            return disputes.view(found, now)


@blp.route("/me/repairs")
class Repairs(MethodView):
    @blp.response(200, RepairListSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Your credit repair applications, newest first."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": repair.mine(uow, resident.id)}

    @blp.arguments(RepairInSchema())
    @blp.response(201, RepairSchema)
    @blp.doc(security=RESIDENT)
    def post(self, body):
        """Apply to repair a record with the credit pledge (信用承诺)."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            _limit("repair", resident.id)
            found = repair.apply(uow, resident, record_id=body["record_id"],
                                 pledge=body["pledge"], statement=body.get("statement"),
                                 now=runtime().clock.now())
            return repair.view(found)


@blp.route("/me/review-requests")
class ReviewRequests(MethodView):
    @blp.response(200, ReviewListSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Your requests for human review and their outcomes."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": reviews.mine(uow, resident.id)}

    @blp.arguments(ReviewInSchema())
    @blp.response(201, ReviewSchema)
    @blp.doc(security=RESIDENT)
    def post(self, body):
        """Ask a person to review your score or an eligibility decision (PIPL art. 24)."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            _limit("review", resident.id)
            found = reviews.request_review(uow, resident, subject=body["subject"],
                                           scenario=body["scenario"], reason=body["reason"],
                                           now=runtime().clock.now())
            return reviews.view(found)


@blp.route("/me/export")
class Export(MethodView):
    @blp.response(200)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Everything held about you, as JSON following the schema at /api/v1/me/export/schema."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return export.export(
                uow, runtime().keyring, resident, now=runtime().clock.now(),
                schema_url=runtime().settings["ISSUER"] + export.SCHEMA_PATH)


@blp.route("/me/export/schema")
class ExportSchema(MethodView):
    @blp.response(200)
    def get(self):
        """The JSON Schema (2020-12) of the data export."""
        return export.SCHEMA


@blp.route("/me/erasure")
class ErasurePreview(MethodView):
    @blp.response(200, ErasurePreviewSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Before erasing: what would be deleted now (counts) and what the law makes us keep,
        until when and why. Changes nothing."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return erasure.preview(uow.session, resident, runtime().clock.now())


@blp.route("/me")
class EraseMe(MethodView):
    @blp.response(200, ErasureSchema)
    @blp.doc(security=RESIDENT)
    def delete(self):
        """Erase your account: what is deleted now, and what the law makes us keep, until when
        and why. Asking again returns the same answer."""
        with runtime().uow() as uow:
            try:
                resident = auth.resident(uow)
            except Unauthorized:
                statement = erasure.statement_for_session(uow, auth.bearer())
                if statement is None:
                    raise
                return statement
            return erasure.erase(uow, resident, keyring=runtime().keyring,
                                 signing=Signing(runtime().signer,
                                                 runtime().settings["ISSUER"]),
                                 now=runtime().clock.now(),
                                 journal=journal_at(runtime().settings["ERASURE_JOURNAL"]))
