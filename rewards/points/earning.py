"""Earning rules (configuration, not code) and the awards they make.

The rules live in `rewards/points/rules.json`; the `POINTS_RULES` setting replaces the file
(a path to a JSON file, or the JSON itself). Two kinds:

* `monthly_tier`: points each calendar month by the resident's tier (`points_by_tier`). It needs a
  current score — hence a valid consent to scoring — at the time the job runs in that month.
  Key `earn:<rule>:<resident>:<YYYY-MM>`.
* `record`: points for records a data source pushed (`category`, `type`): `points_per_record`, or
  `quantity × points_per_unit` (volunteer hours), capped by `max_points_per_record`. A record
  counts while it is active (not disputed, repaired or removed), occurred within
  `lookback_days`, and the resident's scoring consent covers its category — the same consent
  that lets it count for the score. Key `earn:<rule>:<resident>:<record>`: a record is its own
  period, so a record pushed late still earns, once.

Every award is one `issuance → resident` transfer with a unique key and a lot that expires
`expiry_days` after it was earned; running the job twice awards once.
"""

from __future__ import annotations

import functools
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent.gate import ConsentRequired, scoring_categories
from consent.models import ConsentRecord
from core.db import UnitOfWork
from core.identity import Resident
from core.records import Record
from core.registry import CATEGORIES
from rewards.points import ledger
from rewards.points.models import Lot, Transfer

RULES_FILE = Path(__file__).with_name("rules.json")
BATCH = 500


class RulesInvalid(ValueError):
    """The earning rules file is wrong; the job refuses to run on it."""


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    name: dict[str, str]
    points_by_tier: dict[str, int] = field(default_factory=dict)
    category: str | None = None
    type: str | None = None
    points_per_record: int = 0
    points_per_unit: float = 0
    max_points_per_record: int | None = None
    lookback_days: int = 365

    def points_for(self, quantity: float | None) -> int:
        """Points one record earns."""
        if self.points_per_unit:
            points = math.floor((quantity or 0) * self.points_per_unit)
        else:
            points = self.points_per_record
        if self.max_points_per_record is not None:
            points = min(points, self.max_points_per_record)
        return max(points, 0)


@dataclass(frozen=True)
class Rules:
    expiry: timedelta
    expiring_soon: timedelta
    rules: tuple[Rule, ...]

    def named(self, code: str | None) -> dict[str, str] | None:
        return next((r.name for r in self.rules if r.code == code), None)


