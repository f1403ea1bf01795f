"""Schemas and fields every area shares: write them here once, import them in `schemas.py`;
and the `Blueprint` every area's routes are registered on.

    from app.api.common import Bilingual, CodedReason, UTCDateTime
    created_at = UTCDateTime()          # a datetime (or an answer's stored ISO text) → "…Z"
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Request
from webargs.flaskparser import FlaskParser

from app.safe_input import DOCUMENT
from core.idempotency import iso


class ScreenedParser(FlaskParser):
    """webargs' Flask parser, taking a JSON body as the input screen (`app.safe_input`, which
    runs before every view) already parsed and passed it, rather than parsing it again."""

    def _raw_load_json(self, req: Request) -> Any:
        if DOCUMENT in req.environ:
            return req.environ[DOCUMENT]
        return super()._raw_load_json(req)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, parsing arguments with `ScreenedParser`."""

    ARGUMENTS_PARSER = ScreenedParser()


KEY = ma.validate.Length(1, 64)  # a partner's own idempotency key (`out_*_no`)

# Who may call an operation, for the OpenAPI document (`@blp.doc(security=RESIDENT)`); the
# schemes are declared in `app.api.register`.
Security = list[dict[str, list[str]]]
RESIDENT: Security = [{"residentSession": []}]
PARTNER: Security = [{"partnerKey": []}]
SOURCE: Security = [{"sourceKey": []}]
OPERATOR: Security = [{"operatorKey": []}]
STAFF: Security = [{"staffSession": []}]  # a counter staff member's session (core.staff)
COUNTER: Security = [*PARTNER, *STAFF]  # the counter's calls: the API key or a staff session


class UTCDateTime(ma.fields.Field):
    """A UTC time in answers: ISO 8601 ending in `Z` (as stored answers carry it); typed
    `string`/`date-time` in the OpenAPI document. Text already in that form (a stored
    idempotent answer) passes through unchanged, so a replay renders the same bytes."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, datetime):
            return iso(value)
        raise ma.ValidationError("not a time")


class Date(ma.fields.Date):
    """A calendar day, `YYYY-MM-DD` (typed `string`/`date` in the OpenAPI document)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, date):
            return value.isoformat()
        raise ma.ValidationError("not a day")


class Bilingual(ma.Schema):
    """A text in both languages."""

    zh = ma.fields.String(required=True)
    en = ma.fields.String(required=True)


class CodedReason(ma.Schema):
    """Why something was decided: a stable code and its text in both languages."""

    code = ma.fields.String()
    zh = ma.fields.String()
    en = ma.fields.String()


def register_field_types(api: Any) -> None:
    """Tell the OpenAPI document how the shared fields are typed."""
    api.register_field(UTCDateTime, "string", "date-time")
    api.register_field(Date, "string", "date")
