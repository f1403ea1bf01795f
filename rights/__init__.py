"""Residents' rights: disputes, credit repair, human review, export and erasure (DESIGN §5.10).

Where a thing goes: a use case takes the unit of work first and commits once
(`disputes.open_dispute(uow, resident, record_id=…, reason=…, evidence=None, now=now, days=15)`);
a helper takes a session and never commits (`view.own_record(session, resident_id, record_id)`);
what the operator queues share (list, open, decide) is in `queues.py`, the checks every use
case shares in `view.py`, refusals in `errors.py`.
"""
