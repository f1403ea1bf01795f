"""Erasure retention: an erased account may keep the blind index of its ID number.

An erased account that retains public negative records, unpaid bills or open waivers keeps its
`id_index` so that the person signing in again is re-attached to them (`rights.erasure`). The
database states the two account states and indexes the erased accounts for the
`erasure.retention` job.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Check the account states; index the erased accounts."""
    op.create_check_constraint("status", "residents", "status IN ('active','erased')")
    op.create_check_constraint("active_indexed", "residents",
                               "status = 'erased' OR id_index NOT LIKE 'erased:%'")
    op.create_index("ix_residents_erased", "residents", ["id"],
                    postgresql_where=sa.text("status = 'erased'"))


def downgrade() -> None:
    """Drop them (an erased account keeping its blind index stays as it is)."""
    op.drop_index("ix_residents_erased", table_name="residents")
    op.drop_constraint("active_indexed", "residents", type_="check")
    op.drop_constraint("status", "residents", type_="check")
