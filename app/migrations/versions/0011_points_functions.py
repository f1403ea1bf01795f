"""points redemption in PostgreSQL: pc_redeem, one round trip per redemption

Revision ID: 0011
Revises: 0007, 0010

History: this is the revision as it was. Since migration 0016 the function handles every case
itself (no PC409 hand-back, no second implementation in Python).

`pc_redeem(...)` is `rewards.points.redemption.redeem_once` after the token's signature (see
`core/pgcall.py` and `rewards/points/redeem_pg.py`), in the portable path's order:

1. the idempotency claim (`pc_claim_request`), which stores the answer the caller built with
   it (a refusal rolls both back): a retry gets the stored answer;
2. the token's consumption (`pc_consume_token`: subject, consent, single use, access log);
3. the entitlement's per-order limit (`points_over_limit`);
4. the debit: one conditional UPDATE of the resident's account (`insufficient_points`), which
   takes the account's row lock before any lot is touched (lock order: account, then lots);
5. the draw from the open lots, soonest to expire first (`expiry.open_lots`' order);
6. the transfer `redeem:<partner hex>:<out_order_no>` and its two legs, the redemption and its
   draws (ids and times come from Python).

A lot past its expiry with points left (the portable path expires it first), a partner without
a clearing account yet (the portable path creates it) or lots that do not cover the balance (the
portable path names the broken invariant) raise PC409: the statement rolls back and Python runs
the portable implementation. The zero-sum trigger checks the transfer when the call commits.

Since issue 18 the functions live in `.sql` files beside their packages and `app.migrate`
installs them after every upgrade to head (`rewards/points/sql/redemption.sql`); this revision
keeps its place in the history and carries no function text.
"""

revision = "0011"
down_revision = ("0007", "0010")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: the functions are the `.sql` files', installed by `app.migrate`."""


def downgrade() -> None:
    """Nothing here: `app.migrate.downgrade` drops the functions before migrating down."""
