"""Notice versions: building, hashing, looking up, publishing, and invalidating old consents.

A notice is immutable. Publishing changed texts creates version n+1 of the purpose. If the
change is *material* — categories, recipients or requires-separate-consent differ (the purpose
is the notice's identity) — every consent still in force under an older version is invalidated
(DPV `invalidated`) and the resident is asked again (PIPL art. 14: a change of purpose, means
or categories needs new consent). A wording-only change keeps existing consents valid.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent.errors import NoticeNotFound, NoticeSuperseded
from consent.models import ConsentRecord, Notice
from core.canonical import canonical
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.registry import CATEGORIES

# Stable ids for seeded notices, so a front end or a partner can refer to them across installs.
NOTICE_NAMESPACE = uuid.UUID("6b1f3c52-1d0e-4f5e-9a57-9d9a2e7c0c11")

PURPOSE = re.compile(r"scenario:[a-z][a-z0-9_]{1,40}")
HASHED_FIELDS = ("purpose", "version", "title_zh", "title_en", "text_zh", "text_en",
                 "categories", "separate_consent_categories", "requires_separate_consent",
                 "recipients", "retention", "validity_days")
MATERIAL_FIELDS = ("categories", "recipients", "requires_separate_consent",
                   "separate_consent_categories")


def document(fields: dict[str, Any] | Notice) -> dict[str, Any]:
    """The canonical content of a notice: what its hash covers."""
    get = fields.get if isinstance(fields, dict) else (lambda k: getattr(fields, k))
    return {k: get(k) for k in HASHED_FIELDS}


def notice_hash(fields: dict[str, Any] | Notice) -> str:
    """SHA-256 (hex) of the notice's canonical JSON document — anyone can recompute it."""
    return hashlib.sha256(canonical(document(fields))).hexdigest()


def text_hash(text: str) -> str:
    """SHA-256 (hex) of one language's text, UTF-8."""
    return hashlib.sha256(text.encode()).hexdigest()


def build(*, purpose: str, version: int, published_at: datetime, **fields: Any) -> dict[str, Any]:
    """Validated column values for a notice version (ids of seeded versions are stable)."""
    _check_purpose(purpose)
    categories = sorted(set(fields["categories"]))
    unknown = sorted(set(categories) - set(CATEGORIES))
    separate = sorted(set(fields.get("separate_consent_categories") or []))
    if unknown or not set(separate) <= set(categories):
        raise InvalidInput(f"unknown or misplaced categories: {unknown or separate}")
    values = {
        "purpose": purpose, "version": version,
        "title_zh": fields["title_zh"], "title_en": fields["title_en"],
        "text_zh": fields["text_zh"], "text_en": fields["text_en"],
        "categories": categories, "separate_consent_categories": separate,
        "requires_separate_consent": bool(fields["requires_separate_consent"]),
        "recipients": list(fields.get("recipients") or []),
        "retention": fields["retention"], "validity_days": fields.get("validity_days"),
    }
    values["hash"] = notice_hash(values)
    values["id"] = uuid.uuid5(NOTICE_NAMESPACE, f"{purpose}:{version}")
    values["published_at"] = published_at
    return values


def _check_purpose(purpose: str) -> None:
    if purpose != "scoring" and not PURPOSE.fullmatch(purpose):
        raise InvalidInput(f"a purpose is `scoring` or `scenario:<code>`, not {purpose!r}")


def current(session: Session, purpose: str) -> Notice | None:
    """The newest version of `purpose`'s notice."""
    return session.scalars(
        select(Notice).where(Notice.purpose == purpose).order_by(Notice.version.desc()).limit(1)
    ).first()


def listing(session: Session, *, purpose: str | None = None,
            all_versions: bool = False) -> list[Notice]:
    """Current notices (or every version), ordered by purpose then version."""
    stmt = select(Notice)
    if purpose:
        stmt = stmt.where(Notice.purpose == purpose)
    if not all_versions:
        latest = (select(Notice.purpose, func.max(Notice.version).label("v"))
                  .group_by(Notice.purpose).subquery())
        stmt = stmt.join(latest, (Notice.purpose == latest.c.purpose)
                         & (Notice.version == latest.c.v))
    rows = list(session.scalars(stmt))
    rows.sort(key=lambda n: (n.purpose != "scoring", n.purpose, n.version))
    return rows


def get(session: Session, notice_id: uuid.UUID) -> Notice:
    found = session.get(Notice, notice_id)
    if found is None:
        raise NoticeNotFound(f"no notice {notice_id}", detail_zh="告知书不存在")
    return found


def grantable(session: Session, notice_id: uuid.UUID) -> Notice:
    """The notice if it is the current version of its purpose; refuse superseded ones."""
    notice = get(session, notice_id)
    newest = current(session, notice.purpose)
    if newest is not None and newest.id != notice.id:
        raise NoticeSuperseded(
            f"notice version {notice.version} of {notice.purpose} is superseded by version "
            f"{newest.version}; show and grant that one",
            detail_zh="该告知书已更新，请阅读最新版本后再同意", current_notice_id=str(newest.id))
    return notice


def expiry(notice: Notice, given_at: datetime) -> datetime | None:
    return given_at + timedelta(days=notice.validity_days) if notice.validity_days else None


def is_material(old: Notice | dict[str, Any], new: Notice | dict[str, Any]) -> bool:
    """Whether consents under `old` stop being valid under `new` (scope changed)."""
    a, b = document(old), document(new)
    return any(canonical(a[k]) != canonical(b[k]) for k in MATERIAL_FIELDS)


@dataclass(frozen=True)
class Published:
    notice: Notice
    material: bool
    invalidated: int


def publish(uow: UnitOfWork, *, purpose: str, now: datetime, actor: str,
            **fields: Any) -> Published:
    """Publish the next version of `purpose`'s notice; invalidate consents if the scope changed."""
    from consent.services import invalidate_outdated

    session = uow.session
    previous = current(session, purpose)
    values = build(purpose=purpose, version=(previous.version + 1) if previous else 1,
                   published_at=now, **fields)
    values["id"] = uuid.uuid4()
    notice = Notice(**values)
    session.add(notice)
    session.flush()
    material = previous is not None and is_material(previous, notice)
    count = invalidate_outdated(session, notice, now=now, actor=actor) if material else 0
    from core import audit

    audit.record(session, actor=actor, action="consent.notice_published", now=now,
                 subject=purpose, data={"notice_id": str(notice.id), "version": notice.version,
                                        "hash": notice.hash, "material": material,
                                        "invalidated": count})
    uow.commit()
    return Published(notice, material, count)


def active_count(session: Session, notice: Notice) -> int:
    return session.scalar(select(func.count()).select_from(ConsentRecord).where(
        ConsentRecord.notice_id == notice.id, ConsentRecord.status == "active")) or 0
