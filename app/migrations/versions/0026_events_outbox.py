"""events out: the outbox, partner webhooks, the procrastinate task queue

Revision ID: 0026
Revises: 0025

Issue 25, items 1-3: `events` (the transactional outbox), `webhook_endpoints`,
`webhook_deliveries` and `webhook_attempts` (events.models); procrastinate's schema (the task
queue, pinned to procrastinate 3.10: a later procrastinate brings its own migration files,
applied by a migration of ours); and the row triggers that write events from the state tables.
The trigger function only hands the row to `pc_outbox_row` (events/sql/outbox.sql), where the
rules of which change is which event live, so they change without a migration.
"""

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects.postgresql import JSONB

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)

# The state tables whose changes partners hear about.
WATCHED = ("credit_holds", "credit_bills", "deposit_waivers", "points_redemptions",
           "points_refunds", "consent_records")

TRIGGER_FUNCTION = """
CREATE FUNCTION pc_outbox_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pc_outbox_row(TG_TABLE_NAME::text,
                          CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END, to_jsonb(NEW));
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("partner_id", sa.Uuid(), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("resident_id", sa.Uuid(), sa.ForeignKey("residents.id"), nullable=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("resource", sa.String(80), nullable=False),
        sa.Column("data", JSONB(), nullable=False),
        sa.Column("occurred_at", UTC, nullable=False),
    )
    op.create_index("ix_events_partner_seq", "events", ["partner_id", "seq"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("partner_id", sa.Uuid(), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event_types", JSONB(), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("secret_ct", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("failing_since", UTC, nullable=True),
        sa.Column("disabled_at", UTC, nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('active', 'disabled')",
                           name=op.f("ck_webhook_endpoints_status")),
    )
    op.create_index("ix_webhook_endpoints_partner", "webhook_endpoints", ["partner_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), sa.ForeignKey("webhook_endpoints.id"),
                  nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.Column("last_attempt_at", UTC, nullable=True),
        sa.UniqueConstraint("event_id", "endpoint_id",
                            name=op.f("uq_webhook_deliveries_event_id")),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')",
                           name=op.f("ck_webhook_deliveries_status")),
    )
    op.create_index("ix_webhook_deliveries_endpoint_created", "webhook_deliveries",
                    ["endpoint_id", "created_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("delivery_id", sa.Uuid(), sa.ForeignKey("webhook_deliveries.id"),
                  nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])
    plain = op.get_bind().execution_options(no_parameters=True)
    plain.exec_driver_sql(SchemaManager.get_schema())
    plain.exec_driver_sql(TRIGGER_FUNCTION)
    for table in WATCHED:
        op.execute(f"CREATE TRIGGER {table}_outbox AFTER INSERT OR UPDATE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION pc_outbox_trigger()")


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER {table}_outbox ON {table}")
    op.execute("DROP FUNCTION pc_outbox_trigger()")
    for table in ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
                  "procrastinate_workers"):
        op.execute(f"DROP TABLE {table} CASCADE")
    functions = op.get_bind().execution_options(no_parameters=True).exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'").scalars()
    for signature in list(functions):
        op.execute(f"DROP FUNCTION {signature}")
    for name in ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type",
                 "procrastinate_job_status"):
        op.execute(f"DROP TYPE {name}")
    for table in ("webhook_attempts", "webhook_deliveries", "webhook_endpoints", "events"):
        op.drop_table(table)
