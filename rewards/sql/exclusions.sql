-- The exclusions that apply to a resident now (rewards.exclusions).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

-- Exclusions (DESIGN §5.5): facts that bar a resident from a scenario whatever the score. The
-- one definition: `rewards.exclusions` reads it through func.pc_exclusions, and the
-- authorization above calls it.
CREATE OR REPLACE FUNCTION pc_exclusions(p_resident uuid, p_now timestamptz) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$  -- plpgsql: its plans are cached per session (a SQL function's
DECLARE                         -- are made anew on every call before PostgreSQL 18)
    found text[] := '{}';
BEGIN
    -- an active 失信被执行人 record still within its publicity period
    IF EXISTS (SELECT 1 FROM records
                WHERE resident_id = p_resident AND category = 'judicial'
                  AND type = 'dishonest_debtor' AND status = 'active'
                  AND (publicity_ends_at IS NULL OR publicity_ends_at > p_now)) THEN
        found := found || 'dishonest_debtor'::text;
    END IF;
    -- an unpaid 先诊后付 bill past its due date (whether or not the overdue job has run:
    -- paying it in full lifts the exclusion at once)
    IF EXISTS (SELECT 1 FROM credit_bills
                WHERE resident_id = p_resident AND status IN ('open', 'overdue')
                  AND due_at <= p_now) THEN
        found := found || 'overdue_bill'::text;
    END IF;
    RETURN found;
END $$;
