"""Rewards: the scenario catalogue, entitlements and the partner tokens a resident shows.

`scenarios` (catalogue as data), `eligibility` (pure rules), `entitlements` (per resident),
`tokens` (issue, verify, introspect, consume), `pseudonyms` (pairwise `sub` and the settlement
mapping), `access` (the resident-visible access log), `models` (tables).
"""
