"""The points jobs: `points.earn` (award the earning rules) and `points.expire` (expire lots)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.jobs import JobContext, job
from core.notifications import notify
from rewards.points import expiry
from rewards.points.earning import Rules, earn_all, load_rules
from rewards.points.models import Account, Lot

BATCH = 200


def rules_of(ctx: JobContext) -> Rules:
    return load_rules(ctx.settings.get("POINTS_RULES"))


@job("points.earn")
def earn(ctx: JobContext) -> dict[str, int]:
    """Award points by the earning rules (once per rule × resident × month or record)."""
    return earn_all(ctx.uow, rules_of(ctx), ctx.now)


@job("points.expire")
def expire(ctx: JobContext) -> dict[str, int]:
    """Expire points past their expiry (oldest first) and tell residents what expires soon.

    A batch: one unit of work per resident account expired, one per chunk of reminders."""
    rules = rules_of(ctx)
    accounts = points = 0
    while True:
        with ctx.uow() as uow:
            due = expiry.accounts_due(uow.session, ctx.now, BATCH)
        for account_id in due:
            with ctx.uow() as uow:
                points += expiry.expire_account(uow.session, account_id, ctx.now)
                uow.commit()
            accounts += 1
        if len(due) < BATCH:
            break
    return {"accounts": accounts, "points": points,
            "reminded": remind(ctx, rules.expiring_soon)}


def remind(ctx: JobContext, within: Any) -> int:
    """One notification per lot that starts to expire within `within` (deduplicated); one
    unit of work per chunk of `BATCH` lots."""
    sent, after = 0, None
    while True:
        with ctx.uow() as uow:
            query = (select(Lot.id, Lot.remaining, Lot.expires_at, Account.resident_id)
                     .join(Account, Account.id == Lot.account_id)
                     .where(Lot.remaining > 0, Lot.expires_at > ctx.now,
                            Lot.expires_at <= ctx.now + within)
                     .order_by(Lot.id).limit(BATCH))
            if after is not None:
                query = query.where(Lot.id > after)
            rows = list(uow.session.execute(query))
            for lot_id, remaining, expires_at, resident_id in rows:
                assert resident_id is not None  # lots belong to resident accounts only
                day = f"{expires_at:%Y-%m-%d}"
                sent += notify(
                    uow.session, resident_id=resident_id, kind="points.expiring",
                    dedupe_key=f"points.expiring:{lot_id.hex}", now=ctx.now,
                    title=("积分即将过期", "Points expiring soon"),
                    body=(f"您有 {remaining} 积分将于 {day} 过期，请及时使用。",
                          f"{remaining} of your points expire on {day}; use them before then."),
                    data={"points": int(remaining), "expires_at": day})
            uow.commit()
        if len(rows) < BATCH:
            return sent
        after = rows[-1][0]
