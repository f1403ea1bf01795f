"""The audit log for auditors: `/admin/v1/audit` (entries, checkpoints, verification)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app import auth
from app.api.audit.schemas import (
    AuditCheckpointListSchema,
    AuditEntryQuerySchema,
    AuditPageSchema,
    AuditVerdictSchema,
)
from app.api.common import OPERATOR, Blueprint
from app.runtime import runtime
from core import audit
from core.audit_jobs import max_age

blp = Blueprint("audit_admin", __name__, url_prefix="/admin/v1/audit",
                description="The hash-chained audit log: entries, checkpoints, verification")

AUDITOR = "auditor"


@blp.route("/entries")
class Entries(MethodView):
    @blp.arguments(AuditEntryQuerySchema(), location="query")
    @blp.response(200, AuditPageSchema)
    @blp.doc(security=OPERATOR)
    def get(self, query: dict[str, Any]) -> audit.Page:
        """Audit entries in chain order, with their hashes (auditor; by action/subject/time)."""
        with runtime().uow() as uow:
            auth.operator(uow, AUDITOR)
            return audit.entries(uow.session, **query)


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @blp.response(200, AuditCheckpointListSchema)
    @blp.doc(security=OPERATOR)
    def get(self) -> dict[str, list[audit.SignedHead]]:
        """Every signed checkpoint, oldest first (auditor; as `audit export-checkpoints`)."""
        with runtime().uow() as uow:
            auth.operator(uow, AUDITOR)
            return {"items": audit.signed_checkpoints(uow.session)}


@blp.route("/verify")
class Verify(MethodView):
    @blp.response(200, AuditVerdictSchema)
    @blp.doc(security=OPERATOR)
    def get(self) -> audit.Verdict:
        """Verify the chain and its checkpoints now (auditor; the newest must be recent)."""
        with runtime().uow() as uow:
            auth.operator(uow, AUDITOR)
            return audit.verify(uow.session, runtime().signer, runtime().clock.now(),
                                max_age=max_age(runtime().settings))
