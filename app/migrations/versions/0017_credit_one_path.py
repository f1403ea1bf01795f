"""先诊后付 authorization and capture, one implementation

Revision ID: 0017
Revises: 0016

`pc_credit_authorize` and `pc_credit_capture` (migration 0012) now handle every case
themselves; nothing is handed back to Python any more (no `PC409`). Their signatures do not
change. What moved in:

* a scenario switched off by the operator → `unknown_scenario`, before the claim (as
  `scenarios.get` refused it, even for a retry);
* the caller could not admit the token (`p_jti` NULL): the claim answers a retry its stored
  answer, else `token_refused` (the caller raises the token's own refusal; the claim rolls
  back);
* the line is `p_line` as given: the token's `limit_fen`, or the resident's current line
  computed by the caller when the token does not carry one (it stopped being disclosed);
* the resident's first account (`INSERT … ON CONFLICT DO NOTHING`) and their holds past their
  expiry still counted (`pc_credit_expire_holds`) before a second, last reserve; a hold that
  still does not fit → `insufficient_credit` with what is available;
* an account that disagrees with its holds raises an internal error (it was `LedgerBroken`).

`pc_credit_expire_holds(now, resident, limit)` is the one release of holds past their expiry:
the authorization calls it for one resident, the `medical_credit.expire_holds` job for all.

Since issue 18 the functions live in `.sql` files beside their packages and `app.migrate`
installs them after every upgrade to head (`rewards/credit/sql/credit.sql`,
`rewards/sql/exclusions.sql`); this revision keeps its place in the history and carries no
function text.
"""

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: the functions are the `.sql` files', installed by `app.migrate`."""


def downgrade() -> None:
    """Nothing here: `app.migrate.downgrade` drops the functions before migrating down."""
