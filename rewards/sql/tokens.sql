-- A token's liveness, consumption and introspection (rewards.tokens, after the signature).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

-- NULL when the token is live, else why not: token_revoked (reason subject: no such resident
-- at this partner, or their account erased; unrecorded: no issue of this token to this resident
-- for this scenario is recorded in issued_tokens — a signature alone is not enough, and no token
-- is used without the limits its row keeps; consent: the scenario's consent withdrawn, or
-- re-granted after the token was issued; scoring: the same of the consent to scoring, which
-- every entitlement needs), token_replayed, or use_declined (reason excluded: an exclusion the
-- scenario names applies now and no eligibility override is in force; checked only when the
-- caller passes the scenario's exclusions, see pc_scenario_exclusions — a partner call that
-- decides eligibility itself passes NULL and answers with its own refusal).
CREATE OR REPLACE FUNCTION pc_token_state(p_resident uuid, p_jti text, p_scn text, p_iat bigint,
                                          p_now timestamptz, p_exclusions text[] DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    since timestamptz;
BEGIN
    IF p_resident IS NULL
       OR NOT EXISTS (SELECT 1 FROM residents WHERE id = p_resident AND status = 'active') THEN
        RETURN 'token_revoked:subject';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM issued_tokens
                    WHERE jti = p_jti AND resident_id = p_resident AND scenario = p_scn) THEN
        RETURN 'token_revoked:unrecorded';
    END IF;
    since := pc_consent_since(p_resident, 'scenario:' || p_scn, p_now);
    IF since IS NULL OR p_iat < floor(extract(epoch FROM since))::bigint THEN
        RETURN 'token_revoked:consent';
    END IF;
    since := pc_consent_since(p_resident, 'scoring', p_now);
    IF since IS NULL OR p_iat < floor(extract(epoch FROM since))::bigint THEN
        RETURN 'token_revoked:scoring';
    END IF;
    IF EXISTS (SELECT 1 FROM consumed_tokens WHERE jti = p_jti) THEN
        RETURN 'token_replayed';
    END IF;
    IF p_exclusions IS NOT NULL
       AND pc_scenario_excluded(p_resident, p_scn, p_exclusions, p_now) THEN
        RETURN 'use_declined:excluded';
    END IF;
    RETURN NULL;
END $$;

