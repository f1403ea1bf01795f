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
"""
from alembic import op

revision = "0011"
down_revision = ("0007", "0010")
branch_labels = None
depends_on = None

FUNCTIONS = r"""
CREATE FUNCTION pc_redeem(p_jti text, p_sub text, p_scn text, p_iat bigint, p_exp timestamptz,
                          p_ent json, p_partner uuid, p_client_id text, p_partner_name text,
                          p_log_id uuid, p_now timestamptz, p_out_order_no text, p_hash text,
                          p_points bigint, p_redemption_id uuid, p_transfer_id uuid,
                          p_answer json) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    stored json;
    resident uuid;
    cap text;
    account uuid;
    clearing uuid;
    lot record;
    left_over bigint := p_points;
    taken bigint;
    lot_ids uuid[] := '{}';
    amounts bigint[] := '{}';
BEGIN
    -- The answer is known before the work (Python made it): stored with the claim.
    stored := pc_claim_request(p_partner, 'points.redeem', p_out_order_no, p_hash, p_now,
                               p_answer);
    IF stored IS NOT NULL THEN
        RETURN stored;
    END IF;
    resident := pc_consume_token(p_jti, p_sub, p_scn, p_iat, p_exp, p_ent, p_partner,
                                 p_client_id, p_partner_name, p_log_id, p_now);

    -- Python's isinstance(limit, int): a JSON number written without fraction or exponent.
    cap := p_ent ->> 'max_points_per_order';
    IF json_typeof(p_ent -> 'max_points_per_order') = 'number' AND cap ~ '^-?[0-9]+$'
       AND p_points > cap::numeric THEN
        PERFORM pc_refuse('points_over_limit', jsonb_build_object('limit', cap::numeric));
    END IF;

    -- Never read-then-write: concurrent debits queue on the row and each re-checks.
    UPDATE points_accounts SET balance = balance - p_points
     WHERE resident_id = resident AND balance >= p_points
    RETURNING id INTO account;
    IF account IS NULL THEN
        PERFORM pc_refuse('insufficient_points');
    END IF;

    SELECT id INTO clearing FROM points_accounts
     WHERE code = 'clearing:' || replace(p_partner::text, '-', '');
    IF clearing IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PC409', MESSAGE = 'no clearing account yet';
    END IF;

    -- The account's row lock is held: its lots change under it only.
    FOR lot IN SELECT id, remaining, expires_at FROM points_lots
                WHERE account_id = account AND remaining > 0
                ORDER BY expires_at, earned_at, id LOOP
        IF lot.expires_at <= p_now THEN  -- the first in this order: none is due if it is not
            RAISE EXCEPTION USING ERRCODE = 'PC409', MESSAGE = 'lots to expire first';
        END IF;
        taken := least(left_over, lot.remaining);
        UPDATE points_lots SET remaining = remaining - taken WHERE id = lot.id;
        lot_ids := lot_ids || lot.id;
        amounts := amounts || taken;
        left_over := left_over - taken;
        EXIT WHEN left_over = 0;
    END LOOP;
    IF left_over > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'PC409', MESSAGE = 'lots do not cover the balance';
    END IF;

    INSERT INTO points_transfers (id, key, kind, at, rule, reference, reverses_id)
    VALUES (p_transfer_id,
            'redeem:' || replace(p_partner::text, '-', '') || ':' || p_out_order_no,
            'redeem', p_now, NULL, p_out_order_no, NULL);
    INSERT INTO points_legs (transfer_id, account_id, amount)
    VALUES (p_transfer_id, account, -p_points), (p_transfer_id, clearing, p_points);
    INSERT INTO points_redemptions (id, partner_id, account_id, transfer_id, out_order_no, sub,
                                    points, refunded, created_at)
    VALUES (p_redemption_id, p_partner, account, p_transfer_id, p_out_order_no, p_sub,
            p_points, 0, p_now);
    INSERT INTO points_draws (redemption_id, lot_id, points, refunded)
    SELECT p_redemption_id, drawn.lot_id, drawn.points, 0
      FROM unnest(lot_ids, amounts) AS drawn(lot_id, points);

    RETURN p_answer;
END $$;
"""

DROP = """
DROP FUNCTION IF EXISTS pc_redeem(text, text, text, bigint, timestamptz, json, uuid, text, text,
                                  uuid, timestamptz, text, text, bigint, uuid, uuid, json);
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute(DROP)
