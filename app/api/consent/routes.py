"""Consent: notices, the resident's consents and receipts, receipt verification, auditor export."""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.runtime import runtime
from consent import history, notices, receipts
from consent.models import LANGUAGES
from consent.services import Signing, grant, withdraw
from core import audit
from core.errors import NotFound
from core.identity import Resident
from rights.view import operator_read

blp = Blueprint("consent", __name__, url_prefix="",
                description="Notices, consent, withdrawal, receipts and auditor exports")

RESIDENT = [{"residentSession": []}]
OPERATOR = [{"operatorKey": []}]


def _signing() -> Signing:
    return Signing(runtime().signer, runtime().settings["ISSUER"])


# -- schemas ------------------------------------------------------------------------------------

class NoticeRecipientSchema(ma.Schema):
    kind = ma.fields.String()
    name_zh = ma.fields.String()
    name_en = ma.fields.String()


class NoticeSchema(ma.Schema):
    id = ma.fields.UUID()
    purpose = ma.fields.String()
    version = ma.fields.Integer()
    language = ma.fields.String()
    title = ma.fields.String()
    text = ma.fields.String(metadata={"description": "The text in `language`"})
    title_zh = ma.fields.String()
    title_en = ma.fields.String()
    text_zh = ma.fields.String()
    text_en = ma.fields.String()
    hash = ma.fields.String(metadata={"description": "SHA-256 of the canonical notice document"})
    categories = ma.fields.List(ma.fields.String())
    separate_consent_categories = ma.fields.List(
        ma.fields.String(), metadata={"description": "Categories that need separate consent"})
    requires_separate_consent = ma.fields.Boolean()
    recipients = ma.fields.List(ma.fields.Nested(NoticeRecipientSchema))
    retention = ma.fields.String()
    validity_days = ma.fields.Integer(allow_none=True)
    published_at = ma.fields.DateTime()


class NoticeQuerySchema(ma.Schema):
    language = ma.fields.String(load_default="zh", validate=ma.validate.OneOf(LANGUAGES))
    purpose = ma.fields.String()
    all_versions = ma.fields.Boolean(load_default=False)


class NoticeLanguageQuerySchema(ma.Schema):
    language = ma.fields.String(load_default="zh", validate=ma.validate.OneOf(LANGUAGES))


class ConsentGrantSchema(ma.Schema):
    notice_id = ma.fields.UUID(required=True)
    categories = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 64)),
                                validate=ma.validate.Length(max=64), load_default=None)
    separate_consent = ma.fields.Boolean(load_default=False, metadata={
        "description": "The resident's separate acknowledgement (单独同意) for sensitive scope"})
    language = ma.fields.String(load_default="zh", validate=ma.validate.OneOf(LANGUAGES),
                                metadata={"description": "Language of the text shown"})
    channel = ma.fields.String(load_default="api",
                               validate=ma.validate.OneOf(("api", "miniprogram", "h5")))


class ConsentWithdrawSchema(ma.Schema):
    language = ma.fields.String(load_default="zh", validate=ma.validate.OneOf(LANGUAGES))
    channel = ma.fields.String(load_default="api",
                               validate=ma.validate.OneOf(("api", "miniprogram", "h5")))


class ConsentReceiptOutSchema(ma.Schema):
    consent_id = ma.fields.UUID()
    receipt = ma.fields.String(allow_none=True, metadata={"description": "Compact JWS (EdDSA)"})
    event = ma.fields.String()
    status = ma.fields.String()
    purpose = ma.fields.String()
    categories = ma.fields.List(ma.fields.String())
    created = ma.fields.Boolean()


class ConsentEventSchema(ma.Schema):
    event_id = ma.fields.UUID(attribute="id")
    consent_id = ma.fields.UUID()
    purpose = ma.fields.String()
    event = ma.fields.String(metadata={"description": "DPV: given, renewed, withdrawn, expired, "
                                                      "invalidated"})
    at = ma.fields.DateTime()
    actor = ma.fields.String()
    channel = ma.fields.String()
    language = ma.fields.String()
    categories = ma.fields.List(ma.fields.String())
    reason = ma.fields.String(allow_none=True)
    notice_id = ma.fields.UUID()
    notice_hash = ma.fields.String()
    has_receipt = ma.fields.Function(lambda e: e.receipt is not None)


class ConsentSchema(ma.Schema):
    consent_id = ma.fields.UUID(attribute="id")
    purpose = ma.fields.String()
    status = ma.fields.String()
    categories = ma.fields.List(ma.fields.String())
    separate_consent = ma.fields.Boolean()
    notice_id = ma.fields.UUID()
    given_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime(allow_none=True)
    ended_at = ma.fields.DateTime(allow_none=True)


