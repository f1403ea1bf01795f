"""The operator queues under `/admin/v1`: disputes, credit repairs, human review requests.

Reviewers and admins decide; auditors read. Queue listings carry no personal detail; opening
one item (the dispute with its record, the review with its explanation) is written to the
resident's access log, and every decision to the audit log. The three queues are handled
alike (`rights.queues`): each gets a listing, a detail and a decision view from `_routes`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import marshmallow as ma
from flask.views import MethodView

from app import auth
from app.api.common import OPERATOR, Blueprint
from app.api.rights.schemas import (
    DisputeDetailSchema,
    DisputeQuerySchema,
    DisputeSchema,
    RepairDecisionSchema,
    RepairDetailSchema,
    RepairSchema,
    ResolveSchema,
    ReviewDecisionSchema,
    ReviewDetailSchema,
    ReviewSchema,
    RightsQueueQuerySchema,
    RightsQueueSchema,
)
from app.runtime import runtime
from rights.queues import DECIDERS, QUEUES, READERS, Queue

blp = Blueprint("rights_admin", __name__, url_prefix="/admin/v1",
                description="Operator queues: disputes, credit repairs, human review")

View = TypeVar("View", bound=Callable[..., Any])


def _documented(summary: str) -> Callable[[View], View]:
    """Give a view method its docstring: the OpenAPI summary."""
    def mark(method: View) -> View:
        method.__doc__ = summary
        return method
    return mark


def _routes(queue: Queue, name: str, *, query: type[ma.Schema], detailed: type[ma.Schema],
            decision: type[ma.Schema], decided: type[ma.Schema],
            summaries: tuple[str, str, str]) -> None:
    """Register `/<queue>`, `/<queue>/<id>` and `/<queue>/<id>/<verb>` (views `<name>Queue`,
    `<name>Detail`, `<name>Decide`)."""
    listing, detail, deciding = summaries
    key = f"{name.lower()}_id"  # the URL's id parameter: dispute_id, repair_id, review_id

    @blp.arguments(query(), location="query")
    @blp.response(200, RightsQueueSchema)
    @blp.doc(security=OPERATOR)
    @_documented(listing)
    def get_queue(self: MethodView, wanted: dict[str, Any]) -> dict[str, Any]:
        now = runtime().clock.now()
        with runtime().uow() as uow:
            auth.operator(uow, *READERS)
            return {"items": queue.items(uow, status=wanted["status"], limit=wanted["limit"],
                                         now=now, overdue=wanted.get("overdue"))}

    @blp.response(200, detailed)
    @blp.doc(security=OPERATOR)
    @_documented(detail)
    def get_one(self: MethodView, **url: uuid.UUID) -> Any:
        with runtime().uow() as uow:
            operator = auth.operator(uow, *READERS)
            return queue.read(uow, url[key], operator=operator, now=runtime().clock.now())

    @blp.arguments(decision())
    @blp.response(200, decided)
    @blp.doc(security=OPERATOR)
    @_documented(deciding)
    def post_decision(self: MethodView, body: dict[str, Any],
                      **url: uuid.UUID) -> Any:
        with runtime().uow() as uow:
            operator = auth.operator(uow, *DECIDERS)
            return queue.decide(uow, url[key], operator=operator, now=runtime().clock.now(),
                                **body)

    path = f"/{queue.name}"
    blp.route(path)(type(f"{name}Queue", (MethodView,), {"get": get_queue}))
    blp.route(f"{path}/<uuid:{key}>")(type(f"{name}Detail", (MethodView,), {"get": get_one}))
    blp.route(f"{path}/<uuid:{key}>/{queue.verb}")(
        type(f"{name}Decide", (MethodView,), {"post": post_decision}))


_routes(QUEUES["disputes"], "Dispute", query=DisputeQuerySchema, detailed=DisputeDetailSchema,
        decision=ResolveSchema, decided=DisputeSchema, summaries=(
            "The dispute queue, earliest deadline first; overdue ones are flagged.",
            "One dispute with its record (logged in the resident's access log).",
            "Resolve a dispute: upheld, corrected or removed; the resident is notified."))
_routes(QUEUES["repairs"], "Repair", query=RightsQueueQuerySchema, detailed=RepairDetailSchema,
        decision=RepairDecisionSchema, decided=RepairSchema, summaries=(
            "Credit repair applications, oldest first (pending by default; status=all).",
            "One application with its record and eligibility (logged for the resident).",
            "Approve (the record is repaired and stops counting) or reject an application."))
_routes(QUEUES["reviews"], "Review", query=RightsQueueQuerySchema, detailed=ReviewDetailSchema,
        decision=ReviewDecisionSchema, decided=ReviewSchema, summaries=(
            "Human review requests, oldest first (open by default; status=all).",
            "One request with the explanation attached (logged for the resident).",
            "Record the outcome of a human review; the resident sees it and is notified."))
