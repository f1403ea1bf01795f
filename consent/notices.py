"""Notice versions: building, hashing, looking up, publishing, and invalidating old consents.

A notice is immutable. Publishing changed texts creates version n+1 of the purpose. If the
change is *material* — categories, recipients or requires-separate-consent differ (the purpose
is the notice's identity) — every consent still in force under an older version is invalidated
(DPV `invalidated`) and the resident is asked again (PIPL art. 14: a change of purpose, means
or categories needs new consent). A wording-only change keeps existing consents valid.

Operators publish through `/admin/v1/scenarios/{code}/notices` or `pengcheng notices publish`
(`rewards.scenarios.publish_notice` checks the scenario exists, then calls `publish`). Until a
scenario has a notice nobody can consent to it, and the catalogue says it is not yet available.
A version shipped by a migration (version 2 of the scoring notice, migration 0028) takes effect
on consents through `settle_shipped`, which the bootstrap runs after every upgrade.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from consent.catalogue import VALIDITY_DAYS
from consent.errors import NoticeInvalid, NoticeNotFound, NoticeSuperseded
from consent.models import ConsentRecord, Notice
from core.canonical import canonical
from core.db import UnitOfWork
from core.registry import CATEGORIES, CORE

# Stable ids for seeded notices, so a front end or a partner can refer to them across installs.
NOTICE_NAMESPACE = uuid.UUID("6b1f3c52-1d0e-4f5e-9a57-9d9a2e7c0c11")

PURPOSE = re.compile(r"scenario:[a-z][a-z0-9_]{1,40}")
HASHED_FIELDS = ("purpose", "version", "title_zh", "title_en", "text_zh", "text_en",
                 "categories", "separate_consent_categories", "requires_separate_consent",
                 "recipients", "retention", "validity_days")
INPUT_FIELDS = HASHED_FIELDS[2:]  # what a publisher gives; purpose and version are the service's
TEXT_LIMITS = {"title_zh": 200, "title_en": 200, "text_zh": 20000, "text_en": 20000,
               "retention": 80}
RECIPIENT_FIELDS = {"kind", "name_zh", "name_en"}
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
    """Validated column values for a notice version (ids of seeded versions are stable).

    Raises `NoticeInvalid` naming what is wrong (see `_checked`).
    """
    _check_purpose(purpose)
    checked = _checked(purpose, fields)
    values = {"purpose": purpose, "version": version, **checked}
    values["hash"] = notice_hash(values)
    values["id"] = uuid.uuid5(NOTICE_NAMESPACE, f"{purpose}:{version}")
    values["published_at"] = published_at
    return values


def _text(fields: dict[str, Any], name: str, limit: int) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise NoticeInvalid(f"{name} must be a non-empty text of at most {limit} characters",
                            detail_zh="告知书的标题、正文（中英文）和保存期限不能为空", field=name)
    return value


def _codes(fields: dict[str, Any], name: str) -> list[str]:
    value = fields.get(name)
    if value is None and name == "separate_consent_categories":
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise NoticeInvalid(f"{name} must be a list of category codes", field=name)
    return value


def _checked(purpose: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The notice's fields, checked: titles and texts in zh and en, categories from the
    registry (the separately consented ones among them; a scoring notice's include the core),
    recipients each with a kind and zh/en
    names, a retention, a validity of 1-3650 days or none. A scenario's notice names who
    receives and requires separate consent: a partner always learns something (PIPL art. 23)."""
    unknown = sorted(set(fields) - set(INPUT_FIELDS))
    if unknown:
        raise NoticeInvalid(f"unknown notice fields: {unknown}", detail_zh="告知书含有未知字段")
    out: dict[str, Any] = {name: _text(fields, name, TEXT_LIMITS[name]) for name in TEXT_LIMITS}
    categories = _codes(fields, "categories")
    separate = _codes(fields, "separate_consent_categories")
    misplaced = sorted((set(categories) - set(CATEGORIES)) | (set(separate) - set(categories)))
    if misplaced:
        raise NoticeInvalid(f"unknown or misplaced categories: {misplaced}",
                            detail_zh="数据类别不存在，或单独同意的类别不在告知书的类别之中",
                            invalid=misplaced)
    unnamed = sorted(CORE - set(categories)) if purpose == "scoring" else []
    if unnamed:
        raise NoticeInvalid(f"a scoring notice names the core categories, which scoring always "
                            f"includes; missing: {unnamed}",
                            detail_zh="评分告知书须列明核心记录类别（评分始终包含）",
                            invalid=unnamed)
    recipients = fields.get("recipients") or []
    if not isinstance(recipients, list) or not all(
            isinstance(r, dict) and set(r) == RECIPIENT_FIELDS
            and all(isinstance(v, str) and v.strip() and len(v) <= 200 for v in r.values())
            for r in recipients):
        raise NoticeInvalid("recipients must each name kind, name_zh and name_en",
                            detail_zh="每个接收方须写明类型及中英文名称", field="recipients")
    separate_required = fields.get("requires_separate_consent")
    if type(separate_required) is not bool:
        raise NoticeInvalid("requires_separate_consent must be true or false",
                            field="requires_separate_consent")
    if purpose != "scoring" and not (recipients and separate_required):
        raise NoticeInvalid(
            "a scenario's notice names its recipients and requires separate consent: the "
            "partner learns the resident's entitlement (PIPL art. 23)",
            detail_zh="场景告知书须列明接收方，并要求单独同意（《个人信息保护法》第二十三条）")
    validity = fields.get("validity_days")
    if validity is not None and (type(validity) is not int or not 1 <= validity <= 3650):
        raise NoticeInvalid("validity_days must be null or 1-3650", field="validity_days")
    out.update(categories=sorted(set(categories)),
               separate_consent_categories=sorted(set(separate)),
               requires_separate_consent=separate_required,
               recipients=[dict(r) for r in recipients], validity_days=validity)
    return out