class ConsentDetailSchema(ConsentSchema):
    events = ma.fields.List(ma.fields.Nested(ConsentEventSchema))


class ConsentReconsentSchema(ma.Schema):
    purpose = ma.fields.String()
    notice_id = ma.fields.UUID()
    reason = ma.fields.String()


class ConsentListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ConsentSchema))
    reconsent = ma.fields.List(ma.fields.Nested(ConsentReconsentSchema), metadata={
        "description": "Purposes to ask again (notice changed scope, or consent expired)"})


class ConsentQuerySchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(
        ("active", "withdrawn", "expired", "invalidated")))


class ConsentHistorySchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ConsentEventSchema))


class ConsentReceiptItemSchema(ma.Schema):
    event_id = ma.fields.UUID(attribute="id")
    event = ma.fields.String()
    at = ma.fields.DateTime()
    receipt = ma.fields.String()


class ConsentReceiptListSchema(ma.Schema):
    consent_id = ma.fields.UUID()
    receipt = ma.fields.String(metadata={"description": "The latest receipt"})
    event = ma.fields.String()
    receipts = ma.fields.List(ma.fields.Nested(ConsentReceiptItemSchema))


class ReceiptVerifyInSchema(ma.Schema):
    receipt = ma.fields.String(required=True, validate=ma.validate.Length(1, 16384))


class ReceiptVerifyOutSchema(ma.Schema):
    valid = ma.fields.Boolean()
    reason = ma.fields.String()
    kid = ma.fields.String()
    recorded = ma.fields.Boolean(metadata={"description": "Matches a stored consent event"})
    claims = ma.fields.Dict()


class ConsentExportQuerySchema(ma.Schema):
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "csv")))
    since = ma.fields.AwareDateTime(default_timezone=None)
    until = ma.fields.AwareDateTime(default_timezone=None)
    after_seq = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=2**63 - 1))


def _notice_out(notice, language: str) -> dict:
    out = {c: getattr(notice, c) for c in (
        "id", "purpose", "version", "title_zh", "title_en", "text_zh", "text_en", "hash",
        "categories", "separate_consent_categories", "requires_separate_consent", "recipients",
        "retention", "validity_days", "published_at")}
    out.update(language=language, text=getattr(notice, f"text_{language}"),
               title=getattr(notice, f"title_{language}"))
    return out


def _answer(outcome) -> dict:
    record = outcome.record
    return {"consent_id": record.id, "receipt": outcome.receipt,
            "event": outcome.event.event if outcome.event else None, "status": record.status,
            "purpose": record.purpose, "categories": record.categories,
            "created": outcome.created}


# -- notices ------------------------------------------------------------------------------------

@blp.route("/api/v1/notices")
class Notices(MethodView):
    @blp.arguments(NoticeQuerySchema(), location="query")
    @blp.response(200, NoticeSchema(many=True))
    def get(self, query):
        """The current notice of every purpose (or every version), in zh and en."""
        with runtime().uow() as uow:
            found = notices.listing(uow.session, purpose=query.get("purpose"),
                                    all_versions=query["all_versions"])
            return [_notice_out(n, query["language"]) for n in found]


@blp.route("/api/v1/notices/<uuid:notice_id>")
class NoticeOne(MethodView):
    @blp.arguments(NoticeLanguageQuerySchema(), location="query")
    @blp.response(200, NoticeSchema)
    def get(self, query, notice_id):
        """One notice version, current or superseded: the exact text behind a hash."""
        with runtime().uow() as uow:
            return _notice_out(notices.get(uow.session, notice_id), query["language"])


# -- the resident's consents --------------------------------------------------------------------

@blp.route("/api/v1/me/consents")
class Consents(MethodView):
    @blp.arguments(ConsentQuerySchema(), location="query")
    @blp.response(200, ConsentListSchema)
    @blp.doc(security=RESIDENT)
    def get(self, query):
        """My consents (newest first) and the purposes I am asked to consent to again."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            now = runtime().clock.now()
            items = history.records_for(uow.session, resident.id)
            if query.get("status"):
                items = [r for r in items if r.status == query["status"]]
            return {"items": items,
                    "reconsent": history.reconsent_needed(uow.session, resident.id, now)}

    @blp.arguments(ConsentGrantSchema())
    @blp.response(201, ConsentReceiptOutSchema)
    @blp.alt_response(200, schema=ConsentReceiptOutSchema,
                      description="The identical consent, already in force")
    @blp.doc(security=RESIDENT)
    def post(self, body):
        """Give consent to a notice (idempotent); returns the consent id and a signed receipt."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            outcome = grant(uow, resident, body["notice_id"], now=runtime().clock.now(),
                            signing=_signing(), categories=body["categories"],
                            separate_consent=body["separate_consent"],
                            channel=body["channel"], language=body["language"])
            return _answer(outcome), 201 if outcome.created else 200


