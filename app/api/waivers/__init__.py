"""HTTP layer of deposit waivers (免押): `routes.py` (blueprints, thin handlers that never
commit) and `schemas.py` (what goes in and out).

    # routes.py: one use case per view; the unit of work is the use case's (or its wrapper's)
    partner = auth.calling_partner("deposit_partner")
    return waivers.create(runtime().uow, body["token"], partner=partner, ...)
"""
