"""Consent: notices, consent records and events, receipts, and the gate every read path calls.

Modules: `models` (tables), `notices` (immutable notice versions, publishing, invalidation),
`services` (grant, withdraw, expire — the use cases), `gate` (the one "may X use Y for Z now?"
check), `receipts` (signed ISO/IEC TS 27560-shaped receipts), `export` (auditor exports),
`catalogue` (the seeded notice texts). Nothing here imports Flask.
"""
