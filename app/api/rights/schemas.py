"""What goes in and out of the rights area: the resident's records, disputes, credit repair,
human review and erasure (`routes.py`), and the operator queues (`admin.py`)."""

from __future__ import annotations

import marshmallow as ma

from app.api.common import Bilingual, CodedReason, UTCDateTime
from rights import disputes, repair, reviews
from rights.models import DISPUTE_OUTCOMES, REPAIR_DECISIONS, REVIEW_EFFECTS, REVIEW_OUTCOMES


def _text(max_len: int, required: bool = True) -> ma.fields.String:
    """Free text: a required one is not empty (blank after trimming is `invalid_text`)."""
    return ma.fields.String(required=required, allow_none=not required,
                            validate=ma.validate.Length(min=1 if required else 0, max=max_len))


def _note(max_len: int, **metadata: str) -> ma.fields.String:
    """An operator's note on a decision (the resident reads it)."""
    return ma.fields.String(required=True, validate=ma.validate.Length(1, max_len),
                            metadata=metadata)


# -- the resident's records -----------------------------------------------------------------------

class DisputeBriefSchema(ma.Schema):
    id = ma.fields.String()
    status = ma.fields.String()
    outcome = ma.fields.String(allow_none=True)
    due_at = UTCDateTime()
    overdue = ma.fields.Boolean()


class RepairBriefSchema(ma.Schema):
    id = ma.fields.String()
    status = ma.fields.String()
    requested_at = UTCDateTime()
    decided_at = UTCDateTime()


class MyRecordSchema(ma.Schema):
    id = ma.fields.String()
    category = ma.fields.String()
    type = ma.fields.String()
    occurred_at = UTCDateTime()
    status = ma.fields.String(metadata={"description": "active, disputed, repaired, expired, "
                                                       "removed"})
    severity = ma.fields.String(allow_none=True)
    publicity_ends_at = UTCDateTime()
    source = ma.fields.String(metadata={"description": "the data source's name"})
    amount_fen = ma.fields.Integer(allow_none=True)
    quantity = ma.fields.Float(allow_none=True)
    counts = ma.fields.Boolean(metadata={"description": "counts toward your score now"})
    dispute = ma.fields.Nested(DisputeBriefSchema, allow_none=True)
    repair = ma.fields.Nested(RepairBriefSchema, allow_none=True)


class MyRecordListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MyRecordSchema))


# -- disputes -------------------------------------------------------------------------------------

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
    opened_at = UTCDateTime()
    due_at = UTCDateTime(metadata={"description": "the deadline for the operator"})
    overdue = ma.fields.Boolean()
    outcome = ma.fields.String(allow_none=True, metadata={"description":
                                                          "upheld | corrected | removed"})
    note = ma.fields.String(allow_none=True)
    correction = ma.fields.Dict(allow_none=True)
    resolved_at = UTCDateTime()


class DisputeListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DisputeSchema))


# -- credit repair --------------------------------------------------------------------------------

class EligibilitySchema(ma.Schema):
    record_id = ma.fields.String()
    severity = ma.fields.String(allow_none=True)
    eligible = ma.fields.Boolean()
    obligation = ma.fields.String(metadata={"description":
                                            "met | declared | unmet | automatic | "
                                            "not_applicable"})
    earliest_at = UTCDateTime()
    minimum_days = ma.fields.Integer(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(CodedReason))
    pledge = ma.fields.Nested(Bilingual, metadata={"description": "the credit pledge text"})


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
    requested_at = UTCDateTime()
    decided_at = UTCDateTime()


class RepairListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RepairSchema))


# -- human review ---------------------------------------------------------------------------------

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
    note = ma.fields.String(allow_none=True, metadata={"description": "the reviewer's reasons"})
    effect = ma.fields.Dict(allow_none=True, metadata={"description": (
        "what the outcome did: {kind: confirmed}; {kind: record_corrected | record_removed, "
        "record_id, category, type, source, correction?: {before, after}}; or {kind: "
        "eligibility_override, scenario, ends_at, override_id}")})
    requested_at = UTCDateTime()
    decided_at = UTCDateTime()


class ReviewListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ReviewSchema))


# -- erasure --------------------------------------------------------------------------------------

class ErasureSchema(ma.Schema):
    resident_id = ma.fields.String()
    erased_at = UTCDateTime()
    summary = ma.fields.Nested(Bilingual)
    shredded = ma.fields.Dict()
    deleted = ma.fields.Dict(metadata={"description": "what was deleted at once (counts)"})
    records_kept = ma.fields.Integer()
    consents_withdrawn = ma.fields.List(ma.fields.Dict())
    sessions_revoked = ma.fields.Integer()
    retained = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "each item kept: what, until when (null: no fixed end — the audit "
                       "log, a bill until paid, a waiver until settled), why and its legal "
                       "basis"})
    reattached_on_login = ma.fields.Boolean(metadata={
        "description": "true: the blind index of the ID number is kept with the retained "
                       "items, and signing in again re-attaches the person to them"})
    login_again = ma.fields.Nested(Bilingual)


class ErasurePreviewSchema(ma.Schema):
    shredded = ma.fields.Dict(metadata={"description": "the fields whose key is destroyed"})
    deleted = ma.fields.Dict(metadata={"description": "what erasing now would delete (counts)"})
    records_kept = ma.fields.Integer()
    consents_in_force = ma.fields.Integer(metadata={"description": "withdrawn by the erasure"})
    retained = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "what would be kept, as in the erasure's answer"})
    reattached_on_login = ma.fields.Boolean()
    login_again = ma.fields.Nested(Bilingual)


# -- the operator queues --------------------------------------------------------------------------

class DisputeDetailSchema(DisputeSchema):
    resident_id = ma.fields.String()
    record = ma.fields.Dict(allow_none=True, metadata={"description": "the disputed record"})


class RepairDetailSchema(RepairSchema):
    resident_id = ma.fields.String()
    record = ma.fields.Dict(allow_none=True, metadata={"description": "the record to repair"})
    eligibility = ma.fields.Nested(EligibilitySchema, allow_none=True)


class ReviewDetailSchema(ReviewSchema):
    resident_id = ma.fields.String()


class DisputeQuerySchema(ma.Schema):
    status = ma.fields.String(load_default="open",
                              validate=ma.validate.OneOf(["open", "resolved", "all"]))
    overdue = ma.fields.Boolean(load_default=None, allow_none=True)
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 500))


class RightsQueueQuerySchema(ma.Schema):
    status = ma.fields.String(load_default=None, allow_none=True)
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 500))


class RightsQueueSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Dict())


class ResolveSchema(ma.Schema):
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(DISPUTE_OUTCOMES))
    note = _note(disputes.MAX_NOTE, description="shown to the resident")
    correction = ma.fields.Dict(load_default=None, allow_none=True, metadata={
        "description": "with outcome corrected: new values of type, severity, amount_fen, "
                       "quantity, occurred_at"})


class RepairDecisionSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(REPAIR_DECISIONS))
    note = _note(repair.MAX_NOTE)


class ReviewEffectSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ("confirmed", *REVIEW_EFFECTS)))
    record_id = ma.fields.String(metadata={"description": "record_corrected, record_removed: "
                                                          "the resident's active record"})
    correction = ma.fields.Dict(metadata={"description": "record_corrected: new values of "
                                          "type, severity, amount_fen, quantity, occurred_at"})
    scenario = ma.fields.String(validate=ma.validate.Length(1, 40), metadata={
        "description": "eligibility_override: the scenario"})
    ends_at = ma.fields.String(metadata={"description": "eligibility_override: when it ends "
                                         f"(ISO 8601, at most {reviews.MAX_OVERRIDE_DAYS} "
                                         "days ahead)"})


class ReviewDecisionSchema(ma.Schema):
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(REVIEW_OUTCOMES))
    note = _note(reviews.MAX_NOTE, description="shown to the resident: with confirmed, the "
                 "reasons")
    effect = ma.fields.Nested(ReviewEffectSchema, load_default=None, allow_none=True, metadata={
        "description": "required with changed: what the review changes (it happens with "
                       "the decision)"})
