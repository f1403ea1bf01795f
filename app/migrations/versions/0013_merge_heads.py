"""merge the branches: rights, reports, the points and credit hot-path functions

Revision ID: 0013
Revises: 0008, 0009, 0011, 0012
"""


revision = "0013"
down_revision = ("0008", "0009", "0011", "0012")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: one head again, so `alembic upgrade head` works as well as `heads`."""


def downgrade() -> None:
    """Nothing to undo."""
