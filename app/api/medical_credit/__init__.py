"""HTTP layer of 先诊后付: `routes.py` (blueprints, thin handlers that never commit) and
`schemas.py` (what goes in and out).

    # routes.py: authenticate, call one use case with the clock, return what it answers
    return credit.pay(runtime().uow, bill_id, partner=auth.calling_partner("payment_channel"), ...)
    # schemas.py: CreditPaymentSchema renders the first answer and its replay alike
"""
