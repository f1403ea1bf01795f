"""rights: disputes, credit repairs, human review requests, erasures

Revision ID: 0008
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import core.db

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

TIME = core.db.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("correction", sa.JSON(), nullable=True),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("overdue_flagged_at", TIME, nullable=True),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.CheckConstraint("status IN ('open','resolved')", name=op.f("ck_disputes_status")),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('upheld','corrected','removed')",
                           name=op.f("ck_disputes_outcome")),
        sa.CheckConstraint("(status = 'open') = (outcome IS NULL)",
                           name=op.f("ck_disputes_outcome_when_resolved")),
        _fk("disputes", "resident_id", "residents"),
        _fk("disputes", "record_id", "records"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    op.create_index("uq_disputes_open_record", "disputes", ["record_id"], unique=True,
                    postgresql_where=sa.text("status = 'open'"))
    op.create_index("ix_disputes_resident_opened", "disputes", ["resident_id", "opened_at"])
    op.create_index("ix_disputes_status_due", "disputes", ["status", "due_at"])

    op.create_table(
        "repairs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("pledge_hash", sa.String(length=64), nullable=False),
        sa.Column("statement", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.CheckConstraint("status IN ('pending','approved','rejected')",
                           name=op.f("ck_repairs_status")),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)",
                           name=op.f("ck_repairs_decided")),
        _fk("repairs", "resident_id", "residents"),
        _fk("repairs", "record_id", "records"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repairs")),
    )
    op.create_index("uq_repairs_pending_record", "repairs", ["record_id"], unique=True,
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_repairs_resident_requested", "repairs", ["resident_id", "requested_at"])

    op.create_table(
        "review_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=12), nullable=False),
        sa.Column("scenario", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.CheckConstraint("subject IN ('score','eligibility')",
                           name=op.f("ck_review_requests_subject")),
        sa.CheckConstraint("status IN ('open','decided')", name=op.f("ck_review_requests_status")),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('confirmed','changed')",
                           name=op.f("ck_review_requests_outcome")),
        sa.CheckConstraint("(status = 'open') = (outcome IS NULL)",
                           name=op.f("ck_review_requests_outcome_when_decided")),
        _fk("review_requests", "resident_id", "residents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
    )
    op.create_index("ix_review_requests_resident_requested", "review_requests",
                    ["resident_id", "requested_at"])
    op.create_index("ix_review_requests_status", "review_requests", ["status", "requested_at"])

    op.create_table(
        "erasures",
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("erased_at", TIME, nullable=False),
        sa.Column("statement", sa.JSON(), nullable=False),
        _fk("erasures", "resident_id", "residents"),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_erasures")),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_index("ix_review_requests_status", table_name="review_requests")
    op.drop_index("ix_review_requests_resident_requested", table_name="review_requests")
    op.drop_table("review_requests")
    op.drop_index("ix_repairs_resident_requested", table_name="repairs")
    op.drop_index("uq_repairs_pending_record", table_name="repairs")
    op.drop_table("repairs")
    op.drop_index("ix_disputes_status_due", table_name="disputes")
    op.drop_index("ix_disputes_resident_opened", table_name="disputes")
    op.drop_index("uq_disputes_open_record", table_name="disputes")
    op.drop_table("disputes")
