"""Consent: notices, the resident's consents and receipts, receipt verification, auditor export."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView

from app import auth
from app.api.common import OPERATOR, RESIDENT, Blueprint
from app.api.consent.schemas import (
    ConsentDetailSchema,
    ConsentExportQuerySchema,
    ConsentGrantSchema,
    ConsentHistorySchema,
    ConsentListSchema,
    ConsentQuerySchema,
    ConsentReceiptListSchema,
    ConsentReceiptOutSchema,
    ConsentWithdrawSchema,
    NoticeLanguageQuerySchema,
    NoticeQuerySchema,
    NoticeSchema,
    ReceiptVerifyInSchema,
    ReceiptVerifyOutSchema,
    notice_in,
)
from app.runtime import runtime
from consent import history, notices, receipts
from consent.services import Outcome, Signing, export_for_auditor, grant, withdraw

blp = Blueprint("consent", __name__, url_prefix="",
                description="Notices, consent, withdrawal, receipts and auditor exports")



def _signing() -> Signing:
    return Signing(runtime().signer, runtime().settings["ISSUER"])


# -- notices ------------------------------------------------------------------------------------

@blp.route("/api/v1/notices")
class Notices(MethodView):
    @blp.arguments(NoticeQuerySchema(), location="query")
    @blp.response(200, NoticeSchema(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """The current notice of every purpose (or every version), in zh and en."""
        with runtime().uow() as uow:
            found = notices.listing(uow.session, purpose=query.get("purpose"),
                                    all_versions=query["all_versions"])
            return [notice_in(n, query["language"]) for n in found]


@blp.route("/api/v1/notices/<uuid:notice_id>")
class NoticeOne(MethodView):
    @blp.arguments(NoticeLanguageQuerySchema(), location="query")
    @blp.response(200, NoticeSchema)
    def get(self, query: dict[str, Any], notice_id: uuid.UUID) -> dict[str, Any]:
        """One notice version, current or superseded: the exact text behind a hash."""
        with runtime().uow() as uow:
            return notice_in(notices.get(uow.session, notice_id), query["language"])


# -- the resident's consents --------------------------------------------------------------------

@blp.route("/api/v1/me/consents")
class Consents(MethodView):
    @blp.arguments(ConsentQuerySchema(), location="query")
    @blp.response(200, ConsentListSchema)
    @blp.doc(security=RESIDENT)
    def get(self, query: dict[str, Any]) -> history.Overview:
        """My consents (newest first) and the purposes I am asked to consent to again."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return history.overview(uow.session, resident.id, runtime().clock.now(),
                                    status=query.get("status"))

    @blp.arguments(ConsentGrantSchema())
    @blp.response(201, ConsentReceiptOutSchema)
    @blp.alt_response(200, schema=ConsentReceiptOutSchema,
                      description="The identical consent, already in force")
    @blp.doc(security=RESIDENT)
    def post(self, body: dict[str, Any]) -> tuple[Outcome, int]:
        """Give consent to a notice (idempotent); returns the consent id and a signed receipt."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            outcome = grant(uow, resident, body["notice_id"], now=runtime().clock.now(),
                            signing=_signing(), categories=body["categories"],
                            separate_consent=body["separate_consent"],
                            channel=body["channel"], language=body["language"])
            return outcome, 201 if outcome.created else 200


@blp.route("/api/v1/me/consents/<uuid:consent_id>")
class ConsentOne(MethodView):
    @blp.response(200, ConsentDetailSchema)
    @blp.doc(security=RESIDENT)
    def get(self, consent_id: uuid.UUID) -> history.Detail:
        """One of my consents with its event history."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return history.detail(uow.session, resident.id, consent_id)


@blp.route("/api/v1/me/consents/<uuid:consent_id>/withdraw")
class Withdraw(MethodView):
    @blp.arguments(ConsentWithdrawSchema(), required=False)
    @blp.response(200, ConsentReceiptOutSchema)
    @blp.doc(security=RESIDENT)
    def post(self, body: dict[str, Any], consent_id: uuid.UUID) -> Outcome:
        """Withdraw a consent: effective at once; returns a signed receipt."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            outcome = withdraw(uow, resident, consent_id, now=runtime().clock.now(),
                               signing=_signing(), channel=body["channel"],
                               language=body["language"])
            return outcome


@blp.route("/api/v1/me/consents/<uuid:consent_id>/receipt")
class ConsentReceipt(MethodView):
    @blp.response(200, ConsentReceiptListSchema)
    @blp.doc(security=RESIDENT)
    def get(self, consent_id: uuid.UUID) -> history.Receipts:
        """The latest receipt of one of my consents, and every earlier one."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return history.receipts_for(uow.session, resident.id, consent_id)


@blp.route("/api/v1/me/consent-history")
class ConsentHistory(MethodView):
    @blp.response(200, ConsentHistorySchema)
    @blp.doc(security=RESIDENT)
    def get(self) -> dict[str, Any]:
        """Every consent event of mine, oldest first."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": history.events_for(uow.session, resident.id)}


@blp.route("/api/v1/receipts/verify")
class ReceiptVerify(MethodView):
    @blp.arguments(ReceiptVerifyInSchema())
    @blp.response(200, ReceiptVerifyOutSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Verify a consent receipt: signature, key, and whether it matches our records."""
        with runtime().uow() as uow:
            return receipts.verify(uow.session, body["receipt"])


# -- auditors -----------------------------------------------------------------------------------

def _export(query: dict[str, Any], resident_id: uuid.UUID | None = None) -> Any:
    with runtime().uow() as uow:
        operator = auth.operator(uow, "auditor")
        found = export_for_auditor(
            uow, operator, format=query["format"], now=runtime().clock.now(),
            resident_id=resident_id, since=query.get("since"), until=query.get("until"),
            after_seq=query["after_seq"])
    if found.csv is not None:
        return Response(found.csv, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"'})
    return found.document


EXPORT_FORMATS = {"200": {"description": "the events: JSON (format=json) or CSV (format=csv)",
                          "content": {"application/json": {"schema": {"type": "object"}},
                                      "text/csv": {"schema": {"type": "string"}}}}}


@blp.route("/admin/v1/consents/export")
class ExportAll(MethodView):
    @blp.arguments(ConsentExportQuerySchema(), location="query")
    @blp.response(200)
    @blp.doc(security=OPERATOR, responses=EXPORT_FORMATS)
    def get(self, query: dict[str, Any]) -> Any:
        """Auditor: every consent event (JSON with notice documents, or CSV), with notice hashes."""
        return _export(query)


@blp.route("/admin/v1/residents/<uuid:resident_id>/consents")
class ExportResident(MethodView):
    @blp.arguments(ConsentExportQuerySchema(), location="query")
    @blp.response(200)
    @blp.doc(security=OPERATOR, responses=EXPORT_FORMATS)
    def get(self, query: dict[str, Any], resident_id: uuid.UUID) -> Any:
        """Auditor: one resident's consent events (JSON or CSV), with notice hashes."""
        return _export(query, resident_id)

