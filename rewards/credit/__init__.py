"""先诊后付 (medical credit): a hospital holds part of the resident's line, bills it, a payment
channel takes repayments; periodic jobs expire holds, remind, mark overdue and report.

Where a thing goes:

    services.py   use cases: authorize, capture, void, pay (idempotent ones decorated with
                  core.idempotency.idempotent), their answer dataclasses
    standing.py   the resident's decision, computed before a partner's write
    account.py    helpers on the account row (take a session, never commit)
    models.py, errors.py, terms.py, notices.py, views.py (the resident's view),
    jobs.py (one unit of work per batch), rights.py (export and retention)
"""
