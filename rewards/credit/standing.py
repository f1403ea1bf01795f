"""The resident's current decision in a token's scenario, computed before a partner's write.

Reading a score may recompute and commit it (scoring.services.current_score), so it must not
happen inside the partner's idempotent write (`core.idempotency.idempotent`, or a PostgreSQL
function such as `pc_credit_authorize`), whose claim and token consumption must commit
together with the effect or not at all. This runs first, in a unit of work of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.db import UnitOfWork
from core.identity import Partner, Resident
from rewards import scenarios, tokens
from rewards.eligibility import Decision, decide
from rewards.errors import TokenRejected, UnknownScenario
from rewards.exclusions import active_exclusions
from rewards.pseudonyms import resident_for
from rewards.token_format import TokenContext


@dataclass(frozen=True)
class Standing:
    scenario: scenarios.Scenario
    resident_id: uuid.UUID
    decision: Decision


def for_token(new_uow: Callable[[], UnitOfWork], token: Any, *, partner: Partner,
              now: datetime, ctx: TokenContext) -> Standing | None:
    """The decision for the resident behind `token`, or None when the token cannot be read
    (the write's own `consume` then says why, and a retried write still gets its answer)."""
    from rewards.entitlements import standing

    with new_uow() as uow:
        session = uow.session
        try:
            claims = tokens.verify(session, token, audience=partner.client_id, now=now,
                                   ctx=ctx)
            scenario = scenarios.get(session, claims.scn)
        except (TokenRejected, UnknownScenario):
            return None
        resident_id = resident_for(session, partner.id, claims.sub)
        resident = session.get(Resident, resident_id) if resident_id is not None else None
        if resident is None:
            return None
        score, tier = standing(uow, resident, now)
        excluded = (active_exclusions(session, resident.id, now, set(scenario.exclusions))
                    if score is not None else set())
        return Standing(scenario, resident.id,
                        decide(scenario, score=score, tier=tier, exclusions=excluded))
