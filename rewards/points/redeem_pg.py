"""A redemption on PostgreSQL in one round trip: `pc_redeem` (migration 0011).

`rewards.points.redemption.redeem_once` comes here on PostgreSQL once `tokens.admit` has
checked the token's signature, times, audience and scenario. The function call does the rest
of what `run_once` + `redeem` do, in their order and in one implicit transaction (the unit of
work is an autocommit one): the idempotency claim, the token's consumption and access-log
entry, the per-order limit, the debit, the draw from the lots, the transfer, the redemption and
the stored answer. Python builds the ids, the time and the answer (`redemption_view`), so a
fast answer is the portable path's to the byte.

The cases the function leaves to the portable path (a lot to expire first, the partner's first
redemption, a broken invariant to name, an order already in the ledger without an idempotency
claim) raise `pgcall.PortablePath` with nothing written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core import pgcall
from core.db import UnitOfWork
from core.identity import Partner
from rewards import tokens

_REDEEM = text(
    f"SELECT pc_redeem({tokens.CONSUME_ARGS}, :out_order_no, :body_hash, :points,"
    " :redemption_id, :transfer_id, CAST(:answer AS json))")


def redeem(uow: UnitOfWork, claims: tokens.Claims, *, partner: Partner,
           redemption_id: uuid.UUID, out_order_no: str, points: int, now: datetime,
           digest: str, answer: dict[str, Any], refusals: Mapping[str, pgcall.Refusal]
           ) -> dict[str, Any]:
    """Claim (storing `answer` with the claim), consume, debit, draw and post the redemption
    `redemption_id` in one statement; the answer, or the stored one on a retry. Refusals become
    `refusals[code](fields)`."""
    params = {**tokens.db_args(claims, partner, now), "out_order_no": out_order_no,
              "body_hash": digest, "points": points, "redemption_id": redemption_id,
              "transfer_id": uuid.uuid4(), "answer": json.dumps(answer)}
    try:
        result: dict[str, Any] = pgcall.call(uow, _REDEEM, params, refusals)
    except IntegrityError as exc:
        # The order is in the ledger but not among the idempotency claims (written by other
        # means): the portable path's backstop names the conflict.
        if "points_transfers" in str(exc.orig) and "key" in str(exc.orig):
            raise pgcall.PortablePath() from exc
        raise
    return result
