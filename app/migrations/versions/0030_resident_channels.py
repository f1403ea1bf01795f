"""resident channels: the messages that go out by SMS or WeChat, queued with their notices

Revision ID: 0030
Revises: 0029

Issue 25, item 4: `channel_messages` (events.channels), one row per notice that goes out, and
two row triggers. On `notifications`: a notice of a kind that goes out queues its message in
the notice's own transaction, whatever wrote it (`core.notifications.notify`, a `pc_*`
function). On `consent_events`: a consent that expired or was invalidated writes the resident's
renewal notice. The trigger functions only hand the row to `pc_channel_queue` and
`pc_consent_renewal` (events/sql/channels.sql), where the rules live.
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)

TRIGGERS = (
    ("notifications", "notifications_channels", "pc_channels_trigger",
     "PERFORM pc_channel_queue(to_jsonb(NEW))"),
    ("consent_events", "consent_events_renewal", "pc_renewal_trigger",
     "PERFORM pc_consent_renewal(to_jsonb(NEW))"),
)


def upgrade() -> None:
    op.create_table(
        "channel_messages",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("notification_id", sa.Uuid(),
                  sa.ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(20), nullable=True),
        sa.Column("channel", sa.String(10), nullable=True),
        sa.Column("recipient", sa.String(20), nullable=True),
        sa.Column("content", sa.String(500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.CheckConstraint("status IN ('queued', 'sent', 'not_sent', 'failed')",
                           name=op.f("ck_channel_messages_status")),
    )
    op.create_index("ix_channel_messages_due", "channel_messages", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'queued'"))
    op.create_index("ix_channel_messages_sent", "channel_messages", ["sent_at"],
                    postgresql_where=sa.text("status = 'sent'"))
    for table, trigger, function, body in TRIGGERS:
        op.execute(f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                   f"BEGIN\n    {body};\n    RETURN NULL;\nEND $$")
        op.execute(f"CREATE TRIGGER {trigger} AFTER INSERT ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    for table, trigger, function, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute(f"DROP FUNCTION {function}()")
    op.drop_table("channel_messages")
