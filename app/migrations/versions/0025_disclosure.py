"""decision-only disclosure: issued tokens with short codes, counter staff

Revision ID: 0025
Revises: 0024

Issue 20, items 1, 3 and 4: `issued_tokens` keeps each token's short one-time code and the
resident's limits at issue (enforced at use, never disclosed); `partner_staff` and
`staff_sessions` are a partner's counter staff and their sign-ins; holds and bills record the
staff member who placed, voided or captured them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)

# The signatures before this revision (CREATE OR REPLACE cannot change a signature): the line
# came from Python (`p_line`); now from the token's row, and the staff member is named.
OLD_FUNCTIONS = (
    "pc_credit_authorize(text, text, text, bigint, timestamptz, json, uuid, text, text, uuid,"
    " timestamptz, text, text, bigint, bigint, json, uuid, timestamptz, text, text, uuid)",
    "pc_credit_capture(uuid, text, text, uuid, bigint, uuid, timestamptz, timestamptz, text,"
    " text, uuid, text, text, text, text, text, text, json)",
)

# An operator's scenario stored with the old `discloses` (a list of names, limits among them)
# keeps only the fixed fields of the allow-list.
DISCLOSES = """
UPDATE scenario_settings SET spec = (spec::jsonb || jsonb_build_object('discloses',
    jsonb_build_object('eligible', true)
    || (SELECT coalesce(jsonb_object_agg(name, true), '{}'::jsonb)
          FROM json_array_elements_text(spec -> 'discloses') AS name
         WHERE name IN ('commitment', 'priority'))))::json
 WHERE json_typeof(spec -> 'discloses') = 'array'
"""


def upgrade() -> None:
    for signature in OLD_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute(DISCLOSES)
    op.create_table(
        "issued_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(18), nullable=False, unique=True),
        sa.Column("partner_id", sa.Uuid(), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("resident_id", sa.Uuid(), sa.ForeignKey("residents.id"), nullable=False),
        sa.Column("scenario", sa.String(40), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("issued_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
    )
    op.create_index("ix_issued_tokens_resident_id", "issued_tokens", ["resident_id"])
    op.create_index("ix_issued_tokens_expires_at", "issued_tokens", ["expires_at"])
    op.create_table(
        "partner_staff",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("partner_id", sa.Uuid(), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("removed_at", UTC, nullable=True),
        sa.UniqueConstraint("partner_id", "username", name="uq_partner_staff_partner_username"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.Uuid(), sa.ForeignKey("partner_staff.id"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    for table, columns in {"credit_holds": ("staff_id", "voided_by"),
                           "credit_bills": ("staff_id",)}.items():
        for column in columns:
            op.add_column(table, sa.Column(column, sa.Uuid(),
                                           sa.ForeignKey("partner_staff.id"), nullable=True))


def downgrade() -> None:
    for table, columns in {"credit_holds": ("staff_id", "voided_by"),
                           "credit_bills": ("staff_id",)}.items():
        for column in columns:
            op.drop_column(table, column)
    op.drop_table("staff_sessions")
    op.drop_table("partner_staff")
    op.drop_table("issued_tokens")
