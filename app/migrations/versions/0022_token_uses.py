"""token uses: every token is single use; what makes a token unusable makes it inactive

Revision ID: 0022
Revises: 0021

Issue 19, items 6 and 7:

* `token_uses`: one row per `POST /partner/v1/tokens/consume` (the call that uses up a token of
  a scenario with no hold, waiver or redemption): the use's id (`use_id` in the answer), the
  partner and its `out_use_no` (unique per partner), the token's `jti` (unique: a token is used
  once), the resident and scenario, when. Written by `pc_use_token` (rewards/sql/tokens.sql).
* The token functions change their signatures, so the old ones are dropped here and
  `app.migrate` installs the new ones from the `.sql` files: `pc_token_state` and
  `pc_consume_token` take the scenario's exclusions (NULL: the caller decides eligibility
  itself), `pc_introspect` and `pc_redeem` the shipped catalogue's exclusions, which they
  always check. The token state also refuses an erased account and a withdrawn (or
  re-granted) consent to scoring.
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# The signatures before this revision (CREATE OR REPLACE cannot change a signature).
OLD_FUNCTIONS = (
    "pc_token_state(uuid, text, text, bigint, timestamptz)",
    "pc_consume_token(text, text, text, bigint, timestamptz, json, uuid, text, text, uuid,"
    " timestamptz)",
    "pc_introspect(text, text, text, bigint, json, uuid, text, text, text, uuid, timestamptz)",
    "pc_redeem(text, text, text, bigint, timestamptz, json, uuid, text, text, uuid, timestamptz,"
    " text, text, bigint, uuid, uuid, json)",
)


def upgrade() -> None:
    """Drop the old token functions' signatures; add `token_uses`."""
    for signature in OLD_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.create_table(
        "token_uses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("out_use_no", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("scenario", sa.String(length=40), nullable=False),
        sa.Column("used_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_token_uses_partner_id_partners")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_token_uses_resident_id_residents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_uses")),
        sa.UniqueConstraint("jti", name=op.f("uq_token_uses_jti")),
        sa.UniqueConstraint("partner_id", "out_use_no", name="uq_token_uses_partner_out_use_no"),
    )
    op.create_index(op.f("ix_token_uses_resident_id"), "token_uses", ["resident_id"])


def downgrade() -> None:
    """Drop `token_uses` (`app.migrate.downgrade` drops the functions before migrating down)."""
    op.drop_index(op.f("ix_token_uses_resident_id"), table_name="token_uses")
    op.drop_table("token_uses")
