"""scores.valid_until: a stored score stops being current when time alone may change it

Revision ID: 0014
Revises: 0013

Records stop counting when their publicity ends or they leave a feature's window, and "months
since" features step each month; before this column a stored score stayed current through all
of that. Scores stored before it get `valid_until = computed_at`, so each resident's next read
(or the next batch run) recomputes once and stores the real instant.
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("valid_until", core.db.UTCDateTime(timezone=True),
                                   nullable=True))
    op.execute("UPDATE scores SET valid_until = computed_at")


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("valid_until")
