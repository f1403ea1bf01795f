-- 先诊后付: holds past their expiry, authorization and capture (rewards.credit.services).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

-- Release up to p_limit holds past their expiry, oldest first (all residents' when p_resident
-- is NULL); rows another transaction has locked are skipped. The number released.
-- Expired holds still `held` are few (the job releases them), so one statement serves both.
CREATE OR REPLACE FUNCTION pc_credit_expire_holds(p_now timestamptz, p_resident uuid,
                                                  p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    released integer;
    residents integer;
    moved integer;
BEGIN
    WITH due AS (
        SELECT id FROM credit_holds
         WHERE status = 'held' AND expires_at <= p_now
           AND (p_resident IS NULL OR resident_id = p_resident)
         ORDER BY expires_at LIMIT p_limit
           FOR UPDATE SKIP LOCKED),
    closed AS (
        UPDATE credit_holds AS h SET status = 'expired', closed_at = p_now
          FROM due WHERE h.id = due.id
        RETURNING h.resident_id, h.amount_fen),
    per_resident AS (
        SELECT resident_id, sum(amount_fen) AS fen, count(*) AS holds
          FROM closed GROUP BY resident_id),
    accounts AS (
        UPDATE credit_accounts AS a SET held_fen = a.held_fen - r.fen, updated_at = p_now
          FROM per_resident AS r
         WHERE a.resident_id = r.resident_id AND a.held_fen - r.fen >= 0
        RETURNING a.resident_id)
    SELECT coalesce(sum(holds), 0), count(*), (SELECT count(*) FROM accounts)
      INTO released, residents, moved FROM per_resident;
    IF moved <> residents THEN
        RAISE EXCEPTION 'credit accounts disagree with their expired holds';
    END IF;
    RETURN released;
END $$;

CREATE OR REPLACE FUNCTION pc_credit_authorize(p_jti text, p_sub text, p_scn text,
                                               p_iat bigint, p_exp timestamptz, p_ent json,
                                               p_partner uuid, p_client_id text,
                                               p_partner_name text, p_log_id uuid,
                                               p_now timestamptz, p_out_request_no text,
                                               p_hash text, p_amount bigint,
                                               p_default_scenario json, p_hold_id uuid,
                                               p_expires_at timestamptz, p_created_iso text,
                                               p_expires_iso text, p_hold_log_id uuid,
                                               p_staff uuid)
RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    scenario json;
    exclusions jsonb;
    stored json;
    resident uuid;
    line bigint;
    held bigint;
    owed bigint;
BEGIN
    SELECT spec INTO scenario FROM scenario_settings WHERE code = p_scn;
    scenario := coalesce(scenario, p_default_scenario);
    IF (scenario ->> 'active')::boolean IS NOT TRUE THEN
        PERFORM pc_refuse('unknown_scenario', jsonb_build_object('code', p_scn));
    END IF;
    stored := pc_claim_request(p_partner, 'medical_credit.authorize', p_out_request_no, p_hash,
                               p_now);
    IF stored IS NOT NULL THEN
        RETURN stored;
    END IF;
    IF p_jti IS NULL THEN  -- the caller refused the token and no answer is owed: its refusal
        PERFORM pc_refuse('token_refused');
    END IF;
    resident := pc_consume_token(p_jti, p_sub, p_scn, p_iat, p_exp, p_ent, p_partner,
                                 p_client_id, p_partner_name, p_log_id, p_now);
    -- The line: the resident's tier limit when the token was issued (at most five minutes
    -- ago), kept with the token and never disclosed (issue 20).
    line := coalesce(pc_token_limit(p_jti, 'limit_fen'), 0);

    -- The exclusions the scenario names that apply now, unless a human review's eligibility
    -- override for this scenario is in force: pc_scenario_excluded (rewards/sql/exclusions.sql),
    -- the one rule tokens and points use too.
    exclusions := coalesce((scenario -> 'exclusions')::jsonb, '[]');
    IF pc_scenario_excluded(resident, p_scn, ARRAY(SELECT jsonb_array_elements_text(exclusions)),
                            p_now) THEN
        PERFORM pc_refuse('credit_declined');
    END IF;

    -- The reserve: one conditional UPDATE of the resident's account, evaluated on the latest
    -- committed row (a concurrent counter's hold is always seen; the CHECKs of
    -- credit_accounts are the guarantee). When it does not fit: open the account if this is
    -- the resident's first authorization, release their holds past their expiry, try once more.
    -- Not fitting is `limit_exceeded`, with nothing about the line, the holds or the bills.
    FOR attempt IN 1..2 LOOP
        UPDATE credit_accounts
           SET held_fen = held_fen + p_amount, line_fen = line, updated_at = p_now
         WHERE resident_id = resident AND held_fen + owed_fen + p_amount <= line
        RETURNING held_fen, owed_fen INTO held, owed;
        EXIT WHEN FOUND;
        IF attempt = 2 OR p_amount > line THEN
            PERFORM pc_refuse('limit_exceeded');
        END IF;
        INSERT INTO credit_accounts (resident_id, line_fen, held_fen, owed_fen, created_at,
                                     updated_at)
        VALUES (resident, line, 0, 0, p_now, p_now)
        ON CONFLICT (resident_id) DO NOTHING;
        PERFORM pc_credit_expire_holds(p_now, resident, 500);
    END LOOP;

    INSERT INTO credit_holds (id, resident_id, partner_id, out_request_no, amount_fen, line_fen,
                              status, created_at, expires_at, closed_at, staff_id, voided_by)
    VALUES (p_hold_id, resident, p_partner, p_out_request_no, p_amount, line, 'held', p_now,
            p_expires_at, NULL, p_staff, NULL);
    PERFORM pc_log_access(p_hold_log_id, resident, p_now, p_client_id, p_partner_name,
                          'credit_hold', p_scn, 'held',
                          json_build_object('sub', p_sub, 'amount_fen', p_amount));
    RETURN pc_store_answer(p_partner, 'medical_credit.authorize', p_out_request_no,
                           json_build_object('authorization_id', p_hold_id,
                                             'out_request_no', p_out_request_no,
                                             'amount_fen', p_amount, 'status', 'held',
                                             'created_at', p_created_iso,
                                             'expires_at', p_expires_iso, 'closed_at', NULL,
                                             'sub', p_sub));
