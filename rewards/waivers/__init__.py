"""Deposit waivers (免押): a partner lends without a deposit within the resident's cap and
number of open waivers; completion, default and settlement; records written by a job.

Where a thing goes:

    services.py   use cases: create (idempotent by out_order_no), complete, default;
                  the jobs' steps (report_defaults, credit_returns) take a session
    models.py, errors.py, jobs.py (one unit of work per batch), rights.py
"""
