"""scoring: models (one active) and score history

Revision ID: 0003
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

import core.db

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_models",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("validated_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("activated_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft','validated','active','retired')",
                           name=op.f("ck_score_models_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_models")),
    )
    op.create_index("uq_score_models_one_active", "score_models", ["status"], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_table(
        "scores",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("computed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("basis_version", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("inputs_hash", sa.String(64), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 1000", name=op.f("ck_scores_range")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_scores_resident_id_residents")),
        sa.ForeignKeyConstraint(["model_id"], ["score_models.id"],
                                name=op.f("fk_scores_model_id_score_models")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
    )
    op.create_index("ix_scores_resident_computed", "scores", ["resident_id", "computed_at"])


def downgrade() -> None:
    op.drop_index("ix_scores_resident_computed", table_name="scores")
    op.drop_table("scores")
    op.drop_index("uq_score_models_one_active", table_name="score_models")
    op.drop_table("score_models")
