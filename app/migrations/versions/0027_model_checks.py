"""model checks: stored score baselines (PSI) and each model's latest validation summary

Revision ID: 0027
Revises: 0026

Issue 23, items 4 and 5: `score_baselines` keeps the score distribution a PSI is measured
against (the first run of `pengcheng model validate --report` or `model monitor` stores it, per
scope); `model_validations` keeps the summary of a model's latest validation report, which the
public model card (`GET /api/v1/model`) shows.
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "score_baselines",
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("model_id", sa.String(64), sa.ForeignKey("score_models.id"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("shares", sa.JSON(), nullable=False),
    )
    op.create_table(
        "model_validations",
        sa.Column("model_id", sa.String(64), sa.ForeignKey("score_models.id"),
                  primary_key=True),
        sa.Column("validated_at", UTC, nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_validations")
    op.drop_table("score_baselines")
