"""Incentive points: partners redeem and refund (`/partner/v1/points`), residents see their
points (`/api/v1/me/points`), partners and operators get clearing statements (JSON or CSV)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.runtime import runtime
from core import audit
from rewards.entitlements import partner_by_client_id
from rewards.points import ledger, redemption, statements
from rewards.points.earning import rules_for

partner_blp = Blueprint("points", __name__, url_prefix="/partner/v1/points",
                        description="Merchants redeem residents' points and refund them")
blp = Blueprint("my_points", __name__, url_prefix="/api/v1/me",
                description="The resident's points: balance, history, what expires soon")
admin = Blueprint("points_admin", __name__, url_prefix="/admin/v1/points",
                  description="Operators: partners' clearing statements, ledger reconciliation")

PARTNER = [{"partnerKey": []}]
KINDS = ("merchant",)  # the partner kinds the points_redemption scenario serves
ORDER_NO = ma.validate.Regexp(r"^[\x21-\x7e]{1,64}$",
                              error="1-64 printable ASCII characters, no spaces")


# -- schemas ------------------------------------------------------------------------------------

class PointsRedeemSchema(ma.Schema):
    token = ma.fields.String(required=True, metadata={"description": "the resident's token"})
    out_order_no = ma.fields.String(required=True, validate=ORDER_NO,
                                    metadata={"description": "your order number (idempotency)"})
    points = ma.fields.Integer(required=True, strict=True,
                               validate=ma.validate.Range(1, ledger.MAX_POINTS))


class PointsRedemptionSchema(ma.Schema):
    redemption_id = ma.fields.String()
    sub = ma.fields.String(metadata={"description": "your pairwise pseudonym of the resident"})
    points = ma.fields.Integer()
    out_order_no = ma.fields.String()
    refunded = ma.fields.Integer(metadata={"description": "points refunded so far"})
    refundable = ma.fields.Integer(metadata={"description": "points that can still be refunded"})
    created_at = ma.fields.String()


class PointsRefundInSchema(ma.Schema):
    out_refund_no = ma.fields.String(required=True, validate=ORDER_NO,
                                     metadata={"description": "your refund number (idempotency)"})
    points = ma.fields.Integer(strict=True, load_default=None, allow_none=True,
                               validate=ma.validate.Range(1, ledger.MAX_POINTS),
                               metadata={"description": "omit to refund all that is refundable"})


class PointsRefundSchema(ma.Schema):
    refund_id = ma.fields.String()
    redemption_id = ma.fields.String()
    sub = ma.fields.String()
    out_refund_no = ma.fields.String()
    points = ma.fields.Integer()
    returned = ma.fields.Integer(metadata={"description": "points back in the resident's balance"})
    expired = ma.fields.Integer(metadata={"description": "points whose lot expired meanwhile"})
    refunded_total = ma.fields.Integer()
    refundable = ma.fields.Integer()
    created_at = ma.fields.String()


class PointsPeriodSchema(ma.Schema):
    start = ma.fields.AwareDateTime(required=True, data_key="from",
                                    metadata={"description": "inclusive, with offset"})
    end = ma.fields.AwareDateTime(required=True, data_key="to",
                                  metadata={"description": "exclusive, with offset"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "csv")))


class PointsStatementLineSchema(ma.Schema):
    at = ma.fields.String()
    type = ma.fields.String(metadata={"description": "redemption | refund"})
    points = ma.fields.Integer(metadata={"description": "+ redeemed, − refunded"})
    out_order_no = ma.fields.String(allow_none=True)
    out_refund_no = ma.fields.String(allow_none=True)
    redemption_id = ma.fields.String(allow_none=True)
    refund_id = ma.fields.String(allow_none=True)
    sub = ma.fields.String(allow_none=True)
    transfer_id = ma.fields.String()


class PointsStatementSchema(ma.Schema):
    partner = ma.fields.Dict()
    account = ma.fields.String()
    period = ma.fields.Dict()
    opening_balance = ma.fields.Integer()
    redeemed = ma.fields.Integer()
    refunded = ma.fields.Integer()
    net = ma.fields.Integer()
    closing_balance = ma.fields.Integer()
    count = ma.fields.Integer()
    lines = ma.fields.List(ma.fields.Nested(PointsStatementLineSchema))


class PointsHistoryQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))


class PointsItemSchema(ma.Schema):
    transfer_id = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "earn | redeem | refund | expire"})
    points = ma.fields.Integer(metadata={"description": "+ in, − out"})
    at = ma.fields.String()
    rule = ma.fields.String(allow_none=True)
    title = ma.fields.Dict(allow_none=True, metadata={"description": "the rule's name (zh, en)"})
    partner = ma.fields.String(allow_none=True)


class PointsExpiringSchema(ma.Schema):
    points = ma.fields.Integer()
    expires_at = ma.fields.String()


class MyPointsSchema(ma.Schema):
    balance = ma.fields.Integer(metadata={"description": "points you can spend now"})
    history = ma.fields.List(ma.fields.Nested(PointsItemSchema))
    expiring = ma.fields.List(ma.fields.Nested(PointsExpiringSchema))
    expiring_total = ma.fields.Integer()
    expiring_within_days = ma.fields.Integer()


def _statement(body: dict, partner) -> dict | Response:
    with runtime().uow() as uow:
        found = statements.clearing_statement(uow.session, partner, start=body["start"],
                                              end=body["end"])
    if body["format"] == "csv":
        name = f"points-{partner.client_id}-{body['start']:%Y%m%d}-{body['end']:%Y%m%d}.csv"
        return Response(statements.as_csv(found), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return found


# -- partner ----------------------------------------------------------------------------------

@partner_blp.route("/redemptions")
class Redemptions(MethodView):
    @partner_blp.arguments(PointsRedeemSchema())
    @partner_blp.response(201, PointsRedemptionSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, body):
        """Redeem points with the resident's token; idempotent by out_order_no."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, *KINDS)
        return redemption.redeem_once(runtime().uow, body["token"], partner=partner,
                                      out_order_no=body["out_order_no"], points=body["points"],
                                      now=runtime().clock.now())


