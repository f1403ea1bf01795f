"""Reviews take effect: a decided review request names its effect; eligibility overrides.

A decided human review names what it changed (`review_requests.effect`, required exactly when
decided); requests decided before effects were recorded get `{"kind": "confirmed"}` or
`{"kind": "unrecorded"}`. An eligibility override (the effect of a review that found a scenario
decision wrong) is a row of `eligibility_overrides`, deleted with its review.

(Disputes, issue 19 item 2, need no schema change: a disputed record counts until its open
dispute's `due_at`.)

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TIME = core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Add the review effect (backfilled) and the overrides table."""
    op.add_column("review_requests", sa.Column("effect", sa.JSON(), nullable=True))
    op.execute("""UPDATE review_requests
                     SET effect = CASE outcome WHEN 'confirmed' THEN '{"kind": "confirmed"}'
                                               ELSE '{"kind": "unrecorded"}' END::json
                   WHERE status = 'decided'""")
    op.create_check_constraint("effect_when_decided", "review_requests",
                               "(status = 'open') = (effect IS NULL)")
    op.create_table(
        "eligibility_overrides",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("scenario", sa.String(length=40), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("granted_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.Column("granted_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint("ends_at > granted_at",
                           name=op.f("ck_eligibility_overrides_ends_after_granted")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_eligibility_overrides_resident_id_residents")),
        sa.ForeignKeyConstraint(["review_id"], ["review_requests.id"], ondelete="CASCADE",
                                name=op.f("fk_eligibility_overrides_review_id_review_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_overrides")),
        sa.UniqueConstraint("review_id", name=op.f("uq_eligibility_overrides_review_id")),
    )
    op.create_index("ix_eligibility_overrides_resident", "eligibility_overrides",
                    ["resident_id", "scenario", "ends_at"])


def downgrade() -> None:
    """Drop the overrides and the review effect."""
    op.drop_index("ix_eligibility_overrides_resident", table_name="eligibility_overrides")
    op.drop_table("eligibility_overrides")
    op.drop_constraint("effect_when_decided", "review_requests", type_="check")
    op.drop_column("review_requests", "effect")
