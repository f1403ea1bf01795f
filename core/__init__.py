"""Shared building blocks for the 鹏城分 domain packages and the web app.

Where a thing goes:

    core/identity.py   def profile(session, keyring, resident) -> Profile     # a helper: a
                       # session in, nothing committed; returns a dataclass the API renders
    core/records.py    def ingest(uow, keyring, *, …, now) -> IngestResult     # a use case:
                       # the unit of work first, the clock as an argument, one commit
    core/registry.py   def publicity_end(occurred, severity)   # a rule, written once

Kept deliberately small: persistence base and unit of work, encryption, the audit log,
the clock, the fast store (Redis or in-process), ID-number validation and the data-category
registry. Nothing here imports Flask.
"""
