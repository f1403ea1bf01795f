"""HTTP layer of the points area: `routes.py` (blueprints, thin handlers that
never commit) and `schemas.py` (what goes in and out).

    # routes.py: authenticate, call one use case with the clock, return what it answers
    return redemption.redeem(runtime().uow, body["token"], partner=partner, …, ctx=runtime().tokens)
    # schemas.py: PointsRedemptionSchema renders the first answer and its replay alike
"""
