"""先诊后付 in PostgreSQL: pc_credit_authorize and pc_credit_capture, one round trip each

Revision ID: 0012
Revises: 0006, 0010

History: this is the revision as it was. Since migration 0017 the function handles every case
itself (no PC409 hand-back, no second implementation in Python).

Both are `rewards.credit.services`' portable effects after the token's signature (see
`core/pgcall.py` and `rewards/credit/fastpath.py`), in the portable path's order. Ids and times
come from Python, so the stored answers are the ones the portable path gives.

`pc_credit_authorize(...)`:

1. the scenario (its `scenario_settings` row, else the shipped default passed in): inactive, or
   no longer disclosing `limit_fen` (the line then comes from the current score) → PC409;
2. the idempotency claim (`pc_claim_request`, 'medical_credit.authorize', out_request_no);
3. the token's consumption (`pc_consume_token`);
4. the scenario's exclusions, with the SQL of `rewards.exclusions` → `credit_declined`;
5. the reserve: one conditional UPDATE of the resident's account. No account yet, or the hold
   does not fit (holds past their expiry may still count) → PC409: the portable path creates
   the account, expires stale holds and retries, or refuses `insufficient_credit`;
6. the hold, the resident's access-log entry ('credit_hold') and the stored answer.

`pc_credit_capture(...)`: the claim ('medical_credit.capture', out_bill_no), the hold locked
(`authorization_not_found`, `authorization_closed`, `amount_exceeds_hold` as `_capture`
refuses), the hold captured, the bill, the account posted (a row that disagrees → PC409: the
portable path names the broken ledger), the resident's notification and the stored answer.

Since issue 18 the functions live in `.sql` files beside their packages and `app.migrate`
installs them after every upgrade to head (`rewards/credit/sql/credit.sql`); this revision
keeps its place in the history and carries no function text.
"""

revision = "0012"
down_revision = ("0006", "0010")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: the functions are the `.sql` files', installed by `app.migrate`."""


def downgrade() -> None:
    """Nothing here: `app.migrate.downgrade` drops the functions before migrating down."""
