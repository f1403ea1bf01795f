"""scenario notices: a consent names a notice of its own purpose; a notice is complete

Revision ID: 0023
Revises: 0022

Issue 19, item 8: operators publish notices without a deploy (`POST
/admin/v1/scenarios/{code}/notices`, `pengcheng notices publish`), and a scenario nobody can
consent to is "not yet available". `consent.notices` checks a notice before it is published;
the database keeps the same rules, whoever writes:

* a notice's purpose is `scoring` or `scenario:<code>`; its titles, texts and retention are not
  blank; a scenario's notice names its recipients and requires separate consent;
* a consent record, and each consent event, names a notice **of its own purpose** (a composite
  foreign key on (notice_id, purpose)): no row can claim consent to a scenario whose notice was
  never published.
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

PURPOSE = "purpose ~ '^(scoring|scenario:[a-z][a-z0-9_]{1,40})$'"
COMPLETE = ("btrim(title_zh) <> '' AND btrim(title_en) <> '' AND btrim(text_zh) <> '' "
            "AND btrim(text_en) <> '' AND btrim(retention) <> ''")
RECIPIENTS = ("purpose = 'scoring' OR (requires_separate_consent AND CASE WHEN "
              "json_typeof(recipients) = 'array' THEN json_array_length(recipients) > 0 "
              "ELSE false END)")
OF_ITS_PURPOSE = ("consent_records", "consent_events")


def upgrade() -> None:
    for name, condition in (("purpose", PURPOSE), ("complete", COMPLETE),
                            ("scenario_recipients", RECIPIENTS)):
        op.create_check_constraint(op.f(f"ck_consent_notices_{name}"), "consent_notices",
                                   condition)
    op.create_unique_constraint("uq_consent_notices_id_purpose", "consent_notices",
                                ["id", "purpose"])
    for table in OF_ITS_PURPOSE:
        op.create_foreign_key(f"fk_{table}_notice_of_its_purpose", table, "consent_notices",
                              ["notice_id", "purpose"], ["id", "purpose"])


def downgrade() -> None:
    for table in OF_ITS_PURPOSE:
        op.drop_constraint(f"fk_{table}_notice_of_its_purpose", table, type_="foreignkey")
    op.drop_constraint("uq_consent_notices_id_purpose", "consent_notices", type_="unique")
    for name in ("scenario_recipients", "complete", "purpose"):
        op.drop_constraint(op.f(f"ck_consent_notices_{name}"), "consent_notices", type_="check")
