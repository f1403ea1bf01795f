"""The resident's notifications: `/api/v1/me/notifications`."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth
from app.runtime import runtime
from core import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/me",
                description="Reminders and outcomes sent to the resident")


class NotificationQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50,
                              validate=ma.validate.Range(1, notifications.MAX_PAGE))
    unread = ma.fields.Boolean(load_default=False)


class LangTextSchema(ma.Schema):
    zh = ma.fields.String()
    en = ma.fields.String()


class NotificationSchema(ma.Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String()
    title = ma.fields.Nested(LangTextSchema)
    body = ma.fields.Nested(LangTextSchema)
    data = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    read_at = ma.fields.DateTime(allow_none=True)


class NotificationListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    unread = ma.fields.Integer()


class MarkReadSchema(ma.Schema):
    ids = ma.fields.List(ma.fields.UUID(), required=True,
                         validate=ma.validate.Length(1, notifications.MAX_PAGE))


class MarkedSchema(ma.Schema):
    marked = ma.fields.Integer()


def _view(n: notifications.Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "title": {"zh": n.title_zh, "en": n.title_en},
            "body": {"zh": n.body_zh, "en": n.body_en}, "data": n.data,
            "created_at": n.created_at, "read_at": n.read_at}


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(NotificationQuerySchema(), location="query")
    @blp.response(200, NotificationListSchema)
    @blp.doc(security=[{"residentSession": []}])
    def get(self, query):
        """Your notifications, newest first (bill reminders, dispute outcomes, …)."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            found = notifications.for_resident(uow.session, resident.id, limit=query["limit"],
                                               unread_only=query["unread"])
            unread = len(notifications.for_resident(uow.session, resident.id,
                                                    limit=notifications.MAX_PAGE,
                                                    unread_only=True))
        return {"items": [_view(n) for n in found], "unread": unread}


@blp.route("/notifications/read")
class MarkRead(MethodView):
    @blp.arguments(MarkReadSchema())
    @blp.response(200, MarkedSchema)
    @blp.doc(security=[{"residentSession": []}])
    def post(self, body):
        """Mark notifications as read."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            marked = notifications.mark_read(uow.session, resident.id, body["ids"],
                                             runtime().clock.now())
            uow.commit()
        return {"marked": marked}