END $$;

CREATE OR REPLACE FUNCTION pc_credit_capture(p_partner uuid, p_out_bill_no text, p_hash text,
                                             p_hold_id uuid, p_amount bigint, p_bill_id uuid,
                                             p_now timestamptz, p_due_at timestamptz,
                                             p_created_iso text, p_due_iso text,
                                             p_note_id uuid, p_note_kind text,
                                             p_note_dedupe_key text, p_note_title_zh text,
                                             p_note_title_en text, p_note_body_zh text,
                                             p_note_body_en text, p_note_data json,
                                             p_staff uuid)
RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    stored json;
    hold credit_holds%ROWTYPE;
BEGIN
    stored := pc_claim_request(p_partner, 'medical_credit.capture', p_out_bill_no, p_hash,
                               p_now);
    IF stored IS NOT NULL THEN
        RETURN stored;
    END IF;
    SELECT * INTO hold FROM credit_holds WHERE id = p_hold_id FOR UPDATE;
    IF NOT FOUND OR hold.partner_id <> p_partner THEN  -- another's looks like none at all
        PERFORM pc_refuse('authorization_not_found');
    END IF;
    IF hold.status = 'held' AND hold.expires_at <= p_now THEN
        PERFORM pc_refuse('authorization_closed',
                          jsonb_build_object('authorization_status', 'expired',
                                             'lapsed', true));
    END IF;
    IF hold.status <> 'held' THEN
        PERFORM pc_refuse('authorization_closed',
                          jsonb_build_object('authorization_status', hold.status));
    END IF;
    IF p_amount > hold.amount_fen THEN
        PERFORM pc_refuse('amount_exceeds_hold',
                          jsonb_build_object('amount_fen', p_amount,
                                             'hold_fen', hold.amount_fen));
    END IF;

    UPDATE credit_holds SET status = 'captured', closed_at = p_now WHERE id = p_hold_id;
    INSERT INTO credit_bills (id, hold_id, resident_id, partner_id, out_bill_no, amount_fen,
                              paid_fen, status, created_at, due_at, reminded_at, overdue_at,
                              paid_at, record_id, staff_id)
    VALUES (p_bill_id, p_hold_id, hold.resident_id, p_partner, p_out_bill_no, p_amount, 0,
            'open', p_now, p_due_at, NULL, NULL, NULL, NULL, p_staff);
    -- The hold leaves `held`, the bill becomes `owed`.
    UPDATE credit_accounts
       SET held_fen = held_fen - hold.amount_fen, owed_fen = owed_fen + p_amount,
           updated_at = p_now
     WHERE resident_id = hold.resident_id AND held_fen - hold.amount_fen >= 0
       AND owed_fen + p_amount >= 0;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'credit account % cannot move held -%, owed +%', hold.resident_id,
                        hold.amount_fen, p_amount;
    END IF;
    INSERT INTO notifications (id, resident_id, kind, dedupe_key, title_zh, title_en, body_zh,
                               body_en, data, created_at, read_at)
    VALUES (p_note_id, hold.resident_id, p_note_kind, p_note_dedupe_key,
            p_note_title_zh, p_note_title_en, p_note_body_zh, p_note_body_en, p_note_data,
            p_now, NULL)
    ON CONFLICT (dedupe_key) DO NOTHING;
    -- rewards.credit.services.bill_answer(bill, hold)
    RETURN pc_store_answer(p_partner, 'medical_credit.capture', p_out_bill_no,
                           json_build_object('bill_id', p_bill_id, 'authorization_id', p_hold_id,
                                             'out_bill_no', p_out_bill_no,
                                             'amount_fen', p_amount, 'paid_fen', 0,
                                             'owed_fen', p_amount, 'status', 'open',
                                             'created_at', p_created_iso, 'due_at', p_due_iso,
                                             'overdue_at', NULL, 'paid_at', NULL,
                                             'released_fen', hold.amount_fen - p_amount));
END $$;
