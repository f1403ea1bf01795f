"""partner hot paths in PostgreSQL: refusals, idempotency claims, token consumption, introspection

Revision ID: 0010
Revises: 0005

The partner endpoints that run many times a second each become one round trip to a function
(see `core/pgcall.py`). This revision holds the building blocks they share:

* `pc_refuse(code, extra)` raises SQLSTATE PC400 with the refusal's stable code as the message
  and its fields as JSON in DETAIL; the whole statement (claim, consumption, effect) rolls back.
* `pc_claim_request(...)` is `core.idempotency`'s claim: NULL when this call claimed the key,
  the stored answer on a retry, `idempotency_conflict` for the same key with another body.
* `pc_consume_token(...)` is `rewards.tokens.consume` after the signature: the pairwise
  pseudonym's resident, the scenario consent (the consent gate's criteria), single use by the
  `consumed_tokens` primary key, and the resident's access-log entry.
* `pc_introspect(...)` is the database half of an introspection: the same checks without
  consuming, and the access-log entry committed without waiting for the WAL flush.
"""
from alembic import op


revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None

FUNCTIONS = r"""
CREATE FUNCTION pc_refuse(p_code text, p_extra jsonb DEFAULT '{}') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PC400', MESSAGE = p_code, DETAIL = p_extra::text;
END $$;

-- p_answer: a caller that knows its answer before doing the work stores it with the claim (one
-- write instead of two); if the work is refused, the statement rolls the claim back with it.
CREATE FUNCTION pc_claim_request(p_partner uuid, p_operation text, p_key text, p_hash text,
                                 p_now timestamptz, p_answer json DEFAULT NULL) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    found_hash text;
    found_answer json;
BEGIN
    -- A concurrent claim of the same key makes this wait until that transaction ends.
    INSERT INTO partner_requests (partner_id, operation, key, body_hash, response, created_at)
    VALUES (p_partner, p_operation, p_key, p_hash, p_answer, p_now)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    SELECT body_hash, response INTO found_hash, found_answer FROM partner_requests
     WHERE partner_id = p_partner AND operation = p_operation AND key = p_key;
    IF found_hash <> p_hash THEN
        PERFORM pc_refuse('idempotency_conflict',
                          jsonb_build_object('operation', p_operation, 'key', p_key));
    END IF;
    RETURN found_answer;
END $$;

CREATE FUNCTION pc_store_answer(p_partner uuid, p_operation text, p_key text, p_answer json)
RETURNS json LANGUAGE sql AS $$
    UPDATE partner_requests SET response = p_answer
     WHERE partner_id = p_partner AND operation = p_operation AND key = p_key;
    SELECT p_answer;
$$;

-- When the resident's valid consent to `purpose` was given; NULL if none is valid at p_now.
CREATE FUNCTION pc_consent_since(p_resident uuid, p_purpose text, p_now timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT given_at FROM consent_records
     WHERE resident_id = p_resident AND purpose = p_purpose AND status = 'active'
       AND (expires_at IS NULL OR expires_at > p_now)
     LIMIT 1;
$$;

-- NULL when the token is live, else why not: token_revoked (unknown subject, consent
-- withdrawn, or re-granted after the token was issued) or token_replayed.
CREATE FUNCTION pc_token_state(p_resident uuid, p_jti text, p_scn text, p_iat bigint,
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

CREATE FUNCTION pc_log_access(p_id uuid, p_resident uuid, p_now timestamptz, p_actor_id text,
                              p_actor_name text, p_action text, p_scenario text,
                              p_outcome text, p_learned json) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO access_log (id, resident_id, at, actor_kind, actor_id, actor_name, action,
                            scenario, outcome, learned)
    VALUES (p_id, p_resident, p_now, 'partner', p_actor_id, p_actor_name, p_action,
            p_scenario, p_outcome, p_learned);
$$;

-- Use the token up (its signature, times, audience and scenario were checked by the caller);
-- the resident's id. Refuses token_revoked / token_replayed.
CREATE FUNCTION pc_consume_token(p_jti text, p_sub text, p_scn text, p_iat bigint,
                                 p_exp timestamptz, p_ent json, p_partner uuid,
                                 p_client_id text, p_partner_name text, p_log_id uuid,
                                 p_now timestamptz) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    resident uuid;
    state text;
BEGIN
    SELECT resident_id INTO resident FROM partner_pseudonyms
     WHERE pseudonym = p_sub AND partner_id = p_partner;
    state := pc_token_state(resident, p_jti, p_scn, p_iat, p_now);
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
CREATE FUNCTION pc_introspect(p_jti text, p_sub text, p_scn text, p_iat bigint, p_ent json,
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
"""

DROP = """
DROP FUNCTION IF EXISTS pc_introspect(text, text, text, bigint, json, uuid, text, text, text,
                                      uuid, timestamptz);
DROP FUNCTION IF EXISTS pc_consume_token(text, text, text, bigint, timestamptz, json, uuid,
                                         text, text, uuid, timestamptz);
DROP FUNCTION IF EXISTS pc_log_access(uuid, uuid, timestamptz, text, text, text, text, text,
                                      json);
DROP FUNCTION IF EXISTS pc_token_state(uuid, text, text, bigint, timestamptz);
DROP FUNCTION IF EXISTS pc_consent_since(uuid, text, timestamptz);
DROP FUNCTION IF EXISTS pc_store_answer(uuid, text, text, json);
DROP FUNCTION IF EXISTS pc_claim_request(uuid, text, text, text, timestamptz, json);
DROP FUNCTION IF EXISTS pc_refuse(text, jsonb);
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute(DROP)