@partner_blp.route("/redemptions/<string:redemption_id>")
class RedemptionItem(MethodView):
    @partner_blp.response(200, PointsRedemptionSchema)
    @partner_blp.doc(security=PARTNER)
    def get(self, redemption_id):
        """One of your redemptions, with what has been refunded."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, *KINDS)
            return redemption.redemption_view(
                redemption.redemption_of(uow.session, partner, redemption_id))


@partner_blp.route("/redemptions/<string:redemption_id>/refund")
class Refunds(MethodView):
    @partner_blp.arguments(PointsRefundInSchema())
    @partner_blp.response(201, PointsRefundSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, body, redemption_id):
        """Refund points of a redemption (part or all); idempotent by out_refund_no."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, *KINDS)
        return redemption.refund_once(runtime().uow, partner=partner, redemption_id=redemption_id,
                                      out_refund_no=body["out_refund_no"],
                                      points=body["points"], now=runtime().clock.now())


# format=csv answers the same statement as CSV (documented next to the JSON one).
CSV_TOO = {"200": {"description": "the statement: JSON, or CSV with format=csv",
                   "content": {"application/json": {"schema": PointsStatementSchema},
                               "text/csv": {"schema": {"type": "string"}}}}}


@partner_blp.route("/statement")
class PartnerStatement(MethodView):
    @partner_blp.arguments(PointsPeriodSchema(), location="query")
    @partner_blp.response(200, PointsStatementSchema)
    @partner_blp.doc(security=PARTNER, responses=CSV_TOO)
    def get(self, query):
        """Your clearing statement for [from, to): redemptions, refunds, balances (JSON/CSV)."""
        with runtime().uow() as uow:
            partner = auth.partner(uow, *KINDS)
        return _statement(query, partner)


# -- resident ---------------------------------------------------------------------------------

@blp.route("/points")
class MyPoints(MethodView):
    @blp.arguments(PointsHistoryQuerySchema(), location="query")
    @blp.response(200, MyPointsSchema)
    @blp.doc(security=[{"residentSession": []}])
    def get(self, query):
        """Your points: spendable balance, recent history, what expires soon."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return statements.resident_points(
                uow.session, resident.id, rules=rules_for(runtime().settings["POINTS_RULES"]),
                now=runtime().clock.now(), limit=query["limit"])


# -- operators --------------------------------------------------------------------------------

@admin.route("/statements/<string:client_id>")
class OperatorStatement(MethodView):
    @admin.arguments(PointsPeriodSchema(), location="query")
    @admin.response(200, PointsStatementSchema)
    @admin.doc(security=[{"operatorKey": []}], responses=CSV_TOO)
    def get(self, query, client_id):
        """Any partner's clearing statement for [from, to) (admin or auditor; audited)."""
        with runtime().uow() as uow:
            operator = auth.operator(uow, "admin", "auditor")
            partner = partner_by_client_id(uow.session, client_id)
            audit.record(uow.session, actor=f"operator:{operator.client_id}",
                         action="points.statement.read", now=runtime().clock.now(),
                         subject=partner.client_id,
                         data={"from": query["start"].isoformat(),
                               "to": query["end"].isoformat()})
            uow.commit()
        return _statement(query, partner)


@admin.route("/reconciliation")
class Reconciliation(MethodView):
    @admin.response(200, ma.Schema.from_dict({
        "ok": ma.fields.Boolean(), "legs_total": ma.fields.Integer(),
        "unbalanced_transfers": ma.fields.Integer(), "negative_balances": ma.fields.Integer(),
        "balance_mismatches": ma.fields.Integer(), "lot_mismatches": ma.fields.Integer(),
        "refund_mismatches": ma.fields.Integer(), "accounts": ma.fields.Integer(),
        "transfers": ma.fields.Integer()}, name="PointsReconciliation"))
    @admin.doc(security=[{"operatorKey": []}])
    def get(self):
        """Check every ledger invariant now (admin or auditor): all counts 0 and ok=true."""
        with runtime().uow() as uow:
            auth.operator(uow, "admin", "auditor")
            return ledger.reconcile(uow.session).as_dict()
