"""points redemption, one implementation: pc_redeem handles every case itself

Revision ID: 0016
Revises: 0015

`pc_redeem` (migration 0011) handed some cases back to a Python "portable path" with SQLSTATE
PC409. It now handles all of them, so a redemption is written once, in SQL:

* the partner's first redemption creates its clearing account (`pc_points_account`: INSERT …
  ON CONFLICT DO NOTHING, so concurrent first redemptions agree on one account);
* lots past their expiry that still hold points are expired first (`pc_points_expire`, which
  the expiry job calls too: expiry is written once as well); if the debit then leaves less than
  the due points, the refusal is `insufficient_points` (reason `unexpired`);
* an order already in the ledger without an idempotency claim is refused `conflict`;
* lots that do not cover the balance are a broken invariant: a real error, not a hand-back.

`pc_redeemed_answer` serves a retry whose token `tokens.admit` refuses (it expired since the
first attempt): the stored answer, `idempotency_conflict` for another body, else a refusal the
caller turns back into the token's. It claims the key to read it, so it waits for a first
attempt still in flight, and the refusal rolls the claim back.

`pc_points_due` is what a resident cannot spend any more (past expiry, not yet moved); the
points statement reads it too. `pc_points_account` is how every points account is made.

Since issue 18 the functions live in `.sql` files beside their packages and `app.migrate`
installs them after every upgrade to head (`rewards/points/sql/`); this revision keeps its
place in the history and carries no function text.
"""

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: the functions are the `.sql` files', installed by `app.migrate`."""


def downgrade() -> None:
    """Nothing here: `app.migrate.downgrade` drops the functions before migrating down."""
