"""先诊后付 credit accounts, holds, bills, payments; deposit waivers and their slots

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    t = core.db.UTCDateTime(timezone=True)
    op.create_table(
        "credit_accounts",
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("line_fen", sa.BigInteger(), nullable=False),
        sa.Column("held_fen", sa.BigInteger(), nullable=False),
        sa.Column("owed_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", t, nullable=False),
        sa.Column("updated_at", t, nullable=False),
        sa.CheckConstraint("line_fen >= 0 AND held_fen >= 0 AND owed_fen >= 0",
                           name=op.f("ck_credit_accounts_non_negative")),
        sa.CheckConstraint("held_fen + owed_fen <= line_fen",
                           name=op.f("ck_credit_accounts_within_line")),
        _fk("credit_accounts", "resident_id", "residents"),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_credit_accounts")),
    )
    op.create_table(
        "credit_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("out_request_no", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("line_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", t, nullable=False),
        sa.Column("expires_at", t, nullable=False),
        sa.Column("closed_at", t, nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_credit_holds_amount_positive")),
        sa.CheckConstraint("status IN ('held', 'captured', 'voided', 'expired')",
                           name=op.f("ck_credit_holds_status")),
        sa.CheckConstraint("(status = 'held') = (closed_at IS NULL)",
                           name=op.f("ck_credit_holds_closed_when_not_held")),
        _fk("credit_holds", "partner_id", "partners"),
        _fk("credit_holds", "resident_id", "residents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_holds")),
        sa.UniqueConstraint("partner_id", "out_request_no",
                            name=op.f("uq_credit_holds_partner_id")),
    )
    op.create_index("ix_credit_holds_status_expires", "credit_holds", ["status", "expires_at"])
    op.create_index(op.f("ix_credit_holds_resident_id"), "credit_holds", ["resident_id"])
    op.create_table(
        "credit_bills",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hold_id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("out_bill_no", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", t, nullable=False),
        sa.Column("due_at", t, nullable=False),
        sa.Column("reminded_at", t, nullable=True),
        sa.Column("overdue_at", t, nullable=True),
        sa.Column("paid_at", t, nullable=True),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_credit_bills_amount_positive")),
        sa.CheckConstraint("paid_fen >= 0 AND paid_fen <= amount_fen",
                           name=op.f("ck_credit_bills_paid_within_amount")),
        sa.CheckConstraint("status IN ('open', 'overdue', 'paid')",
                           name=op.f("ck_credit_bills_status")),
        sa.CheckConstraint("(status = 'paid') = (paid_fen = amount_fen)",
                           name=op.f("ck_credit_bills_paid_when_settled")),
        _fk("credit_bills", "hold_id", "credit_holds"),
        _fk("credit_bills", "partner_id", "partners"),
        _fk("credit_bills", "resident_id", "residents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_bills")),
        sa.UniqueConstraint("hold_id", name=op.f("uq_credit_bills_hold_id")),
        sa.UniqueConstraint("partner_id", "out_bill_no",
                            name=op.f("uq_credit_bills_partner_id")),
    )
    op.create_index("ix_credit_bills_status_due", "credit_bills", ["status", "due_at"])
    op.create_index(op.f("ix_credit_bills_resident_id"), "credit_bills", ["resident_id"])
    op.create_table(
        "credit_payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bill_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("out_payment_no", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", t, nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_credit_payments_amount_positive")),
        sa.CheckConstraint("channel IN ('partner', 'demo')",
                           name=op.f("ck_credit_payments_channel")),
        _fk("credit_payments", "bill_id", "credit_bills"),
        _fk("credit_payments", "partner_id", "partners"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_payments")),
        sa.UniqueConstraint("partner_id", "out_payment_no",
                            name=op.f("uq_credit_payments_partner_id")),
    )
    op.create_index(op.f("ix_credit_payments_bill_id"), "credit_payments", ["bill_id"])
    op.create_table(
        "deposit_waivers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("scenario", sa.String(length=40), nullable=False),
        sa.Column("out_order_no", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("deposit_fen", sa.BigInteger(), nullable=False),
        sa.Column("cap_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", t, nullable=False),
        sa.Column("due_at", t, nullable=False),
        sa.Column("completed_at", t, nullable=True),
        sa.Column("defaulted_at", t, nullable=True),
        sa.Column("settled_at", t, nullable=True),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("deposit_fen > 0 AND deposit_fen <= cap_fen",
                           name=op.f("ck_deposit_waivers_deposit_within_cap")),
        sa.CheckConstraint("status IN ('active', 'completed', 'defaulted', 'settled')",
                           name=op.f("ck_deposit_waivers_status")),
        sa.CheckConstraint("due_at > created_at",
                           name=op.f("ck_deposit_waivers_due_after_created")),
        _fk("deposit_waivers", "partner_id", "partners"),
        _fk("deposit_waivers", "resident_id", "residents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_waivers")),
        sa.UniqueConstraint("partner_id", "out_order_no",
                            name=op.f("uq_deposit_waivers_partner_id")),
    )
    op.create_index("ix_deposit_waivers_status_defaulted", "deposit_waivers",
                    ["status", "defaulted_at"])
    op.create_index(op.f("ix_deposit_waivers_resident_id"), "deposit_waivers", ["resident_id"])
    op.create_table(
        "deposit_waiver_slots",
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("scenario", sa.String(length=40), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("updated_at", t, nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_deposit_waiver_slots_used_non_negative")),
        _fk("deposit_waiver_slots", "resident_id", "residents"),
        sa.PrimaryKeyConstraint("resident_id", "scenario", name=op.f("pk_deposit_waiver_slots")),
    )


def downgrade() -> None:
    op.drop_table("deposit_waiver_slots")
    op.drop_index(op.f("ix_deposit_waivers_resident_id"), table_name="deposit_waivers")
    op.drop_index("ix_deposit_waivers_status_defaulted", table_name="deposit_waivers")
    op.drop_table("deposit_waivers")
    op.drop_index(op.f("ix_credit_payments_bill_id"), table_name="credit_payments")
    op.drop_table("credit_payments")
    op.drop_index(op.f("ix_credit_bills_resident_id"), table_name="credit_bills")
    op.drop_index("ix_credit_bills_status_due", table_name="credit_bills")
    op.drop_table("credit_bills")
    op.drop_index(op.f("ix_credit_holds_resident_id"), table_name="credit_holds")
    op.drop_index("ix_credit_holds_status_expires", table_name="credit_holds")
    op.drop_table("credit_holds")
    op.drop_table("credit_accounts")
