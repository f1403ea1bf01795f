"""What the audit area takes and answers: `core.audit`'s Page, Entry, SignedHead and Verdict."""

from __future__ import annotations

import marshmallow as ma

from app.api.common import UTCDateTime
from core import audit

SEQ = ma.validate.Range(min=0, max=2**63 - 1)


class AuditEntryQuerySchema(ma.Schema):
    action = ma.fields.String(validate=ma.validate.Length(1, 80), metadata={
        "description": "an action (`dispute.resolved`) or, ending in `.*`, a prefix "
                       "(`dispute.*`)"})
    subject = ma.fields.String(validate=ma.validate.Length(1, 80),
                               metadata={"description": "the id an entry is about"})
    actor = ma.fields.String(validate=ma.validate.Length(1, 80), metadata={
        "description": "who acted: `cli`, `system`, `operator:<client id>`, `resident:<id>`…"})
    since = ma.fields.AwareDateTime(default_timezone=None,
                                    metadata={"description": "entries at or after this time"})
    until = ma.fields.AwareDateTime(default_timezone=None,
                                    metadata={"description": "entries before this time"})
    after_seq = ma.fields.Integer(load_default=0, validate=SEQ, metadata={
        "description": "entries after this seq (the previous page's `next_after_seq`)"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, audit.MAX_PAGE))


class AuditEntrySchema(ma.Schema):
    """One `core.audit.Entry`: `entry_hash = SHA-256(prev_hash ‖ canonical JSON of {seq, at,
    actor, action, subject, data})` (docs/security.md, "Audit")."""

    seq = ma.fields.Integer()
    at = UTCDateTime()
    actor = ma.fields.String()
    action = ma.fields.String()
    subject = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()
    prev_hash = ma.fields.String()
    entry_hash = ma.fields.String()


class AuditPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditEntrySchema))
    next_after_seq = ma.fields.Integer(allow_none=True, metadata={
        "description": "pass as `after_seq` for the next page; null: no more entries"})


class AuditCheckpointSchema(ma.Schema):
    """One `core.audit.SignedHead`: a line of `pengcheng audit export-checkpoints`."""

    seq = ma.fields.Integer()
    entry_hash = ma.fields.String()
    at = ma.fields.Function(lambda cp: cp.at.isoformat(), metadata={
        "type": "string", "format": "date-time",
        "description": "when it was signed (ISO 8601, as the exported file has it)"})
    signature = ma.fields.String(metadata={
        "description": "compact JWS (EdDSA, `typ` pc-audit+jwt) over {seq, entry_hash, at}; "
                       "the key is in /.well-known/audit-keys.json"})


class AuditCheckpointListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditCheckpointSchema))


class AuditNewestSchema(ma.Schema):
    seq = ma.fields.Integer()
    at = UTCDateTime()


class AuditVerdictSchema(ma.Schema):
    """One `core.audit.Verdict`."""

    ok = ma.fields.Boolean()
    entries = ma.fields.Integer()
    checkpoints = ma.fields.Integer()
    newest_checkpoint = ma.fields.Nested(AuditNewestSchema, allow_none=True)
    problems = ma.fields.List(ma.fields.String())
