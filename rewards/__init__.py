"""Rewards: the scenario catalogue, entitlements and the partner tokens a resident shows.

`scenarios` (catalogue as data), `eligibility` (pure rules), `exclusions` (the codes
`pc_exclusions` answers), `entitlements` (per resident), `tokens` (issue, verify, introspect,
consume) with `token_format` (the checks that need no database, and `TokenContext`),
`pseudonyms` (pairwise `sub` and the settlement mapping), `access` (the resident-visible access
log), `models` (tables); `points/`, `credit/`, `waivers/` are the partner programmes.

    issued = entitlements.issue_token(uow, resident, scenario="medical_credit",
                                      partner="hospital-1", now=now, ctx=runtime().tokens)
    claims = tokens.consume(uow, token, partner=hospital, scenario="medical_credit", now=now,
                            ctx=ctx)            # inside the caller's unit of work
"""
