"""records: a resident's 失信被执行人 records found without reading the others

Revision ID: 0033
Revises: 0032

Issue 26: every token issue, introspection and partner write asks `pc_exclusions` whether the
resident has a 失信被执行人 record in force (rewards/sql/exclusions.sql). By resident alone
that lookup read every record of the resident (150 in the load bench; some residents hold
thousands) to keep the rare judicial ones; a partial index on those records finds them at
once, whatever else the resident holds.

Building it reads the whole table and holds off writes to `records` (ingest) meanwhile. On a
large deployment build it first without holding them off, under the same name, and this
migration then finds it and does nothing (docs/operations.md, "Migrations"):

    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_records_dishonest_debtor ON records (resident_id)
        WHERE category = 'judicial' AND type = 'dishonest_debtor';
"""

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_dishonest_debtor", "records", ["resident_id"],
                    postgresql_where="category = 'judicial' AND type = 'dishonest_debtor'",
                    if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_records_dishonest_debtor", table_name="records")
