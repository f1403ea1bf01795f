"""The consent gate: the one answer to "may this use these data for this purpose now?".

Every read path calls it — scoring (`scoring_categories`), token issuance and partner answers
(`consent_since`, `may_use`, `require`). Each call is one query on the partial unique index of
active consent records (resident, purpose) — the SQL function below reads the same index row —
so it is cheap enough to call on every request, and it reads the database of record: a
withdrawal is seen by the very next call, with no cache to invalidate. A consent past its
`expires_at` is treated as gone even before the expiry job has recorded the `expired` event.

What "valid now" means is written once, in SQL: `pc_consent_since(resident, purpose, now)`
(STABLE; the token functions call it too). Every check here reads it through `func.…`, and
`is_valid` asks it about a record a use case holds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Select,
    Text,
    Uuid,
    any_,
    bindparam,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from consent.models import ConsentRecord
from core.db import uuid_array
from core.errors import DomainError

SCORING = "scoring"


class ConsentRequired(DomainError):
    code = "consent_required"
    status = 403
    title = "Consent required"


def _in_force_and_valid(resident_id: Any, purpose: Any, now: Any
                        ) -> tuple[ColumnElement[bool], ...]:
    """The consent record in force for (resident, purpose), if it is valid `now`.

    Validity is the database's rule, `pc_consent_valid` (`pc_consent_since`, which token
    liveness reads, asks it too): this picks the one active record (the partial unique index
    allows no second) and keeps it only if that rule holds for it. The rule is a plain
    expression PostgreSQL inlines, so a chunk of residents is checked in one scan
    (`scoring_categories_many`). `resident_id` and `purpose` are values or columns."""
    return (ConsentRecord.resident_id == resident_id,
            ConsentRecord.purpose == purpose,
            ConsentRecord.status == "active",
            func.pc_consent_valid(ConsentRecord.status, ConsentRecord.expires_at, now,
                                  type_=Boolean()))


def valid_consent(resident_id: Any, purpose: Any, now: Any) -> Select[Any]:
    """The (categories, given_at) of the resident's consent to `purpose` valid `now`: no row
    when none is. `resident_id` may be a column of an enclosing statement (the score read,
    `scoring.read`, asks it in its own round trip)."""
    return (select(ConsentRecord.categories, ConsentRecord.given_at)
            .where(*_in_force_and_valid(resident_id, purpose, now))
            .limit(1))


# Built once: constructing the statement per call costs about as much as running it.
_VALID = valid_consent(bindparam("resident", type_=Uuid()), bindparam("purpose", type_=Text()),
                       bindparam("now", type_=DateTime(timezone=True)))


def _valid(session: Session, resident_id: uuid.UUID, purpose: str, now: datetime
           ) -> tuple[list[Any], datetime] | None:
    row = session.execute(_VALID, {"resident": resident_id, "purpose": purpose,
                                   "now": now}).first()
    return None if row is None else (row[0], row[1])


def scoring_categories(session: Session, resident_id: uuid.UUID, now: datetime
                       ) -> frozenset[str] | None:
    """Categories the resident's valid scoring consent covers; None if no valid scoring consent."""
    found = _valid(session, resident_id, SCORING, now)
    return None if found is None else frozenset(found[0])


def scoring_categories_many(session: Session, resident_ids: Collection[uuid.UUID],
                            now: datetime) -> dict[uuid.UUID, frozenset[str]]:
    """`scoring_categories` for many residents in one query (the batch path).

    Residents without a valid scoring consent are absent from the answer.
    """
    if not resident_ids:
        return {}
    # the ids as one parameter (`uuid_array`), the categories as JSON text, decoded once per
    # distinct list (residents share a few)
    rows = session.execute(
        select(ConsentRecord.resident_id, cast(ConsentRecord.categories, Text())).where(
            ConsentRecord.resident_id == any_(uuid_array(resident_ids)),
            # the same test as one resident's; its resident clause is trivially true here
            *_in_force_and_valid(ConsentRecord.resident_id, literal(SCORING, Text()),
                                 literal(now, DateTime(timezone=True))))
    )
    decoded: dict[str, frozenset[str]] = {}
    found: dict[uuid.UUID, frozenset[str]] = {}
    for resident_id, categories in rows:
        if categories not in decoded:
            decoded[categories] = frozenset(json.loads(categories))
        found[resident_id] = decoded[categories]
    return found


def consent_since(session: Session, resident_id: uuid.UUID, purpose: str, now: datetime
                  ) -> datetime | None:
    """When the currently valid consent for `purpose` was given; None if none is valid now.

    Tokens issued before this instant are dead (a withdraw + re-grant kills old tokens).
    """
    found = _valid(session, resident_id, purpose, now)
    return None if found is None else found[1]


def is_valid(session: Session, record: ConsentRecord, now: datetime) -> bool:
    """Whether `record` is the consent in force for its purpose and valid `now` (the same
    `pc_consent_since` rule as every other check here)."""
    return record.status == "active" and consent_since(
        session, record.resident_id, record.purpose, now) == record.given_at


def may_use(session: Session, resident_id: uuid.UUID, purpose: str, now: datetime,
            category: str | None = None) -> bool:
    """Whether a valid consent for `purpose` exists now (and covers `category`, if given)."""
    found = _valid(session, resident_id, purpose, now)
    return found is not None and (category is None or category in found[0])


def require(session: Session, resident_id: uuid.UUID, purpose: str, now: datetime,
            category: str | None = None) -> None:
    """Raise `ConsentRequired` unless `may_use` holds."""
    if may_use(session, resident_id, purpose, now, category):
        return
    what = f"{purpose} ({category})" if category else purpose
    raise ConsentRequired(
        f"the resident has not consented to {what}, or has withdrawn that consent",
        detail_zh="您尚未同意或已撤回此项授权，请先在授权中心同意",
        purpose=purpose, category=category,
    )
