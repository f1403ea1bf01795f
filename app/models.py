"""Imports every ORM model so that `Base.metadata` is complete (Alembic, tests)."""

from consent import models as consent_models  # noqa: F401
from core import audit, crypto, idempotency, identity, notifications, records, signing  # noqa: F401
from rewards import models as rewards_models  # noqa: F401
from scoring import store  # noqa: F401