def _nonnegative_int(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise RulesInvalid(f"{what} must be a non-negative integer")
    return value


def parse_rules(spec: dict[str, Any]) -> Rules:
    """Validated rules from their JSON form."""
    try:
        expiry = _nonnegative_int(spec["expiry_days"], "expiry_days")
        soon = _nonnegative_int(spec.get("expiring_soon_days", 30), "expiring_soon_days")
        rules = []
        for raw in spec["rules"]:
            rule = Rule(**raw)
            if rule.kind == "monthly_tier":
                for tier, points in rule.points_by_tier.items():
                    _nonnegative_int(points, f"{rule.code}.points_by_tier.{tier}")
            elif rule.kind == "record":
                category = CATEGORIES.get(rule.category or "")
                if category is None or rule.type not in category.types:
                    raise RulesInvalid(f"{rule.code}: unknown record {rule.category}/{rule.type}")
                _nonnegative_int(rule.points_per_record, f"{rule.code}.points_per_record")
                if rule.points_per_unit < 0 or rule.lookback_days < 1:
                    raise RulesInvalid(f"{rule.code}: points_per_unit/lookback_days out of range")
            else:
                raise RulesInvalid(f"{rule.code}: unknown kind {rule.kind!r}")
            rules.append(rule)
    except (KeyError, TypeError) as exc:
        raise RulesInvalid(f"earning rules are malformed: {exc}") from exc
    if expiry < 1:
        raise RulesInvalid("expiry_days must be at least 1")
    if len({r.code for r in rules}) != len(rules):
        raise RulesInvalid("rule codes must be unique")
    return Rules(timedelta(days=expiry), timedelta(days=soon), tuple(rules))


def load_rules(source: str | dict[str, Any] | None = None) -> Rules:
    """The rules from `source` (a dict, JSON text or a path), else the packaged file."""
    if isinstance(source, dict):
        return parse_rules(source)
    if source and str(source).lstrip().startswith("{"):
        return parse_rules(json.loads(source))
    path = Path(source) if source else RULES_FILE
    return parse_rules(json.loads(path.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=8)
def rules_for(source: str | None) -> Rules:
    """`load_rules`, cached per process (the setting does not change while it runs)."""
    return load_rules(source)


# -- awards ---------------------------------------------------------------------------------------

def award(session: Session, *, resident_id: uuid.UUID, points: int, key: str, rule: str,
          now: datetime, expires_at: datetime, reference: str | None = None) -> bool:
    """Credit `points` to the resident once per `key`; False if `key` was already awarded."""
    points = ledger.check_points(points)
    if ledger.exists(session, key):
        return False
    account = ledger.resident_account(session, resident_id, now, create=True)
    assert account is not None
    issuance = ledger.system_account(session, "issuance", now)
    try:
        with session.begin_nested():
            ledger.credit(session, account, points)  # the account's row lock first
            transfer_id = ledger.post(session, key=key, kind="earn", rule=rule, now=now,
                                      reference=reference,
                                      legs=[(issuance, -points), (account, points)])
            session.execute(insert(Lot).values(
                id=uuid.uuid4(), account_id=account, transfer_id=transfer_id, points=points,
                remaining=points, expired=0, earned_at=now, expires_at=expires_at))
    except IntegrityError:
        if ledger.exists(session, key):  # a concurrent run awarded it first
            return False
        raise
    return True


def _awarded(session: Session, keys: list[str]) -> set[str]:
    return set(session.scalars(select(Transfer.key).where(Transfer.key.in_(keys)))) if keys \
        else set()


def earn_from_records(new_uow: Callable[[], UnitOfWork], rule: Rule, rules: Rules,
                      now: datetime) -> int:
    """Award `rule` for every eligible record not yet awarded; returns the awards made.

    A batch: one unit of work from `new_uow` per chunk of `BATCH` records, each committed."""
    made, after = 0, None
    while True:
        with new_uow() as uow:
            session = uow.session
            query = (select(Record.id, Record.resident_id, Record.quantity)
                     .where(Record.category == rule.category, Record.type == rule.type,
                            Record.status == "active", Record.resident_id.is_not(None),
                            Record.occurred_at >= now - timedelta(days=rule.lookback_days),
                            Record.occurred_at <= now)
                     .order_by(Record.id).limit(BATCH))
            if after is not None:
                query = query.where(Record.id > after)
            rows = list(session.execute(query))
            if not rows:
                return made
            after = rows[-1].id
            keys = {f"earn:{rule.code}:{r.resident_id.hex}:{r.id.hex}": r for r in rows}
            done = _awarded(session, list(keys))
            consents: dict[uuid.UUID, frozenset[str] | None] = {}
            for key, row in keys.items():
                if key in done:
                    continue
                if row.resident_id not in consents:
                    consents[row.resident_id] = scoring_categories(session, row.resident_id, now)
                if rule.category not in (consents[row.resident_id] or ()):
                    continue
                points = rule.points_for(row.quantity)
                if points and award(session, resident_id=row.resident_id, points=points,
                                    key=key, rule=rule.code, now=now, reference=row.id.hex,
                                    expires_at=now + rules.expiry):
                    made += 1
            uow.commit()


def _scoring_residents(session: Session, now: datetime, after: uuid.UUID | None
                       ) -> list[uuid.UUID]:
    query = (select(ConsentRecord.resident_id)
             .where(ConsentRecord.purpose == "scoring", ConsentRecord.status == "active",
                    or_(ConsentRecord.expires_at.is_(None), ConsentRecord.expires_at > now))
             .order_by(ConsentRecord.resident_id).limit(BATCH))
    if after is not None:
        query = query.where(ConsentRecord.resident_id > after)
    return list(session.scalars(query))


def earn_monthly(new_uow: Callable[[], UnitOfWork], rule: Rule, rules: Rules,
                 now: datetime) -> int:
    """Award this month's points by tier to every resident with a current score.

    A batch: one unit of work from `new_uow` per resident; a score computed for it is committed
    with its award (one commit)."""
    from scoring.services import fresh_score

    period, made, after = f"{now:%Y-%m}", 0, None
    while True:
        with new_uow() as uow:
            residents = _scoring_residents(uow.session, now, after)
            keys = {f"earn:{rule.code}:{r.hex}:{period}": r for r in residents}
            done = _awarded(uow.session, list(keys))
        if not residents:
            return made
        after = residents[-1]
        for key, resident_id in keys.items():
            if key in done:
                continue
            with new_uow() as uow:
                resident = uow.session.get(Resident, resident_id)
                try:
                    view, _computed = fresh_score(uow.session, resident,  # type: ignore[arg-type]
                                                  now=now)
                except ConsentRequired:
                    continue
                points = rule.points_by_tier.get(view.tier, 0)
                if points and award(uow.session, resident_id=resident_id, points=points,
                                    key=key, rule=rule.code, now=now, reference=period,
                                    expires_at=now + rules.expiry):
                    made += 1
                uow.commit()


def earn_all(new_uow: Callable[[], UnitOfWork], rules: Rules, now: datetime
             ) -> dict[str, int]:
    """Run every rule once; `{rule code: awards made}` (each rule a batch of units of work)."""
    counts = {}
    for rule in rules.rules:
        run = earn_monthly if rule.kind == "monthly_tier" else earn_from_records
        counts[rule.code] = run(new_uow, rule, rules, now)
    return counts
