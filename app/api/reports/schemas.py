"""What goes in and out of the reports area: the resident's reports and the public
verification (`routes.py`). Report times render as marshmallow's ISO form (`+00:00`), the
verdict's as the signed document states them (`Z`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for

from app.api.common import Date, UTCDateTime
from reports import build
from reports.models import KINDS

MAX_PDF_BASE64 = 1_400_000


class PeriodSchema(ma.Schema):
    start = Date(data_key="from", load_default=None,
                           metadata={"description": "first day (China time); default 3 years "
                                                    "before `to`"})
    end = Date(data_key="to", load_default=None,
                         metadata={"description": "last day, not after today; default today"})


class ReportRequestSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    sections = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(build.SECTIONS)),
                              load_default=None, metadata={"description": (
                                  "credit_report only; default records and commendations "
                                  "(the score and 先诊后付 only when chosen)")})
    categories = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 40)),
                                load_default=None, validate=ma.validate.Length(max=32),
                                metadata={"description": "records section / certificate scope"})
    period = ma.fields.Nested(PeriodSchema, load_default=None)
    lang = ma.fields.String(load_default="zh", validate=ma.validate.OneOf(build.LANGS))


class ReportLink(ma.fields.String):
    """Where one form of the report is served (`endpoint`), from the answer's `report_id`."""

    _CHECK_ATTRIBUTE = False  # computed, not read from the answer

    def __init__(self, endpoint: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str:
        return url_for(self.endpoint, report_id=ma.utils.get_value(obj, "report_id"))


class ReportIssuedSchema(ma.Schema):
    report_id = ma.fields.UUID()
    code = ma.fields.String(metadata={"description": "verification code (≥128 bits)"})
    html_url = ReportLink("reports.ReportHtml")
    pdf_url = ReportLink("reports.ReportPdf")
    verify_url = ma.fields.String()
    signed_url = ReportLink("reports.ReportSigned")
    kind = ma.fields.String()
    sections = ma.fields.List(ma.fields.String())
    issued_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()


class ReportSummarySchema(ma.Schema):
    report_id = ma.fields.UUID()
    kind = ma.fields.String()
    sections = ma.fields.List(ma.fields.String())
    categories = ma.fields.List(ma.fields.String())
    period = ma.fields.Dict()
    issued_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    status = ma.fields.String(metadata={"description": "active | expired | revoked"})
    available = ma.fields.Boolean(metadata={"description": "the document is still kept"})
    html_url = ReportLink("reports.ReportHtml")
    pdf_url = ReportLink("reports.ReportPdf")


class ReportListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ReportSummarySchema))


class ReportDetailSchema(ReportSummarySchema):
    code = ma.fields.String()
    verify_url = ma.fields.String()
    qr_svg = ma.fields.String(metadata={"description": "the verification link as a QR code "
                                                       "(inline SVG), as printed on the report"})
    signed_url = ReportLink("reports.ReportSigned")
    content = ma.fields.Dict()


class SignedSchema(ma.Schema):
    jws = ma.fields.String(metadata={"description": "compact JWS (EdDSA) over `report`"})
    report = ma.fields.Dict(metadata={"description": "the signed payload (canonical JSON)"})


class VerifyQuerySchema(ma.Schema):
    code = ma.fields.String(load_default=None)
    format = ma.fields.String(load_default=None, validate=ma.validate.OneOf(("json", "html")))


class VerifyDocumentSchema(ma.Schema):
    jws = ma.fields.String(validate=ma.validate.Length(1, 262144), metadata={
        "description": "the signed document (compact JWS)"})
    report = ma.fields.Dict(metadata={"description": "the report JSON, without its signature"})
    pdf_base64 = ma.fields.String(validate=ma.validate.Length(1, MAX_PDF_BASE64), metadata={
        "description": "the PDF file, base64"})

    @ma.validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        if len(data) != 1:
            raise ma.ValidationError("send exactly one of jws, report, pdf_base64")


class VerdictSchema(ma.Schema):
    genuine = ma.fields.Boolean(required=True)
    revoked = ma.fields.Boolean()
    expired = ma.fields.Boolean()
    kind = ma.fields.String(allow_none=True)
    issued_at = UTCDateTime()
    valid_until = UTCDateTime()
    sections = ma.fields.List(ma.fields.String())
    content = ma.fields.Dict(allow_none=True, metadata={
        "description": "exactly the sections the resident shared; null unless genuine and valid"})
    reason = ma.fields.String(metadata={"description": "genuine, revoked, expired, "
                                        "unknown_code, signature_invalid, tampered, "
                                        "unknown_document, unavailable"})
    message_zh = ma.fields.String()
    message_en = ma.fields.String()
