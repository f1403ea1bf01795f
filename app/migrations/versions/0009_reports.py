"""reports: signed credit reports and no-violation certificates; 'public' access-log actors

Revision ID: 0009
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0009"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_KINDS = "actor_kind IN ('partner','operator','system')"
NEW_KINDS = "actor_kind IN ('partner','operator','system','public')"


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("kid", sa.String(length=40), nullable=False),
        sa.Column("document_ct", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_ct", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("issued_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("purged_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('credit_report','no_violation')",
                           name=op.f("ck_reports_kind")),
        sa.CheckConstraint("expires_at > issued_at", name=op.f("ck_reports_expires_after_issue")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_reports_resident_id_residents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_reports_code_hash")),
        sa.UniqueConstraint("pdf_sha256", name=op.f("uq_reports_pdf_sha256")),
    )
    op.create_index("ix_reports_resident_issued", "reports", ["resident_id", "issued_at"])
    with op.batch_alter_table("access_log") as batch:
        batch.drop_constraint(op.f("ck_access_log_actor_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_access_log_actor_kind"), NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM access_log WHERE actor_kind = 'public'")
    with op.batch_alter_table("access_log") as batch:
        batch.drop_constraint(op.f("ck_access_log_actor_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_access_log_actor_kind"), OLD_KINDS)
    op.drop_index("ix_reports_resident_issued", table_name="reports")
    op.drop_table("reports")
