"""No schema change: issue 19 (item 4) verifies scores by derivation, without a seal column.

A stored score counts only as what its stored inputs compute to (scoring/integrity.py: the read
path derives score and tier, `pengcheng score --verify` recomputes everything and checks current
rows against the records); no keyed MAC is stored. docs/security.md, "Verifying scores", says
why. The revision stays so that the numbering of the later migrations holds.

Revision ID: 0021
Revises: 0020
"""

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing: no column is added."""


def downgrade() -> None:
    """Nothing: no column was added."""
