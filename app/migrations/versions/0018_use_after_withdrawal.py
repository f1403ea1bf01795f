"""a token's use and the withdrawal of its consent are ordered: the use locks the consent row

Revision ID: 0018
Revises: 0017

`pc_consume_token` read the scenario consent without a lock. A use that then waited for the
resident's account row (`pc_credit_authorize`, `pc_redeem`, a waiver's slot) could commit after
a withdrawal that committed while it waited: a hold a second after the resident's receipt
(issue 22). Now:

* `pc_consume_token` takes `FOR SHARE` on the resident's active consent record of the token's
  scenario before it decides anything, and only then asks `pc_token_state` (a new statement, so
  a fresh snapshot). Every withdrawal, re-grant, invalidation or erasure changes that row, so
  it takes the row's exclusive lock: either the withdrawal got there first and the use, once
  the withdrawal commits, finds no active consent (`token_revoked`), or the use got there first
  and the withdrawal waits until the use has committed (or rolled back). No use can commit
  after a withdrawal has. Lock order: the consent row, then the account rows (the callers
  consume the token before they touch an account); a withdrawal never locks an account, so the
  two never deadlock. Two uses share the lock and do not wait for each other.
* `pc_consent_last_use(resident, purpose)` is when a token that relied on the consent was last
  used. A withdrawal holding the row takes effect no earlier than that (`consent.services`), so
  a use that committed first is before the withdrawal in the resident's access log too, even
  when its request read the clock a moment after the withdrawal's did.

Since issue 18 the functions live in `.sql` files beside their packages and `app.migrate`
installs them after every upgrade to head (`rewards/sql/tokens.sql`,
`consent/sql/consent.sql`); this revision keeps its place in the history and carries no
function text.
"""

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: the functions are the `.sql` files', installed by `app.migrate`."""


def downgrade() -> None:
    """Nothing here: `app.migrate.downgrade` drops the functions before migrating down."""
