-- A token's liveness, consumption and introspection (rewards.tokens, after the signature).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

-- NULL when the token is live, else why not: token_revoked (unknown subject, consent
-- withdrawn, or re-granted after the token was issued) or token_replayed.
CREATE OR REPLACE FUNCTION pc_token_state(p_resident uuid, p_jti text, p_scn text, p_iat bigint,
                                          p_now timestamptz) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    since timestamptz;
BEGIN
    IF p_resident IS NULL THEN
        RETURN 'token_revoked:subject';
    END IF;
    since := pc_consent_since(p_resident, 'scenario:' || p_scn, p_now);
    IF since IS NULL OR p_iat < floor(extract(epoch FROM since))::bigint THEN
        RETURN 'token_revoked:consent';
    END IF;
    IF EXISTS (SELECT 1 FROM consumed_tokens WHERE jti = p_jti) THEN
        RETURN 'token_replayed';
    END IF;
    RETURN NULL;
END $$;

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

-- Introspection's database half: 'active' or why not (see pc_token_state), never consuming.
-- p_outcome is the caller's verdict when it already refused the token (expired, another
-- audience...): then only the access-log entry is written. The entry is written for any
-- subject this service knows, and committed without waiting for the WAL flush.
CREATE OR REPLACE FUNCTION pc_introspect(p_jti text, p_sub text, p_scn text, p_iat bigint, p_ent json,
                                         p_partner uuid, p_client_id text, p_partner_name text,
                                         p_outcome text, p_log_id uuid, p_now timestamptz) RETURNS text
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
                                           p_jti, p_scn, p_iat, p_now), 'active');
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
