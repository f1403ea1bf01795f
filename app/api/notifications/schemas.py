"""What the notifications area takes and answers."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.api.common import Bilingual
from core import notifications


class NotificationQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50,
                              validate=ma.validate.Range(1, notifications.MAX_PAGE))
    unread = ma.fields.Boolean(load_default=False)


class NotificationSchema(ma.Schema):
    """One `core.notifications.Notification`, its texts in both languages."""

    id = ma.fields.UUID()
    kind = ma.fields.String()
    title = ma.fields.Nested(Bilingual)
    body = ma.fields.Nested(Bilingual)
    data = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    read_at = ma.fields.DateTime(allow_none=True)

    @ma.pre_dump
    def _texts(self, n: notifications.Notification, **_: Any) -> dict[str, Any]:
        return {"id": n.id, "kind": n.kind, "title": {"zh": n.title_zh, "en": n.title_en},
                "body": {"zh": n.body_zh, "en": n.body_en}, "data": n.data,
                "created_at": n.created_at, "read_at": n.read_at}


class NotificationListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    unread = ma.fields.Integer()


class MarkReadSchema(ma.Schema):
    ids = ma.fields.List(ma.fields.UUID(), required=True,
                         validate=ma.validate.Length(1, notifications.MAX_PAGE))


class MarkedSchema(ma.Schema):
    marked = ma.fields.Integer()
