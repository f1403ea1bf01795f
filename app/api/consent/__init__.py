"""HTTP layer of the consent area: `routes.py` (blueprints, thin handlers that
never commit) and `schemas.py` (what goes in and out). A handler authenticates, calls one
use case and returns what it answers; the schema renders it:

    with runtime().uow() as uow:
        return grant(uow, auth.resident(uow), body["notice_id"], now=..., signing=...)
"""