@blp.route("/api/v1/me/consents/<uuid:consent_id>")
class ConsentOne(MethodView):
    @blp.response(200, ConsentDetailSchema)
    @blp.doc(security=RESIDENT)
    def get(self, consent_id):
        """One of my consents with its event history."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            record = history.own_record(uow.session, resident.id, consent_id)
            events = history.events_for(uow.session, resident.id, consent_id)
            fields = ("id", "purpose", "status", "categories", "separate_consent", "notice_id",
                      "given_at", "expires_at", "ended_at")
            return {**{f: getattr(record, f) for f in fields}, "events": events}


@blp.route("/api/v1/me/consents/<uuid:consent_id>/withdraw")
class Withdraw(MethodView):
    @blp.arguments(ConsentWithdrawSchema(), required=False)
    @blp.response(200, ConsentReceiptOutSchema)
    @blp.doc(security=RESIDENT)
    def post(self, body, consent_id):
        """Withdraw a consent: effective at once; returns a signed receipt."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            outcome = withdraw(uow, resident, consent_id, now=runtime().clock.now(),
                               signing=_signing(), channel=body["channel"],
                               language=body["language"])
            return _answer(outcome)


@blp.route("/api/v1/me/consents/<uuid:consent_id>/receipt")
class ConsentReceipt(MethodView):
    @blp.response(200, ConsentReceiptListSchema)
    @blp.doc(security=RESIDENT)
    def get(self, consent_id):
        """The latest receipt of one of my consents, and every earlier one."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            record = history.own_record(uow.session, resident.id, consent_id)
            found = history.receipts_of(uow.session, record)
            if not found:
                raise NotFound("this consent has no receipt", detail_zh="该授权没有回执")
            latest = found[-1]
            return {"consent_id": record.id, "receipt": latest.receipt, "event": latest.event,
                    "receipts": found}


@blp.route("/api/v1/me/consent-history")
class ConsentHistory(MethodView):
    @blp.response(200, ConsentHistorySchema)
    @blp.doc(security=RESIDENT)
    def get(self):
        """Every consent event of mine, oldest first."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"items": history.events_for(uow.session, resident.id)}


@blp.route("/api/v1/receipts/verify")
class ReceiptVerify(MethodView):
    @blp.arguments(ReceiptVerifyInSchema())
    @blp.response(200, ReceiptVerifyOutSchema)
    def post(self, body):
        """Verify a consent receipt: signature, key, and whether it matches our records."""
        with runtime().uow() as uow:
            return receipts.verify(uow.session, body["receipt"])


# -- auditors -----------------------------------------------------------------------------------

def _export(query: dict, resident_id=None):
    with runtime().uow() as uow:
        operator = auth.operator(uow, "auditor")
        now = runtime().clock.now()
        audit.record(uow.session, actor=f"operator:{operator.client_id}",
                     action="consent.exported", now=now,
                     subject=str(resident_id) if resident_id else "all",
                     data={"format": query["format"]})
        if resident_id and uow.session.get(Resident, resident_id) is not None:
            # one resident's consents: a read of their data, in their access log (查询记录)
            operator_read(uow.session, resident_id=resident_id, operator=operator,
                          action="consent_history_read", now=now,
                          learned={"seen": ["consent_history"]})
        uow.commit()
        window = {"resident_id": resident_id, "since": query.get("since"),
                  "until": query.get("until")}
        if query["format"] == "csv":
            text = "".join(history.export_csv(uow.session, **window))
            name = f"consents-{resident_id or 'all'}.csv"
            return Response(text, mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="{name}"'})
        return history.export_json(uow.session, after_seq=query["after_seq"], **window)


EXPORT_FORMATS = {"200": {"description": "the events: JSON (format=json) or CSV (format=csv)",
                          "content": {"application/json": {"schema": {"type": "object"}},
                                      "text/csv": {"schema": {"type": "string"}}}}}


@blp.route("/admin/v1/consents/export")
class ExportAll(MethodView):
    @blp.arguments(ConsentExportQuerySchema(), location="query")
    @blp.response(200)
    @blp.doc(security=OPERATOR, responses=EXPORT_FORMATS)
    def get(self, query):
        """Auditor: every consent event (JSON with notice documents, or CSV), with notice hashes."""
        return _export(query)


@blp.route("/admin/v1/residents/<uuid:resident_id>/consents")
class ExportResident(MethodView):
    @blp.arguments(ConsentExportQuerySchema(), location="query")
    @blp.response(200)
    @blp.doc(security=OPERATOR, responses=EXPORT_FORMATS)
    def get(self, query, resident_id):
        """Auditor: one resident's consent events (JSON or CSV), with notice hashes."""
        return _export(query, resident_id)

