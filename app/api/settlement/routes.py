"""Settlement (`/partner/v1/settlement`): hospitals list their authorizations (holds) and bills,
deposit partners their waivers, and both get a signed daily statement, JSON or CSV
(`rewards.settlement`). GET only; the writes are in `app/api/medical_credit` and
`app/api/waivers`."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from app import auth
from app.api.common import OPERATOR, PARTNER, Blueprint
from app.api.settlement.schemas import (
    BillPageSchema,
    HoldPageSchema,
    SettlementStatementSchema,
    StatementQuerySchema,
    WaiverPageSchema,
    list_query,
)
from app.runtime import runtime
from rewards import settlement
from rewards.credit.models import BILL_STATUSES, HOLD_STATUSES
from rewards.waivers.models import STATUSES as WAIVER_STATUSES

blp = Blueprint("settlement", __name__, url_prefix="/partner/v1/settlement",
                description="Hospitals and deposit partners: holds, bills, waivers and a signed "
                            "daily statement to reconcile against")
admin = Blueprint("settlement_admin", __name__, url_prefix="/admin/v1/settlement",
                  description="Operators: any hospital's or deposit partner's statement")
KINDS = ("hospital", "deposit_partner")

SIGNATURE_HEADER = "Pc-Statement-Signature"
CSV_TOO = {"200": {"description": "the statement: JSON, or CSV with format=csv (its signature "
                                  f"in the {SIGNATURE_HEADER} header)",
                   "content": {"application/json": {"schema": SettlementStatementSchema},
                               "text/csv": {"schema": {"type": "string"}}}}}


def _page(kind: str, what: str, query: dict[str, Any]) -> settlement.Page:
    with runtime().uow() as uow:
        partner = auth.partner(uow, kind)
        return settlement.listing(uow.session, partner, what, status=query.get("status"),
                                  start=query.get("start"), end=query.get("end"),
                                  cursor=query.get("cursor"), limit=query["limit"])


def _statement(query: dict[str, Any], client_id: str | None = None
               ) -> dict[str, Any] | Response:
    """The caller's statement, or an operator's read of `client_id`'s; JSON, or CSV."""
    with runtime().uow() as uow:
        now = runtime().clock.now()
        if client_id is None:
            found = settlement.statement(uow.session, runtime().signer, auth.partner(uow, *KINDS),
                                         day=query["day"], now=now)
        else:
            operator = auth.operator(uow, "admin", "auditor")
            found = settlement.operator_statement(uow, runtime().signer,
                                                  operator=operator.client_id,
                                                  client_id=client_id, day=query["day"], now=now)
    if query["format"] != "csv":
        return {"statement": found.document, "signature": found.jws}
    name = f"settlement-{found.document['partner']['client_id']}-{query['day']:%Y%m%d}.csv"
    return Response(found.csv, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             SIGNATURE_HEADER: found.jws})


@blp.route("/holds")
class Holds(MethodView):
    @blp.arguments(list_query(HOLD_STATUSES)(), location="query")
    @blp.response(200, HoldPageSchema)
    @blp.doc(security=PARTNER)
    def get(self, query: dict[str, Any]) -> settlement.Page:
        """Hospitals: your authorizations (holds), oldest first, by status and time, paged."""
        return _page("hospital", "holds", query)


@blp.route("/bills")
class Bills(MethodView):
    @blp.arguments(list_query(BILL_STATUSES)(), location="query")
    @blp.response(200, BillPageSchema)
    @blp.doc(security=PARTNER)
    def get(self, query: dict[str, Any]) -> settlement.Page:
        """Hospitals: your bills, oldest first, by status and time, paged."""
        return _page("hospital", "bills", query)


@blp.route("/waivers")
class Waivers(MethodView):
    @blp.arguments(list_query(WAIVER_STATUSES)(), location="query")
    @blp.response(200, WaiverPageSchema)
    @blp.doc(security=PARTNER)
    def get(self, query: dict[str, Any]) -> settlement.Page:
        """Deposit partners: your deposit waivers, oldest first, by status and time, paged."""
        return _page("deposit_partner", "waivers", query)


@blp.route("/statement")
class DailyStatement(MethodView):
    @blp.arguments(StatementQuerySchema(), location="query")
    @blp.response(200, SettlementStatementSchema)
    @blp.doc(security=PARTNER, responses=CSV_TOO)
    def get(self, query: dict[str, Any]) -> dict[str, Any] | Response:
        """Your signed statement for a day (Asia/Shanghai): every movement, opening and
        closing balances (JSON/CSV)."""
        return _statement(query)


@admin.route("/statements/<string:client_id>")
class OperatorStatement(MethodView):
    @admin.arguments(StatementQuerySchema(), location="query")
    @admin.response(200, SettlementStatementSchema)
    @admin.doc(security=OPERATOR, responses=CSV_TOO)
    def get(self, query: dict[str, Any], client_id: str) -> dict[str, Any] | Response:
        """Any hospital's or deposit partner's signed statement for a day (admin or auditor;
        audited)."""
        return _statement(query, client_id)
