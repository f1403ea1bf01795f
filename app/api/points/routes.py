"""Incentive points: partners redeem and refund (`/partner/v1/points`), residents see their
points (`/api/v1/me/points`), partners and operators get clearing statements (JSON or CSV)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from app import auth
from app.api.common import OPERATOR, PARTNER, RESIDENT, Blueprint
from app.api.points.schemas import (
    MyPointsSchema,
    PointsHistoryQuerySchema,
    PointsPeriodSchema,
    PointsReconciliationSchema,
    PointsRedeemSchema,
    PointsRedemptionSchema,
    PointsRefundInSchema,
    PointsRefundSchema,
    PointsStatementSchema,
)
from app.runtime import runtime
from rewards.points import ledger, redemption, statements
from rewards.points.earning import rules_for
from rewards.points.redemption import RedemptionView
from rewards.points.statements import PointsOverview, Statement

partner_blp = Blueprint("points", __name__, url_prefix="/partner/v1/points",
                        description="Merchants redeem residents' points and refund them")
blp = Blueprint("my_points", __name__, url_prefix="/api/v1/me",
                description="The resident's points: balance, history, what expires soon")
admin = Blueprint("points_admin", __name__, url_prefix="/admin/v1/points",
                  description="Operators: partners' clearing statements, ledger reconciliation")

KINDS = ("merchant",)  # the partner kinds the points_redemption scenario serves

# format=csv answers the same statement as CSV (documented next to the JSON one).
CSV_TOO = {"200": {"description": "the statement: JSON, or CSV with format=csv",
                   "content": {"application/json": {"schema": PointsStatementSchema},
                               "text/csv": {"schema": {"type": "string"}}}}}


def _rendered(statement: Statement, query: dict[str, Any]) -> Statement | Response:
    """The statement as JSON, or as a CSV attachment with format=csv."""
    if query["format"] != "csv":
        return statement
    name = f"points-{statement.partner.client_id}-{query['start']:%Y%m%d}-{query['end']:%Y%m%d}.csv"
    return Response(statements.as_csv(statement), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- partner ----------------------------------------------------------------------------------

@partner_blp.route("/redemptions")
class Redemptions(MethodView):
    @partner_blp.arguments(PointsRedeemSchema())
    @partner_blp.response(201, PointsRedemptionSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Redeem points with the resident's token; idempotent by out_order_no."""
        return redemption.redeem(runtime().uow, body["token"], partner=auth.calling_partner(*KINDS),
                                 out_order_no=body["out_order_no"], points=body["points"],
                                 now=runtime().clock.now(), ctx=runtime().tokens)


@partner_blp.route("/redemptions/<string:redemption_id>")
class RedemptionItem(MethodView):
    @partner_blp.response(200, PointsRedemptionSchema)
    @partner_blp.doc(security=PARTNER)
    def get(self, redemption_id: str) -> RedemptionView:
        """One of your redemptions, with what has been refunded."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, *KINDS)
            return redemption.redemption(uow, partner, redemption_id)


@partner_blp.route("/redemptions/<string:redemption_id>/refund")
class Refunds(MethodView):
    @partner_blp.arguments(PointsRefundInSchema())
    @partner_blp.response(201, PointsRefundSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, body: dict[str, Any], redemption_id: str) -> dict[str, Any]:
        """Refund points of a redemption (part or all); idempotent by out_refund_no."""
        partner = auth.calling_partner(*KINDS)
        return redemption.refund(runtime().uow, partner=partner, redemption_id=redemption_id,
                                 out_refund_no=body["out_refund_no"], points=body["points"],
                                 now=runtime().clock.now())


@partner_blp.route("/statement")
class PartnerStatement(MethodView):
    @partner_blp.arguments(PointsPeriodSchema(), location="query")
    @partner_blp.response(200, PointsStatementSchema)
    @partner_blp.doc(security=PARTNER, responses=CSV_TOO)
    def get(self, query: dict[str, Any]) -> Statement | Response:
        """Your clearing statement for [from, to): redemptions, refunds, balances (JSON/CSV)."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, *KINDS)
            found = statements.clearing_statement(uow, partner, start=query["start"],
                                                  end=query["end"])
        return _rendered(found, query)


# -- resident ---------------------------------------------------------------------------------

@blp.route("/points")
class MyPoints(MethodView):
    @blp.arguments(PointsHistoryQuerySchema(), location="query")
    @blp.response(200, MyPointsSchema)
    @blp.doc(security=RESIDENT)
    def get(self, query: dict[str, Any]) -> PointsOverview:
        """Your points: spendable balance, recent history, what expires soon."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return statements.resident_points(
                uow, resident.id, rules=rules_for(runtime().settings["POINTS_RULES"]),
                now=runtime().clock.now(), limit=query["limit"])


# -- operators --------------------------------------------------------------------------------

@admin.route("/statements/<string:client_id>")
class OperatorStatement(MethodView):
    @admin.arguments(PointsPeriodSchema(), location="query")
    @admin.response(200, PointsStatementSchema)
    @admin.doc(security=OPERATOR, responses=CSV_TOO)
    def get(self, query: dict[str, Any], client_id: str) -> Statement | Response:
        """Any partner's clearing statement for [from, to) (admin or auditor; audited)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, "admin", "auditor")
            found = statements.operator_statement(
                uow, operator=operator.client_id, client_id=client_id, start=query["start"],
                end=query["end"], now=runtime().clock.now())
        return _rendered(found, query)


@admin.route("/reconciliation")
class Reconciliation(MethodView):
    @admin.response(200, PointsReconciliationSchema)
    @admin.doc(security=OPERATOR)
    def get(self) -> dict[str, Any]:
        """Check every ledger invariant now (admin or auditor): all counts 0 and ok=true."""
        with runtime().uow() as uow:
            auth.operator(uow, "admin", "auditor")
            return ledger.reconcile(uow.session).as_dict()
