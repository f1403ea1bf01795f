"""records: a resident's records under dispute found without reading the others

Revision ID: 0032
Revises: 0031

Issue 26, target 3: every score read lists the resident's records under an open dispute
(`rights.disputes.marks`, in the read's one statement: `scoring.read`). By resident alone the
lookup read every record of the resident to keep the few disputed ones; a partial index on
the disputed records (few, and each only until its dispute is decided) finds them at once.
"""

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_disputed", "records", ["resident_id"],
                    postgresql_where="status = 'disputed'")


def downgrade() -> None:
    op.drop_index("ix_records_disputed", table_name="records")
