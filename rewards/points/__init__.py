"""Incentive points (信用积分): a double-entry ledger, earning rules, expiry, redemption.

`ledger` (accounts, transfers, invariants: helpers on a session), `earning` (rules and the
earning batches), `expiry`, `redemption` (the partner's idempotent writes: `redeem`, `refund`),
`statements` (clearing statements, the resident's overview), `jobs`, `rights` (export and
retention), `models`, `errors`; SQL functions in `sql/`.

    ledger.post(session, key=…, kind="earn", legs=[(issuance, -10), (account, 10)], now=now)
    redemption.redeem(runtime().uow, token, partner=shop, out_order_no="o-1", points=50,
                      now=now, ctx=runtime().tokens)   # a use case: its own unit of work
"""
