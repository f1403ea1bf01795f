"""Imports every ORM model so that `Base.metadata` is complete (Alembic, tests)."""

from consent import models as consent_models  # noqa: F401
from core import (  # noqa: F401
    audit,
    crypto,
    idempotency,
    identity,
    notifications,
    records,
    signing,
    staff,
)
from events import channels as channels_models  # noqa: F401
from events import models as events_models  # noqa: F401
from reports import models as reports_models  # noqa: F401
from rewards import models as rewards_models  # noqa: F401
from rewards.credit import models as credit_models  # noqa: F401
from rewards.points import models as points_models  # noqa: F401
from rewards.waivers import models as waivers_models  # noqa: F401
from rights import models as rights_models  # noqa: F401
from scoring import monitor, store  # noqa: F401
