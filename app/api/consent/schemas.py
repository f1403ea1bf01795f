"""What the consent area takes and answers: notices, consents and their events, receipts.

    ConsentReceiptOutSchema().dump(outcome)   # a `consent.services.Outcome` → the answer
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from consent.history import Detail, Receipts
from consent.models import LANGUAGES, Notice
from consent.services import Outcome
from core.registry import CORE


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
    core_categories = ma.fields.List(ma.fields.String(), metadata={
        "description": "A scoring notice's core categories: records public by law and the "
                       "performance of 鹏城分's own scenarios, always included when scoring is "
                       "authorized (the others are supplements, chosen one by one)"})
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
    """A grant's or a withdrawal's `Outcome`: the consent and its signed receipt."""

    consent_id = ma.fields.UUID()
    receipt = ma.fields.String(allow_none=True, metadata={"description": "Compact JWS (EdDSA)"})
    event = ma.fields.String()
    status = ma.fields.String()
    purpose = ma.fields.String()
    categories = ma.fields.List(ma.fields.String())
    created = ma.fields.Boolean()

    @ma.pre_dump
    def _outcome(self, outcome: Outcome, **_: Any) -> dict[str, Any]:
        record = outcome.record
        return {"consent_id": record.id, "receipt": outcome.receipt,
                "event": outcome.event.event if outcome.event else None,
                "status": record.status, "purpose": record.purpose,
                "categories": record.categories, "created": outcome.created}


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
    """A `consent.history.Detail`: the record's fields and its events."""

    events = ma.fields.List(ma.fields.Nested(ConsentEventSchema))

    @ma.pre_dump
    def _detail(self, found: Detail, **_: Any) -> dict[str, Any]:
        fields = ("id", "purpose", "status", "categories", "separate_consent", "notice_id",
                  "given_at", "expires_at", "ended_at")
        return {**{f: getattr(found.record, f) for f in fields}, "events": found.events}


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
    """A `consent.history.Receipts`: the latest receipt first, then all of them."""

    consent_id = ma.fields.UUID()
    receipt = ma.fields.String(metadata={"description": "The latest receipt"})
    event = ma.fields.String()
    receipts = ma.fields.List(ma.fields.Nested(ConsentReceiptItemSchema))

    @ma.pre_dump
    def _receipts(self, found: Receipts, **_: Any) -> dict[str, Any]:
        return {"consent_id": found.consent_id, "receipt": found.latest.receipt,
                "event": found.latest.event, "receipts": found.receipts}


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


NOTICE_FIELDS = ("id", "purpose", "version", "title_zh", "title_en", "text_zh", "text_en", "hash",
                 "categories", "separate_consent_categories", "requires_separate_consent",
                 "recipients", "retention", "validity_days", "published_at")


def notice_in(notice: Notice, language: str) -> dict[str, Any]:
    """A notice version as `NoticeSchema` renders it, with `title` and `text` in `language`."""
    out = {c: getattr(notice, c) for c in NOTICE_FIELDS}
    out.update(language=language, text=getattr(notice, f"text_{language}"),
               title=getattr(notice, f"title_{language}"),
               core_categories=[c for c in notice.categories if c in CORE]
               if notice.purpose == "scoring" else [])
    return out
