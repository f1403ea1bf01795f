"""settlement: a partner's holds, bills and waivers in creation order

Revision ID: 0029
Revises: 0028

Issue 25, item 5: hospitals and deposit partners list their holds, bills and waivers oldest
first a page at a time, and a daily statement sums their movements before and within a day.
Each table gets an index on (partner_id, created_at, id): the page order and its cursor.
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

TABLES = ("credit_holds", "credit_bills", "deposit_waivers")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_partner_created", table,
                        ["partner_id", "created_at", "id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_partner_created", table_name=table)
