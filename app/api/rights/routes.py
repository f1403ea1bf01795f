"""The resident's rights: records, disputes, credit repair, human review, export, erasure."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
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

RESIDENT = [{"residentSession": []}]


def _limit(kind: str, resident_id: object) -> None:
    enforce(f"rights:{kind}:{resident_id}", runtime().settings["RATE_LIMIT_RIGHTS"])


# -- schemas --------------------------------------------------------------------------------------

class DisputeBriefSchema(ma.Schema):
    id = ma.fields.String()
    status = ma.fields.String()
    outcome = ma.fields.String(allow_none=True)
    due_at = ma.fields.String()
    overdue = ma.fields.Boolean()


class RepairBriefSchema(ma.Schema):
    id = ma.fields.String()
    status = ma.fields.String()
    requested_at = ma.fields.String()
    decided_at = ma.fields.String(allow_none=True)


class MyRecordSchema(ma.Schema):
    id = ma.fields.String()
    category = ma.fields.String()
    type = ma.fields.String()
    occurred_at = ma.fields.String()
    status = ma.fields.String(metadata={"description": "active, disputed, repaired, expired, "
                                                       "removed"})
    severity = ma.fields.String(allow_none=True)
    publicity_ends_at = ma.fields.String(allow_none=True)
    source = ma.fields.String(metadata={"description": "the data source's name"})
    amount_fen = ma.fields.Integer(allow_none=True)
    quantity = ma.fields.Float(allow_none=True)
    counts = ma.fields.Boolean(metadata={"description": "counts toward your score now"})
    dispute = ma.fields.Nested(DisputeBriefSchema, allow_none=True)
    repair = ma.fields.Nested(RepairBriefSchema, allow_none=True)


class MyRecordListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MyRecordSchema))


def _text(max_len: int, required: bool = True) -> ma.fields.String:
    """Free text: a required one is not empty (blank after trimming is `invalid_text`)."""
    return ma.fields.String(required=required, allow_none=not required,
                            validate=ma.validate.Length(min=1 if required else 0, max=max_len))


class DisputeInSchema(ma.Schema):
    record_id = ma.fields.UUID(required=True)
    reason = _text(disputes.MAX_REASON)
    evidence = _text(disputes.MAX_EVIDENCE, required=False)


class DisputeSchema(ma.Schema):
    id = ma.fields.String()
    record_id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "open | resolved"})
    reason = ma.fields.String()
    evidence = ma.fields.String(allow_none=True)
    opened_at = ma.fields.String()
    due_at = ma.fields.String(metadata={"description": "the deadline for the operator"})
    overdue = ma.fields.Boolean()
    outcome = ma.fields.String(allow_none=True, metadata={"description":
                                                          "upheld | corrected | removed"})
    note = ma.fields.String(allow_none=True)
    correction = ma.fields.Dict(allow_none=True)
    resolved_at = ma.fields.String(allow_none=True)


class DisputeListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DisputeSchema))


class RightsTextSchema(ma.Schema):
    zh = ma.fields.String()
    en = ma.fields.String()


class RepairReasonSchema(ma.Schema):
    code = ma.fields.String()
    zh = ma.fields.String()
    en = ma.fields.String()


class EligibilitySchema(ma.Schema):
    record_id = ma.fields.String()
    severity = ma.fields.String(allow_none=True)
    eligible = ma.fields.Boolean()
    obligation = ma.fields.String(metadata={"description":
                                            "met | declared | unmet | automatic | "
                                            "not_applicable"})
    earliest_at = ma.fields.String(allow_none=True)
    minimum_days = ma.fields.Integer(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(RepairReasonSchema))
    pledge = ma.fields.Nested(RightsTextSchema, metadata={"description": "the credit pledge text"})


class RepairInSchema(ma.Schema):
    record_id = ma.fields.UUID(required=True)
    pledge = ma.fields.Boolean(required=True, validate=ma.validate.Equal(
        True, error="accept the credit pledge (信用承诺) to apply"), metadata={
        "description": "true: you have read and accept the credit pledge (信用承诺)"})
    statement = _text(repair.MAX_STATEMENT, required=False)


class RepairSchema(ma.Schema):
    id = ma.fields.String()
    record_id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "pending | approved | rejected"})
    statement = ma.fields.String(allow_none=True)
    pledge_hash = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    requested_at = ma.fields.String()
    decided_at = ma.fields.String(allow_none=True)


class RepairListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RepairSchema))


class ReviewInSchema(ma.Schema):
    subject = ma.fields.String(required=True,
                               validate=ma.validate.OneOf(["score", "eligibility"]))
    scenario = ma.fields.String(load_default=None, allow_none=True,
                                validate=ma.validate.Length(1, 40))
    reason = _text(reviews.MAX_REASON)


class ReviewSchema(ma.Schema):
    id = ma.fields.String()
    subject = ma.fields.String()
    scenario = ma.fields.String(allow_none=True)
    reason = ma.fields.String()
    snapshot = ma.fields.Dict(metadata={"description": "the decision as you saw it"})
    status = ma.fields.String(metadata={"description": "open | decided"})
    outcome = ma.fields.String(allow_none=True, metadata={"description": "confirmed | changed"})
    note = ma.fields.String(allow_none=True)
    requested_at = ma.fields.String()
    decided_at = ma.fields.String(allow_none=True)


class ReviewListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ReviewSchema))


class ErasureSchema(ma.Schema):
    resident_id = ma.fields.String()
    erased_at = ma.fields.String()
    summary = ma.fields.Nested(RightsTextSchema)
    shredded = ma.fields.Dict()
    deleted = ma.fields.Dict(metadata={"description": "what was deleted at once (counts)"})
    records_kept = ma.fields.Integer()
    consents_withdrawn = ma.fields.List(ma.fields.Dict())
    sessions_revoked = ma.fields.Integer()
    retained = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "what is kept, until when (null: permanently) and why"})
    login_again = ma.fields.Nested(RightsTextSchema)


# -- views ----------------------------------------------------------------------------------------

@blp.route("/me/records")
class Records(MethodView):
    @blp.response(200, MyRecordListSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Every record held about you, whether it counts now, and its dispute or repair."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": records_for(uow.session, resident.id, runtime().clock.now())}


@blp.route("/me/records/<uuid:record_id>/repair")
class RepairEligibility(MethodView):
    @blp.response(200, EligibilitySchema)
    @blp.doc(security=RESIDENT)
    def get(self, record_id):
        """Whether this record can be repaired now (信用修复), and if not, from when and why."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return repair.check(uow.session, resident, record_id, runtime().clock.now())


