"""partner hot paths in PostgreSQL: refusals, idempotency claims, token consumption, introspection

Revision ID: 0010
Revises: 0005

The partner endpoints that run many times a second each become one round trip to a function
(see `core/pgcall.py`). This revision holds the building blocks they share:

* `pc_refuse(code, extra)` raises SQLSTATE PC400 with the refusal's stable code as the message
  and its fields as JSON in DETAIL; the whole statement (claim, consumption, effect) rolls back.
* `pc_claim_request(...)` is `core.idempotency`'s claim: NULL when this call claimed the key,
  the stored answer on a retry, `idempotency_conflict` for the same key with another body.
* `pc_consume_token(...)` is `rewards.tokens.consume` after the signature: the pairwise
  pseudonym's resident, the scenario consent (the consent gate's criteria), single use by the
  `consumed_tokens` primary key, and the resident's access-log entry.
* `pc_introspect(...)` is the database half of an introspection: the same checks without
  consuming, and the access-log entry committed without waiting for the WAL flush.

Since issue 18 the functions live in `.sql` files beside their packages and `app.migrate`
installs them after every upgrade to head (`core/sql/`, `consent/sql/consent.sql`,
`rewards/sql/`); this revision keeps its place in the history and carries no function text.
"""

revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: the functions are the `.sql` files', installed by `app.migrate`."""


def downgrade() -> None:
    """Nothing here: `app.migrate.downgrade` drops the functions before migrating down."""
