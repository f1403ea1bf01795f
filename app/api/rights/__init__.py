"""HTTP layer of the rights area: `routes.py` (the resident's `/api/v1/me/…`), `admin.py`
(the operator queues under `/admin/v1`, built from `rights.queues`) — thin handlers that never
commit — and `schemas.py` (what goes in and out).

    with runtime().uow() as uow:                       # a handler: authenticate, call, return
        found = repair.apply(uow, auth.resident(uow), record_id=…, pledge=True, …)
"""
