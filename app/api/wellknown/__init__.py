"""Public, unauthenticated documents: `routes.py` (one JWKS per key purpose —
`/.well-known/jwks.json` for tokens, `receipt-keys.json`, `report-keys.json`,
`audit-keys.json` — each with `Cache-Control`, and `/healthz`) and `schemas.py`.
"""
