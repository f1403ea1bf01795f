"""scores: the explanation is rendered from the stored inputs; a row need not store it

Revision ID: 0031
Revises: 0030

Issue 26, target 4: a city-wide rescore wrote ~4 KB of explanation JSON per resident next to the
inputs it is computed from bit for bit (`pengcheng score --verify` proves it). The batch now
stores the inputs only (``explanation`` NULL) and the read path renders the explanation from
them (`scoring.services`); rows that store one keep it and are checked against it as before.
Downgrade renders the missing explanations (zh, the stored language) and restores NOT NULL.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("scores", "explanation", existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    from scoring.explain import recompute
    from scoring.spec import parse_model

    conn = op.get_bind()
    models = {row.id: parse_model(row.spec) for row in conn.execute(
        sa.text("SELECT id, spec FROM score_models"))}
    rows = conn.execute(sa.text(
        "SELECT id, model_id, inputs FROM scores WHERE explanation IS NULL")).all()
    for row in rows:
        conn.execute(sa.text("UPDATE scores SET explanation = CAST(:e AS json) WHERE id = :id"),
                     {"id": row.id, "e": json.dumps(recompute(models[row.model_id], row.inputs),
                                                    ensure_ascii=False, separators=(",", ":"))})
    op.alter_column("scores", "explanation", existing_type=sa.JSON(), nullable=False)
