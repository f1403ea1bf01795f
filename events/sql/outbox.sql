-- The transactional outbox (events/__init__.py). Called by the row trigger of migration 0026 on
-- every state table, so each path that changes a row (a pc_* function, the ORM, a job) writes
-- its event, its deliveries and their queue jobs in its own transaction, or not at all.
--
-- What an event's data may hold: the fields the partner's own answers already carry about its
-- own hold, bill, waiver or redemption (ids, its out_*_no, amounts it asked for, states, dates)
-- and never a tier, limit, line, available amount or balance. The resident appears only as the
-- pairwise pseudonym, added when the payload is built (events.delivery); resident_id stays here.

-- A time as the API writes it: UTC, ISO 8601, `Z` (whatever the session's TimeZone).
CREATE OR REPLACE FUNCTION pc_outbox_time(p_at text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(p_at::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE OR REPLACE FUNCTION pc_outbox_emit(p_partner uuid, p_resident uuid, p_type text,
                                          p_resource text, p_data jsonb, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_event uuid := gen_random_uuid();
    endpoint record;
    v_delivery uuid;
BEGIN
    INSERT INTO events (id, partner_id, resident_id, type, resource, data, occurred_at)
    VALUES (v_event, p_partner, p_resident, p_type, p_resource, p_data, p_at);
    FOR endpoint IN
        SELECT id FROM webhook_endpoints
         WHERE partner_id = p_partner AND status = 'active'
           AND (event_types ? p_type OR event_types ? '*')
         ORDER BY id
    LOOP
        v_delivery := gen_random_uuid();
        INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, attempts, created_at)
        VALUES (v_delivery, v_event, endpoint.id, 'pending', 0, now());
        -- One job per delivery; its lock keeps one endpoint's events of one resource in order.
        PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW(
            'webhooks', 'events.deliver', 0,
            'webhook:' || endpoint.id || ':' || p_resource, NULL,
            jsonb_build_object('delivery_id', v_delivery::text), NULL
        )::procrastinate_job_to_defer_v1]);
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION pc_outbox_row(p_table text, p_old jsonb, p_new jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n jsonb := p_new;
    changed boolean := p_old IS NOT NULL AND p_old->>'status' IS DISTINCT FROM n->>'status';
    recorded boolean := p_old IS NOT NULL AND n->>'record_id' IS NOT NULL
                        AND p_old->>'record_id' IS DISTINCT FROM n->>'record_id';
    d jsonb;
    v_resident uuid;
    v_scenario text;
    r record;
BEGIN
    IF p_table = 'credit_holds' THEN
        d := jsonb_build_object('authorization_id', n->>'id',
                                   'out_request_no', n->>'out_request_no',
                                   'amount_fen', (n->>'amount_fen')::bigint,
                                   'status', n->>'status');
        IF p_old IS NULL THEN
            PERFORM pc_outbox_emit((n->>'partner_id')::uuid, (n->>'resident_id')::uuid,
                                   'hold.placed', 'hold:' || (n->>'id'), d,
                                   (n->>'created_at')::timestamptz);
        ELSIF changed THEN
            PERFORM pc_outbox_emit((n->>'partner_id')::uuid, (n->>'resident_id')::uuid,
                                   'hold.' || (n->>'status'), 'hold:' || (n->>'id'), d,
                                   coalesce((n->>'closed_at')::timestamptz, now()));
        END IF;
    ELSIF p_table = 'credit_bills' THEN
        -- A bill is ordered with the hold it came from: one resource, 'hold:<id>'.
        d := jsonb_build_object('bill_id', n->>'id', 'authorization_id', n->>'hold_id',
                                   'out_bill_no', n->>'out_bill_no',
                                   'amount_fen', (n->>'amount_fen')::bigint,
                                   'paid_fen', (n->>'paid_fen')::bigint,
                                   'owed_fen', (n->>'amount_fen')::bigint
                                               - (n->>'paid_fen')::bigint,
                                   'status', n->>'status', 'due_at', pc_outbox_time(n->>'due_at'));
        IF p_old IS NULL THEN
            PERFORM pc_outbox_emit((n->>'partner_id')::uuid, (n->>'resident_id')::uuid,
                                   'bill.due', 'hold:' || (n->>'hold_id'), d,
                                   (n->>'created_at')::timestamptz);
        ELSIF changed THEN
            PERFORM pc_outbox_emit((n->>'partner_id')::uuid, (n->>'resident_id')::uuid,
                                   'bill.' || (n->>'status'), 'hold:' || (n->>'hold_id'), d,
                                   coalesce((n->>((n->>'status') || '_at'))::timestamptz, now()));
        END IF;
        IF recorded THEN
            PERFORM pc_outbox_emit((n->>'partner_id')::uuid, (n->>'resident_id')::uuid,
                                   'bill.recorded', 'hold:' || (n->>'hold_id'), d, now());
        END IF;
    ELSIF p_table = 'deposit_waivers' THEN
        d := jsonb_build_object('waiver_id', n->>'id', 'scenario', n->>'scenario',
                                   'out_order_no', n->>'out_order_no',
                                   'deposit_fen', (n->>'deposit_fen')::bigint,
                                   'status', n->>'status', 'due_at', pc_outbox_time(n->>'due_at'));
        IF p_old IS NULL THEN
            PERFORM pc_outbox_emit((n->>'partner_id')::uuid, (n->>'resident_id')::uuid,
                                   'waiver.created', 'waiver:' || (n->>'id'), d,
                                   (n->>'created_at')::timestamptz);
        ELSIF changed THEN
            PERFORM pc_outbox_emit((n->>'partner_id')::uuid, (n->>'resident_id')::uuid,
                                   'waiver.' || (n->>'status'), 'waiver:' || (n->>'id'), d,
                                   coalesce((n->>((n->>'status') || '_at'))::timestamptz, now()));
        END IF;
        IF recorded THEN
            PERFORM pc_outbox_emit((n->>'partner_id')::uuid, (n->>'resident_id')::uuid,
                                   'waiver.recorded', 'waiver:' || (n->>'id'), d, now());
        END IF;
    ELSIF p_table = 'points_redemptions' AND p_old IS NULL THEN
        SELECT a.resident_id INTO v_resident FROM points_accounts a
         WHERE a.id = (n->>'account_id')::uuid;
        PERFORM pc_outbox_emit((n->>'partner_id')::uuid, v_resident, 'points.redeemed',
                               'redemption:' || (n->>'id'),
                               jsonb_build_object('redemption_id', n->>'id',
                                                  'out_order_no', n->>'out_order_no',
                                                  'points', (n->>'points')::bigint),
                               (n->>'created_at')::timestamptz);
    ELSIF p_table = 'points_refunds' AND p_old IS NULL THEN
        SELECT a.resident_id INTO v_resident FROM points_redemptions pr
          JOIN points_accounts a ON a.id = pr.account_id
         WHERE pr.id = (n->>'redemption_id')::uuid;
        PERFORM pc_outbox_emit((n->>'partner_id')::uuid, v_resident, 'points.refunded',
                               'redemption:' || (n->>'redemption_id'),
                               jsonb_build_object('refund_id', n->>'id',
                                                  'redemption_id', n->>'redemption_id',
                                                  'out_refund_no', n->>'out_refund_no',
                                                  'points', (n->>'points')::bigint),
                               (n->>'created_at')::timestamptz);
    ELSIF p_table = 'consent_records' AND p_old->>'status' = 'active'
          AND n->>'status' = 'withdrawn' AND n->>'purpose' LIKE 'scenario:%' THEN
        -- Told to every partner that holds a token of this resident for this scenario (issued,
        -- used or consumed): the partners whose basis the withdrawal ends, and no other.
        v_scenario := substr(n->>'purpose', length('scenario:') + 1);
        v_resident := (n->>'resident_id')::uuid;
        FOR r IN
            SELECT partner_id FROM issued_tokens WHERE resident_id = v_resident
                   AND issued_tokens.scenario = v_scenario
            UNION SELECT partner_id FROM consumed_tokens WHERE resident_id = v_resident
                   AND consumed_tokens.scenario = v_scenario
            UNION SELECT partner_id FROM token_uses WHERE resident_id = v_resident
                   AND token_uses.scenario = v_scenario
            ORDER BY 1
        LOOP
            PERFORM pc_outbox_emit(r.partner_id, v_resident, 'consent.withdrawn',
                                   'consent:' || (n->>'id'),
                                   jsonb_build_object('scenario', v_scenario,
                                                      'withdrawn_at', pc_outbox_time(n->>'ended_at')),
                                   (n->>'ended_at')::timestamptz);
        END LOOP;
        -- Each token issued for the scenario and neither used nor expired is dead from now on.
        FOR r IN
            SELECT t.partner_id, t.jti FROM issued_tokens t
             WHERE t.resident_id = v_resident AND t.scenario = v_scenario
               AND t.expires_at > (n->>'ended_at')::timestamptz
               AND NOT EXISTS (SELECT 1 FROM consumed_tokens c WHERE c.jti = t.jti)
               AND NOT EXISTS (SELECT 1 FROM token_uses u WHERE u.jti = t.jti)
             ORDER BY t.issued_at, t.jti
        LOOP
            PERFORM pc_outbox_emit(r.partner_id, v_resident, 'token.revoked',
                                   'token:' || r.jti,
                                   jsonb_build_object('jti', r.jti, 'scenario', v_scenario,
                                                      'reason', 'consent_withdrawn'),
                                   (n->>'ended_at')::timestamptz);
        END LOOP;
    END IF;
END $$;
