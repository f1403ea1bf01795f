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

Downgrade restores migration 0010's `pc_consume_token` and drops `pc_consent_last_use`.
"""
from alembic import op

from app.migrate import earlier_functions

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

FUNCTIONS = r"""
-- Use the token up (its signature, times, audience and scenario were checked by the caller);
-- the resident's id. Refuses token_revoked / token_replayed.
CREATE OR REPLACE FUNCTION pc_consume_token(p_jti text, p_sub text, p_scn text, p_iat bigint,
                                            p_exp timestamptz, p_ent json, p_partner uuid,
                                            p_client_id text, p_partner_name text,
                                            p_log_id uuid, p_now timestamptz) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    resident uuid;
    state text;
    locked boolean;
BEGIN
    SELECT resident_id INTO resident FROM partner_pseudonyms
     WHERE pseudonym = p_sub AND partner_id = p_partner;
    -- Lock first, then decide. The consent row is held (shared) until this transaction ends:
    -- a withdrawal (an UPDATE of the row) waits for this use to commit, and a withdrawal
    -- already holding the row makes this wait, then find the row no longer active. Taken
    -- before the caller touches any account row (lock order: consent, then accounts).
    PERFORM 1 FROM consent_records
     WHERE resident_id = resident AND purpose = 'scenario:' || p_scn AND status = 'active'
       FOR SHARE;
    locked := FOUND;
    state := pc_token_state(resident, p_jti, p_scn, p_iat, p_now);
    IF state IS NULL AND NOT locked THEN
        -- a grant committed between the lock and the check: a consent this use holds no lock
        -- on could be withdrawn before it commits
        state := 'token_revoked:consent';
    END IF;
    IF state IS NULL THEN
        -- The primary key is the guarantee: a concurrent consumer's insert makes this wait,
        -- and if that one commits, this one finds the jti taken.
        INSERT INTO consumed_tokens (jti, partner_id, resident_id, scenario, consumed_at,
                                     expires_at)
        VALUES (p_jti, p_partner, resident, p_scn, p_now, p_exp)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            state := 'token_replayed';
        END IF;
    END IF;
    IF state IS NOT NULL THEN
        PERFORM pc_refuse(split_part(state, ':', 1),
                          jsonb_build_object('reason', split_part(state, ':', 2)));
    END IF;
    PERFORM pc_log_access(p_log_id, resident, p_now, p_client_id, p_partner_name, 'consume',
                          p_scn, 'consumed',
                          json_build_object('sub', p_sub, 'scn', p_scn, 'ent', p_ent));
    RETURN resident;
END $$;

-- When a token that relied on the resident's consent `p_purpose` ('scenario:<code>') was last
-- used (its `now`, as in the access log); NULL if never. A withdrawal that holds the consent
-- row takes effect no earlier than this (consent.services).
CREATE OR REPLACE FUNCTION pc_consent_last_use(p_resident uuid, p_purpose text)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT max(consumed_at) FROM consumed_tokens
     WHERE resident_id = p_resident AND p_purpose = 'scenario:' || scenario;
$$;
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS pc_consent_last_use(uuid, text)")
    op.execute(earlier_functions("0010_partner_functions.py"))