def _check_purpose(purpose: str) -> None:
    if purpose != "scoring" and not PURPOSE.fullmatch(purpose):
        raise NoticeInvalid(f"a purpose is `scoring` or `scenario:<code>`, not {purpose!r}")


def current(session: Session, purpose: str) -> Notice | None:
    """The newest version of `purpose`'s notice (`CURRENT_NOTICES`)."""
    ref = current_ref(session, purpose)
    return None if ref is None else session.get(Notice, ref.id)


@dataclass(frozen=True)
class NoticeRef:
    """The current version of a purpose's notice, without its texts (cheap to read)."""

    id: uuid.UUID
    version: int
    hash: str
    published_at: datetime


# A purpose's current notice is its highest version: this statement is that rule, once. The
# (purpose, version) unique index answers it; `current_ref(s)`, `current`, `listing` and the
# token checks (`rewards.entitlements`, which joins it as a subquery) read it.
CURRENT_NOTICES = ("SELECT DISTINCT ON (c.purpose) c.purpose, c.id, c.version, c.hash,"
                   " c.published_at FROM consent_notices c ORDER BY c.purpose, c.version DESC")
_COLUMNS = (Notice.purpose, Notice.id, Notice.version, Notice.hash, Notice.published_at)
_REFS = text(CURRENT_NOTICES).columns(*_COLUMNS)
_REF = text(f"SELECT * FROM ({CURRENT_NOTICES}) n WHERE n.purpose = :purpose").columns(*_COLUMNS)


def current_refs(session: Session) -> dict[str, NoticeRef]:
    """The current version of every purpose's notice, by purpose (one query)."""
    return {row[0]: NoticeRef(*row[1:]) for row in session.execute(_REFS)}


def current_ref(session: Session, purpose: str) -> NoticeRef | None:
    """The current version of `purpose`'s notice; None if none was ever published."""
    row = session.execute(_REF, {"purpose": purpose}).first()
    return None if row is None else NoticeRef(*row[1:])


def listing(session: Session, *, purpose: str | None = None,
            all_versions: bool = False) -> list[Notice]:
    """Current notices (or every version), ordered by purpose then version."""
    stmt = select(Notice)
    if purpose:
        stmt = stmt.where(Notice.purpose == purpose)
    if not all_versions:
        stmt = stmt.where(Notice.id.in_([ref.id for ref in current_refs(session).values()]))
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
    """Publish the next version of `purpose`'s notice; invalidate consents if the scope changed.

    Validated whole (`build`); audited with the fields that changed, before and after (the
    whole document for a first version). Without `validity_days`, consents under it are asked
    again after `consent.catalogue.VALIDITY_DAYS`, as under the seeded notices. One commit.
    """
    from consent.services import invalidate_outdated

    fields.setdefault("validity_days", VALIDITY_DAYS)
    session = uow.session
    # Versions of one purpose are numbered in turn: a concurrent publisher waits here, and the
    # unique (purpose, version) key is the guarantee behind this.
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"notice:{purpose}"))))
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

    before = document(previous) if previous else {}
    after = document(notice)
    changed = sorted(k for k in INPUT_FIELDS
                     if not before or canonical(before[k]) != canonical(after[k]))
    audit.record(session, actor=actor, action="consent.notice_published", now=now,
                 subject=purpose, data={
                     "notice_id": str(notice.id), "version": notice.version,
                     "hash": notice.hash, "material": material, "invalidated": count,
                     "previous_notice_id": str(previous.id) if previous else None,
                     "previous_hash": previous.hash if previous else None,
                     "changed": changed, "before": {k: before[k] for k in changed if before},
                     "after": {k: after[k] for k in changed}})
    uow.commit()
    return Published(notice, material, count)


def settle_shipped(uow: UnitOfWork, *, now: datetime) -> int:
    """Invalidate the consents that a notice version shipped by a migration supersedes with a
    material change — what `publish` does at once for a version an operator publishes. Safe to
    repeat (it finds nothing the second time); returns how many it invalidated. One commit."""
    from consent.services import invalidate_outdated

    session = uow.session
    count = 0
    for purpose, ref in current_refs(session).items():
        outdated = session.scalar(select(func.count()).select_from(ConsentRecord).where(
            ConsentRecord.purpose == purpose, ConsentRecord.status == "active",
            ConsentRecord.notice_id != ref.id))
        previous = session.scalars(select(Notice).where(
            Notice.purpose == purpose, Notice.version == ref.version - 1)).first()
        if outdated and previous is not None and is_material(previous, get(session, ref.id)):
            count += invalidate_outdated(session, get(session, ref.id), now=now, actor="system")
    uow.commit()
    return count


def active_count(session: Session, notice: Notice) -> int:
    return session.scalar(select(func.count()).select_from(ConsentRecord).where(
        ConsentRecord.notice_id == notice.id, ConsentRecord.status == "active")) or 0
