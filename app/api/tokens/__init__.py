"""HTTP layer of entitlements, tokens and the access log: `routes.py` (blueprints, thin
handlers that never commit) and `schemas.py` (what goes in and out).

    with runtime().uow() as uow:                       # a handler: authenticate, call, return
        return issue_token(uow, auth.resident(uow), …, now=now, ctx=runtime().tokens)
"""
