"""The operator queues under `/admin/v1`: disputes, credit repairs, human review requests.

Reviewers and admins decide; auditors read. Queue listings carry no personal detail; opening
one item (the dispute with its record, the review with its explanation) is written to the
resident's access log, and every decision to the audit log.
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.runtime import runtime
from core.records import Record
from rights import disputes, repair, reviews
from rights.models import DISPUTE_OUTCOMES, REPAIR_DECISIONS, REVIEW_OUTCOMES

blp = Blueprint("rights_admin", __name__, url_prefix="/admin/v1",
                description="Operator queues: disputes, credit repairs, human review")

OPERATOR = [{"operatorKey": []}]
READERS = ("reviewer", "admin", "auditor")
DECIDERS = ("reviewer", "admin")


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
    note = ma.fields.String(required=True, validate=ma.validate.Length(1, disputes.MAX_NOTE),
                            metadata={"description": "shown to the resident"})
    correction = ma.fields.Dict(load_default=None, allow_none=True, metadata={
        "description": "with outcome corrected: new values of type, severity, amount_fen, "
                       "quantity, occurred_at"})


class RepairDecisionSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(REPAIR_DECISIONS))
    note = ma.fields.String(required=True, validate=ma.validate.Length(1, repair.MAX_NOTE))


class ReviewDecisionSchema(ma.Schema):
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(REVIEW_OUTCOMES))
    note = ma.fields.String(required=True, validate=ma.validate.Length(1, reviews.MAX_NOTE))


def _status(value: str | None, default: str | None) -> str | None:
    return None if value == "all" else (value or default)


# -- disputes -------------------------------------------------------------------------------------

@blp.route("/disputes")
class DisputeQueue(MethodView):
    @blp.arguments(DisputeQuerySchema(), location="query")
    @blp.response(200, RightsQueueSchema)
    @blp.doc(security=OPERATOR)
    def get(self, query):
        """The dispute queue, earliest deadline first; overdue ones are flagged."""
        now = runtime().clock.now()
        with runtime().uow() as uow:
            auth.operator(uow, *READERS)
            found = disputes.queue(uow.session, now=now, status=_status(query["status"], None),
                                   overdue=query["overdue"], limit=query["limit"])
            return {"items": [disputes.queue_item(d, uow.session.get(Record, d.record_id), now)
                              for d in found]}


@blp.route("/disputes/<uuid:dispute_id>")
class DisputeDetail(MethodView):
    @blp.response(200)
    @blp.doc(security=OPERATOR)
    def get(self, dispute_id):
        """One dispute with its record (logged in the resident's access log)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, *READERS)
            return disputes.read(uow, dispute_id, operator=operator, now=runtime().clock.now())


@blp.route("/disputes/<uuid:dispute_id>/resolve")
class DisputeResolve(MethodView):
    @blp.arguments(ResolveSchema())
    @blp.response(200)
    @blp.doc(security=OPERATOR)
    def post(self, body, dispute_id):
        """Resolve a dispute: upheld, corrected or removed; the resident is notified."""
        now = runtime().clock.now()
        with runtime().uow() as uow:
            operator = auth.operator(uow, *DECIDERS)
            found = disputes.resolve(uow, dispute_id, outcome=body["outcome"], note=body["note"],
                                     correction=body["correction"], operator=operator, now=now)
            return disputes.view(found, now)


# -- repairs --------------------------------------------------------------------------------------

@blp.route("/repairs")
class RepairQueue(MethodView):
    @blp.arguments(RightsQueueQuerySchema(), location="query")
    @blp.response(200, RightsQueueSchema)
    @blp.doc(security=OPERATOR)
    def get(self, query):
        """Credit repair applications, oldest first (pending by default; status=all)."""
        with runtime().uow() as uow:
            auth.operator(uow, *READERS)
            found = repair.queue(uow.session, status=_status(query["status"], "pending"),
                                 limit=query["limit"])
            return {"items": [repair.queue_item(r) for r in found]}


@blp.route("/repairs/<uuid:repair_id>")
class RepairDetail(MethodView):
    @blp.response(200)
    @blp.doc(security=OPERATOR)
    def get(self, repair_id):
        """One application with its record and eligibility (logged for the resident)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, *READERS)
            return repair.read(uow, repair_id, operator=operator, now=runtime().clock.now())


@blp.route("/repairs/<uuid:repair_id>/decide")
class RepairDecide(MethodView):
    @blp.arguments(RepairDecisionSchema())
    @blp.response(200)
    @blp.doc(security=OPERATOR)
    def post(self, body, repair_id):
        """Approve (the record is repaired and stops counting) or reject an application."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, *DECIDERS)
            found = repair.decide(uow, repair_id, decision=body["decision"], note=body["note"],
                                  operator=operator, now=runtime().clock.now())
            return repair.view(found)


# -- human review ---------------------------------------------------------------------------------

@blp.route("/reviews")
class ReviewQueue(MethodView):
    @blp.arguments(RightsQueueQuerySchema(), location="query")
    @blp.response(200, RightsQueueSchema)
    @blp.doc(security=OPERATOR)
    def get(self, query):
        """Human review requests, oldest first (open by default; status=all)."""
        with runtime().uow() as uow:
            auth.operator(uow, *READERS)
            found = reviews.queue(uow.session, status=_status(query["status"], "open"),
                                  limit=query["limit"])
            return {"items": [reviews.queue_item(r) for r in found]}


@blp.route("/reviews/<uuid:review_id>")
class ReviewDetail(MethodView):
    @blp.response(200)
    @blp.doc(security=OPERATOR)
    def get(self, review_id):
        """One request with the explanation attached (logged for the resident)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, *READERS)
            return reviews.read(uow, review_id, operator=operator, now=runtime().clock.now())


@blp.route("/reviews/<uuid:review_id>/decide")
class ReviewDecide(MethodView):
    @blp.arguments(ReviewDecisionSchema())
    @blp.response(200)
    @blp.doc(security=OPERATOR)
    def post(self, body, review_id):
        """Record the outcome of a human review; the resident sees it and is notified."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, *DECIDERS)
            found = reviews.decide(uow, review_id, outcome=body["outcome"], note=body["note"],
                                   operator=operator, now=runtime().clock.now())
            return reviews.view(found)
