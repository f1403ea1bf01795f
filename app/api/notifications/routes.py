"""The resident's notifications: `/api/v1/me/notifications`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app import auth
from app.api.common import RESIDENT, Blueprint
from app.api.notifications.schemas import (
    MarkedSchema,
    MarkReadSchema,
    NotificationListSchema,
    NotificationQuerySchema,
)
from app.runtime import runtime
from core import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/me",
                description="Reminders and outcomes sent to the resident")



@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(NotificationQuerySchema(), location="query")
    @blp.response(200, NotificationListSchema)
    @blp.doc(security=RESIDENT)
    def get(self, query: dict[str, Any]) -> notifications.Inbox:
        """Your notifications, newest first (bill reminders, dispute outcomes, …)."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return notifications.inbox(uow.session, resident.id, limit=query["limit"],
                                       unread_only=query["unread"])


@blp.route("/notifications/read")
class MarkRead(MethodView):
    @blp.arguments(MarkReadSchema())
    @blp.response(200, MarkedSchema)
    @blp.doc(security=RESIDENT)
    def post(self, body: dict[str, Any]) -> dict[str, int]:
        """Mark notifications as read."""
        with runtime().uow() as uow:
            resident = auth.resident(uow)
            return {"marked": notifications.mark_read(uow, resident.id, body["ids"],
                                                      runtime().clock.now())}
