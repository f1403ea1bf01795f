"""scoring notice version 2: the core always counts, a supplement can only help (issue 23)

Revision ID: 0028
Revises: 0027

Version 2 of the scoring notice (texts frozen in `consent.catalogue.scoring_notice_v2`): scoring
always includes the core records (public credit, judicial, tax, scenario performance); the
other categories are supplements chosen one by one that can only raise the score. Scenario
performance is core, so the notice no longer asks a separate acknowledgement for it (it comes
only from scenarios used under their own separate consent) — a change of scope: consents under
version 1 are invalidated and residents asked again. The migration ships the version;
`consent.notices.settle_shipped` (run by the bootstrap after every upgrade) invalidates the
consents it supersedes through the same use case as `publish`, with their events and audit
entries.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

PUBLISHED_AT = datetime(2026, 12, 6, tzinfo=UTC)


def _v2() -> dict:
    from consent.catalogue import scoring_notice_v2
    from consent.notices import build

    return build(version=2, published_at=PUBLISHED_AT, **scoring_notice_v2())


def upgrade() -> None:
    notices = sa.Table("consent_notices", sa.MetaData(), autoload_with=op.get_bind())
    op.execute(insert(notices).values(**_v2()).on_conflict_do_nothing())


def downgrade() -> None:
    bind = op.get_bind()
    notice_id = _v2()["id"]
    used = bind.execute(sa.text("SELECT EXISTS (SELECT 1 FROM consent_records "
                                "WHERE notice_id = :n)"), {"n": notice_id}).scalar()
    if used:
        raise RuntimeError("consents were given under scoring notice version 2; it stays")
    op.execute("ALTER TABLE consent_notices DISABLE TRIGGER consent_notices_insert_only")
    bind.execute(sa.text("DELETE FROM consent_notices WHERE id = :n"), {"n": notice_id})
    op.execute("ALTER TABLE consent_notices ENABLE TRIGGER consent_notices_insert_only")
