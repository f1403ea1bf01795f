"""Imports every ORM model so that `Base.metadata` is complete (Alembic, tests)."""

from core import audit, crypto, identity, records, signing  # noqa: F401
from scoring import store  # noqa: F401
