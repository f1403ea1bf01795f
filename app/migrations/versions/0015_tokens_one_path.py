"""token consumption and introspection, one implementation (PostgreSQL functions)

Revision ID: 0015
Revises: 0014

Nothing to change in the database. Whether a token is live for its partner was decided twice:
by `pc_token_state` (migration 0010, called by `pc_consume_token` and `pc_introspect`) and by a
Python copy in `rewards/tokens.py` (`_live`: introspection on the former file-based embedded
default, and `tokens.consume` everywhere). The functions already decide every case the copy did, with the same answers:
the pseudonym names a resident at this partner, the scenario consent is valid now and was
given no later than `iat`, the `jti` was never consumed; the refusals `token_revoked` (reason
`subject` or `consent`) and `token_replayed`; the resident's access-log entry. So the copy is
gone and `rewards.tokens` calls the functions as they are; this revision only marks the point
from which they are the one implementation.
"""
from alembic import op  # noqa: F401

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # pc_consume_token and pc_introspect (0010) are used unchanged


def downgrade() -> None:
    pass
