-- Partner idempotency in SQL: the claim of a request key and its stored answer
-- (core.idempotency's rule, for the functions that run a whole partner write).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

-- p_answer: a caller that knows its answer before doing the work stores it with the claim (one
-- write instead of two); if the work is refused, the statement rolls the claim back with it.
CREATE OR REPLACE FUNCTION pc_claim_request(p_partner uuid, p_operation text, p_key text, p_hash text,
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

CREATE OR REPLACE FUNCTION pc_store_answer(p_partner uuid, p_operation text, p_key text, p_answer json)
RETURNS json LANGUAGE sql AS $$
    UPDATE partner_requests SET response = p_answer
     WHERE partner_id = p_partner AND operation = p_operation AND key = p_key;
    SELECT p_answer;
$$;
