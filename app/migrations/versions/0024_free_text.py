"""free text is personal data: reasons, evidence, statements and notes encrypted

Revision ID: 0024
Revises: 0023

Issue 20, item 6: dispute reasons and evidence, repair statements, review-request reasons and
operator notes are encrypted under the resident's data key (rights.models.FreeText), so
erasure's crypto-shredding covers them. Each gets a `<column>_ct` bytea column; the plain
column stays (nullable) only for rows written before this revision, until
`rights.models.seal_plain_free_text` moves them to ciphertext (the migration has no keys).
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

FREE_TEXT = {"disputes": ("reason", "evidence", "note"), "repairs": ("statement", "note"),
             "review_requests": ("reason", "note")}
REQUIRED = (("disputes", "reason"), ("review_requests", "reason"))


def upgrade() -> None:
    for table, columns in FREE_TEXT.items():
        for column in columns:
            op.add_column(table, sa.Column(f"{column}_ct", sa.LargeBinary(), nullable=True))
    for table, column in REQUIRED:
        op.alter_column(table, column, nullable=True)


def downgrade() -> None:
    # Rows written since hold their text only encrypted: a downgrade cannot decrypt them.
    for table, column in REQUIRED:
        op.execute(f"UPDATE {table} SET {column} = '' WHERE {column} IS NULL")
        op.alter_column(table, column, nullable=False)
    for table, columns in FREE_TEXT.items():
        for column in columns:
            op.drop_column(table, f"{column}_ct")
