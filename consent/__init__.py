"""Consent: notices, consent records and events, receipts, and the gate every read path calls.

Where a thing goes — a use case in `services` takes the unit of work first and commits once;
a check reads the gate with a session:

    outcome = services.grant(uow, resident, notice_id, now=now, signing=signing)
    gate.require(session, resident.id, "scenario:medical_credit", now)

Modules: `models` (tables), `notices` (immutable notice versions, publishing, invalidation),
`services` (grant, withdraw, expire, the auditor export — the use cases), `gate` (the one
"may X use Y for Z now?" check; validity is SQL's `pc_consent_since`), `history` (reading a
resident's consents, receipts and auditor exports), `receipts` (signed ISO/IEC TS
27560-shaped receipts), `catalogue` (the seeded notice texts), `jobs` (expiry). Nothing here
imports Flask.
"""
