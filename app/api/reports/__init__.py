"""HTTP layer of the reports area: `routes.py` (the resident's reports and the public
`/reports/verify`; thin handlers that never commit) and `schemas.py` (what goes in and out).

    with runtime().uow() as uow:                       # a handler: authenticate, call, return
        report = services.revoke(uow, auth.resident(uow), report_id, now=now)
"""
