-- Consent validity (consent.gate) and a consent's last use (consent.services).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

-- Whether a consent record (its status and expiry) is valid at p_now: the one statement of
-- consent validity. A plain expression, so PostgreSQL inlines it where it is called on a
-- table's rows (consent.gate asks it of a whole chunk of residents in one scan).
CREATE OR REPLACE FUNCTION pc_consent_valid(p_status text, p_expires_at timestamptz,
                                            p_now timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT p_status = 'active' AND (p_expires_at IS NULL OR p_expires_at > p_now)
$$;

-- When the resident's valid consent to `purpose` was given; NULL if none is valid at p_now.
CREATE OR REPLACE FUNCTION pc_consent_since(p_resident uuid, p_purpose text, p_now timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT given_at FROM consent_records
     WHERE resident_id = p_resident AND purpose = p_purpose AND status = 'active'
       AND pc_consent_valid(status, expires_at, p_now)
     LIMIT 1;
$$;

-- When a token that relied on the resident's consent `p_purpose` was last used (its `now`, as
-- in the access log); NULL if never. Every token relies on the consent to its scenario
-- ('scenario:<code>') and on the consent to scoring. A withdrawal that holds the consent row
-- takes effect no earlier than this (consent.services).
CREATE OR REPLACE FUNCTION pc_consent_last_use(p_resident uuid, p_purpose text)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT max(consumed_at) FROM consumed_tokens
     WHERE resident_id = p_resident
       AND (p_purpose = 'scoring' OR p_purpose = 'scenario:' || scenario);
$$;