-- Use the token up (its signature, times, audience and scenario were checked by the caller);
-- the resident's id. Refuses token_revoked / token_replayed, and use_declined when the caller
-- passes the scenario's exclusions (p_exclusions: what pc_scenario_exclusions answers; NULL
-- when the caller decides eligibility itself: a hold, a waiver).
CREATE OR REPLACE FUNCTION pc_consume_token(p_jti text, p_sub text, p_scn text, p_iat bigint,
                                            p_exp timestamptz, p_ent json, p_partner uuid,
                                            p_client_id text, p_partner_name text,
                                            p_log_id uuid, p_now timestamptz,
                                            p_exclusions text[] DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    resident uuid;
    state text;
    locked integer;
BEGIN
    SELECT resident_id INTO resident FROM partner_pseudonyms
     WHERE pseudonym = p_sub AND partner_id = p_partner;
    -- Lock first, then decide. The consent rows the token relies on (the scenario's and the
    -- scoring consent) are held (shared) until this transaction ends: a withdrawal (an UPDATE
    -- of the row) waits for this use to commit, and a withdrawal already holding a row makes
    -- this wait, then find the row no longer active. Taken before the caller touches any
    -- account row (lock order: consent, then accounts), in the order an erasure takes them
    -- (consent.services.withdraw_all: by given_at).
    SELECT count(*) INTO locked FROM (
        SELECT 1 FROM consent_records
         WHERE resident_id = resident AND purpose IN ('scenario:' || p_scn, 'scoring')
           AND status = 'active'
         ORDER BY given_at, id
           FOR SHARE) AS held;
    state := pc_token_state(resident, p_jti, p_scn, p_iat, p_now, p_exclusions);
    IF state IS NULL AND locked < 2 THEN
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

-- The partner call POST /partner/v1/tokens/consume, whole (rewards.token_use): claim
-- (partner, out_use_no) storing the answer Python built, use the token up with the scenario's
-- exclusions checked (pc_consume_token), record the use in token_uses. A retry gets the first
-- answer; another body with the same out_use_no idempotency_conflict. p_jti NULL: the caller
-- refused the token (expired, another scenario's call...) and a retry is owed its stored answer,
-- or the caller's refusal stands (token_refused).
CREATE OR REPLACE FUNCTION pc_use_token(p_jti text, p_sub text, p_scn text, p_iat bigint,
                                        p_exp timestamptz, p_ent json, p_partner uuid,
                                        p_client_id text, p_partner_name text, p_log_id uuid,
                                        p_now timestamptz, p_default_exclusions text[],
                                        p_out_use_no text, p_hash text, p_use_id uuid,
                                        p_answer json) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    stored json;
    resident uuid;
BEGIN
    stored := pc_claim_request(p_partner, 'tokens.consume', p_out_use_no, p_hash, p_now,
                               p_answer);
    IF stored IS NOT NULL THEN
        RETURN stored;
    END IF;
    IF p_jti IS NULL THEN
        PERFORM pc_refuse('token_refused');
    END IF;
    resident := pc_consume_token(p_jti, p_sub, p_scn, p_iat, p_exp, p_ent, p_partner,
                                 p_client_id, p_partner_name, p_log_id, p_now,
                                 pc_scenario_exclusions(p_scn, p_default_exclusions));
    INSERT INTO token_uses (id, partner_id, out_use_no, jti, resident_id, scenario, used_at)
    VALUES (p_use_id, p_partner, p_out_use_no, p_jti, resident, p_scn, p_now);
    RETURN p_answer;
END $$;

-- Introspection's database half: 'active' or why not (see pc_token_state), never consuming.
-- The scenario's exclusions are always checked (p_default_exclusions: the shipped catalogue's,
-- see pc_scenario_exclusions), so a token that a consent withdrawn, an exclusion arisen or an
-- erasure made unusable is inactive at once. p_outcome is the caller's verdict when it already
-- refused the token (expired, another audience...): then only the access-log entry is written.
-- The entry is written for any subject this service knows, and committed without waiting for
-- the WAL flush.
CREATE OR REPLACE FUNCTION pc_introspect(p_jti text, p_sub text, p_scn text, p_iat bigint, p_ent json,
                                         p_partner uuid, p_client_id text, p_partner_name text,
                                         p_outcome text, p_log_id uuid, p_now timestamptz,
                                         p_default_exclusions text[] DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    resident uuid;
    owner uuid;
    outcome text := p_outcome;
BEGIN
    SELECT resident_id, partner_id INTO resident, owner FROM partner_pseudonyms
     WHERE pseudonym = p_sub;
    IF outcome IS NULL THEN
        outcome := coalesce(pc_token_state(CASE WHEN owner = p_partner THEN resident END,
                                           p_jti, p_scn, p_iat, p_now,
                                           pc_scenario_exclusions(p_scn, p_default_exclusions)),
                            'active');
    END IF;
    IF resident IS NOT NULL THEN
        PERFORM set_config('synchronous_commit', 'off', true);
        PERFORM pc_log_access(p_log_id, resident, p_now, p_client_id, p_partner_name,
                              'introspect', p_scn, split_part(outcome, ':', 1),
                              CASE WHEN outcome = 'active'
                                   THEN json_build_object('sub', p_sub, 'scn', p_scn,
                                                          'ent', p_ent)
                                   ELSE '{}'::json END);
    END IF;
    RETURN outcome;
END $$;

-- The resident's limit `p_field` in a token's scenario when the token was issued (its
-- `issued_tokens` row, issue 20): what the partner writes enforce at use, never disclosed to
-- the partner. NULL when the token has no such limit (or no row).
CREATE OR REPLACE FUNCTION pc_token_limit(p_jti text, p_field text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN json_typeof(limits -> p_field) = 'number'
                THEN (limits ->> p_field)::bigint END
      FROM issued_tokens WHERE jti = p_jti
$$;
