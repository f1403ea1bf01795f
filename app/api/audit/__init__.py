"""HTTP layer of the audit log, for auditors: `routes.py` (`/admin/v1/audit/…`, thin handlers
that only read) and `schemas.py` (the query and the answers). The reads and the verification
are `core.audit`'s:

    with runtime().uow() as uow:
        auth.operator(uow, "auditor")
        return audit.entries(uow.session, action=…, after_seq=…, limit=…)
"""
