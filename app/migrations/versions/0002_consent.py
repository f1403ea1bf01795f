"""consent: notices, records, events (and the seeded notices, version 1)

Revision ID: 0002
Revises: 0001
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INSERT_ONLY = ("consent_notices", "consent_events")
SEEDED_AT = datetime(2026, 11, 1, tzinfo=UTC)


def insert_only(table: str) -> None:
    """Refuse UPDATE and DELETE on `table` in the database itself (as in 0001)."""
    op.execute(
        f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION pc_refuse_change()"
    )


def upgrade() -> None:
    notices = op.create_table(
        "consent_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("separate_consent_categories", sa.JSON(), nullable=False),
        sa.Column("requires_separate_consent", sa.Boolean(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("retention", sa.String(80), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("published_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_notices")),
        sa.UniqueConstraint("purpose", "version", name="uq_consent_notices_version"),
        sa.UniqueConstraint("hash", name=op.f("uq_consent_notices_hash")),
    )
    op.create_index(op.f("ix_consent_notices_purpose"), "consent_notices", ["purpose"])

    op.create_table(
        "consent_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("separate_consent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("given_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active','withdrawn','expired','invalidated')",
                           name=op.f("ck_consent_records_status")),
        sa.CheckConstraint("(status = 'active') = (ended_at IS NULL)",
                           name=op.f("ck_consent_records_ended_when_inactive")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_consent_records_resident_id_residents")),
        sa.ForeignKeyConstraint(["notice_id"], ["consent_notices.id"],
                                name=op.f("fk_consent_records_notice_id_consent_notices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index("uq_consent_records_active", "consent_records", ["resident_id", "purpose"],
                    unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_index("ix_consent_records_resident_given", "consent_records",
                    ["resident_id", "given_at"])
    op.create_index(op.f("ix_consent_records_notice_id"), "consent_records", ["notice_id"])

    op.create_table(
        "consent_events",
        sa.Column("seq", sa.BigInteger(),
                  autoincrement=True, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("event", sa.String(12), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("notice_hash", sa.String(64), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(120), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.CheckConstraint("event IN ('given','renewed','withdrawn','expired','invalidated')",
                           name=op.f("ck_consent_events_event")),
        sa.CheckConstraint("language IN ('zh','en')", name=op.f("ck_consent_events_language")),
        sa.ForeignKeyConstraint(["consent_id"], ["consent_records.id"],
                                name=op.f("fk_consent_events_consent_id_consent_records")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_consent_events_resident_id_residents")),
        sa.ForeignKeyConstraint(["notice_id"], ["consent_notices.id"],
                                name=op.f("fk_consent_events_notice_id_consent_notices")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consent_events")),
        sa.UniqueConstraint("id", name=op.f("uq_consent_events_id")),
    )
    op.create_index(op.f("ix_consent_events_consent_id"), "consent_events", ["consent_id"])
    op.create_index("ix_consent_events_resident_at", "consent_events", ["resident_id", "at"])

    for table in INSERT_ONLY:
        insert_only(table)

    # Version 1 of every notice. The texts are frozen in consent.catalogue; later changes are
    # new versions (consent.notices.publish), never edits.
    from consent.catalogue import seed_notices
    from consent.notices import build

    op.bulk_insert(notices, [build(version=1, published_at=SEEDED_AT, **fields)
                             for fields in seed_notices()])


def downgrade() -> None:
    for table in INSERT_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_insert_only ON {table}")
    op.drop_table("consent_events")
    op.drop_table("consent_records")
    op.drop_table("consent_notices")