@blp.route("/me/disputes")
class Disputes(MethodView):
    @blp.response(200, DisputeListSchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Your disputes with their deadlines and outcomes, newest first."""
        now = runtime().clock.now()
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": [disputes.view(d, now)
                              for d in disputes.for_resident(uow.session, resident.id)]}

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
            return {"items": [repair.view(r)
                              for r in repair.for_resident(uow.session, resident.id)]}

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
            return {"items": [reviews.view(r)
                              for r in reviews.for_resident(uow.session, resident.id)]}

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
                uow.session, runtime().keyring, resident, now=runtime().clock.now(),
                schema_url=runtime().settings["ISSUER"] + export.SCHEMA_PATH)


@blp.route("/me/export/schema")
class ExportSchema(MethodView):
    @blp.response(200)
    def get(self):
        """The JSON Schema (2020-12) of the data export."""
        return export.SCHEMA


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
                statement = erasure.statement_for_session(uow.session, auth.bearer())
                if statement is None:
                    raise
                return statement
            return erasure.erase(uow, resident, keyring=runtime().keyring,
                                 signing=Signing(runtime().signer,
                                                 runtime().settings["ISSUER"]),
                                 now=runtime().clock.now(),
                                 journal=journal_at(runtime().settings["ERASURE_JOURNAL"]))
