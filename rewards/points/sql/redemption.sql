-- A points redemption, one round trip (rewards.points.redemption).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

-- The whole redemption, every case: claim (storing the answer Python built), consume the
-- token (refused use_declined when an exclusion the scenario names applies now:
-- p_default_exclusions, the shipped catalogue's, see pc_scenario_exclusions), the per-order
-- limit kept with the token, debit, expire what is due, draw, post. A refusal rolls it all back, claim and token
-- included.
CREATE OR REPLACE FUNCTION pc_redeem(p_jti text, p_sub text, p_scn text, p_iat bigint,
                                     p_exp timestamptz, p_ent json, p_partner uuid,
                                     p_client_id text, p_partner_name text, p_log_id uuid,
                                     p_now timestamptz, p_out_order_no text, p_hash text,
                                     p_points bigint, p_redemption_id uuid,
                                     p_transfer_id uuid, p_answer json,
                                     p_default_exclusions text[]) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    stored json;
    resident uuid;
    cap bigint;
    account uuid;
    clearing text := 'clearing:' || replace(p_partner::text, '-', '');
    clearing_id uuid;
    lot record;
    due_expired boolean := false;
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
                                 p_client_id, p_partner_name, p_log_id, p_now,
                                 pc_scenario_exclusions(p_scn, p_default_exclusions));

    -- The per-order limit of the resident's tier when the token was issued (kept with the
    -- token, never disclosed: issue 20). Above it, or above the balance: `limit_exceeded`,
    -- one refusal that tells the partner nothing about either.
    cap := pc_token_limit(p_jti, 'max_points_per_order');
    IF cap IS NOT NULL AND p_points > cap THEN
        PERFORM pc_refuse('limit_exceeded');
    END IF;

    -- Never read-then-write: concurrent debits queue on the row and each re-checks. The
    -- account's row lock is held from here: its lots change under it only.
    UPDATE points_accounts SET balance = balance - p_points
     WHERE resident_id = resident AND balance >= p_points
    RETURNING id INTO account;
    IF account IS NULL THEN
        PERFORM pc_refuse('limit_exceeded');
    END IF;

    -- Found at once after the partner's first redemption, which creates it. (Before the
    -- expiry sink, as in a refund: first-use inserts wait on each other in one order.)
    SELECT id INTO clearing_id FROM points_accounts WHERE code = clearing;
    IF clearing_id IS NULL THEN
        clearing_id := pc_points_account(clearing, 'clearing', NULL, p_partner, p_now);
    END IF;

    FOR lot IN SELECT id, remaining, expires_at FROM points_lots
                WHERE account_id = account AND remaining > 0
                ORDER BY expires_at, earned_at, id LOOP
        IF lot.expires_at <= p_now THEN
            -- Due lots come first in this order: never spend them; expire them all, as the
            -- job would, and draw from the rest.
            IF NOT due_expired THEN
                PERFORM pc_points_expire(account, p_now);
                due_expired := true;
            END IF;
            CONTINUE;
        END IF;
        taken := least(left_over, lot.remaining);
        UPDATE points_lots SET remaining = remaining - taken WHERE id = lot.id;
        lot_ids := lot_ids || lot.id;
        amounts := amounts || taken;
        left_over := left_over - taken;
        EXIT WHEN left_over = 0;
    END LOOP;
    IF left_over > 0 THEN  -- the balance said yes but the lots say no: a broken invariant
        RAISE EXCEPTION 'points ledger: the lots of account % do not cover its balance',
            account;
    END IF;

    INSERT INTO points_transfers (id, key, kind, at, rule, reference, reverses_id)
    VALUES (p_transfer_id,
            'redeem:' || replace(p_partner::text, '-', '') || ':' || p_out_order_no,
            'redeem', p_now, NULL, p_out_order_no, NULL)
    ON CONFLICT (key) DO NOTHING;
    IF NOT FOUND THEN  -- the order is in the ledger without a claim (written by other means)
        PERFORM pc_refuse('conflict', jsonb_build_object('out_order_no', p_out_order_no));
    END IF;
    INSERT INTO points_legs (transfer_id, account_id, amount)
    VALUES (p_transfer_id, account, -p_points), (p_transfer_id, clearing_id, p_points);
    INSERT INTO points_redemptions (id, partner_id, account_id, transfer_id, out_order_no, sub,
                                    points, refunded, created_at)
    VALUES (p_redemption_id, p_partner, account, p_transfer_id, p_out_order_no, p_sub,
            p_points, 0, p_now);
    INSERT INTO points_draws (redemption_id, lot_id, points, refunded)
    SELECT p_redemption_id, drawn.lot_id, drawn.points, 0
      FROM unnest(lot_ids, amounts) AS drawn(lot_id, points);

    RETURN p_answer;
END $$;

-- A retry whose token the caller refused before the database (it expired since the first
-- attempt): the first answer for the same body, idempotency_conflict for another, else
-- not_redeemed (the caller raises the token's refusal). Claiming rather than reading waits for
-- a first attempt still in flight; the refusal rolls this claim back.
CREATE OR REPLACE FUNCTION pc_redeemed_answer(p_partner uuid, p_out_order_no text, p_hash text,
                                              p_now timestamptz) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    stored json;
BEGIN
    stored := pc_claim_request(p_partner, 'points.redeem', p_out_order_no, p_hash, p_now);
    IF stored IS NULL THEN
        PERFORM pc_refuse('not_redeemed');
    END IF;
    RETURN stored;
END $$;
