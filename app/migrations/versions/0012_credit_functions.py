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
"""
from alembic import op


revision = "0012"
down_revision = ("0006", "0010")
branch_labels = None
depends_on = None

FUNCTIONS = r"""
CREATE FUNCTION pc_credit_authorize(p_jti text, p_sub text, p_scn text, p_iat bigint,
                                    p_exp timestamptz, p_ent json, p_partner uuid,
                                    p_client_id text, p_partner_name text, p_log_id uuid,
                                    p_now timestamptz, p_out_request_no text, p_hash text,
                                    p_amount bigint, p_line bigint, p_default_scenario json,
                                    p_hold_id uuid, p_expires_at timestamptz,
                                    p_created_iso text, p_expires_iso text,
                                    p_hold_log_id uuid) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    scenario json;
    exclusions jsonb;
    stored json;
    resident uuid;
    held bigint;
    owed bigint;
    available bigint;
BEGIN
    SELECT spec INTO scenario FROM scenario_settings WHERE code = p_scn;
    scenario := coalesce(scenario, p_default_scenario);
    IF (scenario ->> 'active')::boolean IS NOT TRUE
       OR NOT coalesce((scenario -> 'discloses')::jsonb ? 'limit_fen', false) THEN
        RAISE EXCEPTION USING ERRCODE = 'PC409';
    END IF;
    stored := pc_claim_request(p_partner, 'medical_credit.authorize', p_out_request_no, p_hash,
                               p_now);
    IF stored IS NOT NULL THEN
        RETURN stored;
    END IF;
    resident := pc_consume_token(p_jti, p_sub, p_scn, p_iat, p_exp, p_ent, p_partner,
                                 p_client_id, p_partner_name, p_log_id, p_now);

    -- rewards.exclusions: dishonest_debtor, overdue_bill (keep the two in step).
    exclusions := coalesce((scenario -> 'exclusions')::jsonb, '[]');
    IF (exclusions ? 'dishonest_debtor' AND EXISTS (
            SELECT 1 FROM records
             WHERE resident_id = resident AND category = 'judicial'
               AND type = 'dishonest_debtor' AND status = 'active'
               AND (publicity_ends_at IS NULL OR publicity_ends_at > p_now)))
       OR (exclusions ? 'overdue_bill' AND EXISTS (
            SELECT 1 FROM credit_bills
             WHERE resident_id = resident AND status IN ('open', 'overdue')
               AND due_at <= p_now)) THEN
        PERFORM pc_refuse('credit_declined');
    END IF;

    -- rewards.credit.account.reserve: evaluated on the latest committed row.
    UPDATE credit_accounts
       SET held_fen = held_fen + p_amount, line_fen = p_line, updated_at = p_now
     WHERE resident_id = resident AND held_fen + owed_fen + p_amount <= p_line
    RETURNING held_fen, owed_fen INTO held, owed;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PC409';
    END IF;
    available := p_line - held - owed;

    INSERT INTO credit_holds (id, resident_id, partner_id, out_request_no, amount_fen, line_fen,
                              status, created_at, expires_at, closed_at)
    VALUES (p_hold_id, resident, p_partner, p_out_request_no, p_amount, p_line, 'held', p_now,
            p_expires_at, NULL);
    PERFORM pc_log_access(p_hold_log_id, resident, p_now, p_client_id, p_partner_name,
                          'credit_hold', p_scn, 'held',
                          json_build_object('sub', p_sub, 'amount_fen', p_amount,
                                            'available_fen', available));
    -- rewards.credit.services.hold_answer(hold, sub=…, available_fen=…)
    RETURN pc_store_answer(p_partner, 'medical_credit.authorize', p_out_request_no,
                           json_build_object('authorization_id', p_hold_id,
                                             'out_request_no', p_out_request_no,
                                             'amount_fen', p_amount, 'status', 'held',
                                             'created_at', p_created_iso,
                                             'expires_at', p_expires_iso, 'closed_at', NULL,
                                             'sub', p_sub, 'available_fen', available));
END $$;

CREATE FUNCTION pc_credit_capture(p_partner uuid, p_out_bill_no text, p_hash text,
                                  p_hold_id uuid, p_amount bigint, p_bill_id uuid,
                                  p_now timestamptz, p_due_at timestamptz, p_created_iso text,
                                  p_due_iso text, p_note_id uuid, p_note_kind text,
                                  p_note_dedupe_key text, p_note_title_zh text,
                                  p_note_title_en text, p_note_body_zh text,
                                  p_note_body_en text, p_note_data json) RETURNS json
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
                              paid_at, record_id)
    VALUES (p_bill_id, p_hold_id, hold.resident_id, p_partner, p_out_bill_no, p_amount, 0,
            'open', p_now, p_due_at, NULL, NULL, NULL, NULL);
    -- rewards.credit.account.post: the hold leaves `held`, the bill becomes `owed`.
    UPDATE credit_accounts
       SET held_fen = held_fen - hold.amount_fen, owed_fen = owed_fen + p_amount,
           updated_at = p_now
     WHERE resident_id = hold.resident_id AND held_fen - hold.amount_fen >= 0
       AND owed_fen + p_amount >= 0;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PC409';
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
"""

DROP = """
DROP FUNCTION IF EXISTS pc_credit_capture(uuid, text, text, uuid, bigint, uuid, timestamptz,
                                          timestamptz, text, text, uuid, text, text, text, text,
                                          text, text, json);
DROP FUNCTION IF EXISTS pc_credit_authorize(text, text, text, bigint, timestamptz, json, uuid,
                                            text, text, uuid, timestamptz, text, text, bigint,
                                            bigint, json, uuid, timestamptz, text, text, uuid);
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute(DROP)
