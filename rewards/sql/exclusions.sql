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
    -- a 失信被执行人 record still within its publicity period, active or under a dispute not
    -- past its deadline (a disputed record counts until decided or its deadline passes)
    IF EXISTS (SELECT 1 FROM records r
                WHERE r.resident_id = p_resident AND r.category = 'judicial'
                  AND r.type = 'dishonest_debtor'
                  AND (r.status = 'active'
                       OR (r.status = 'disputed'
                           AND EXISTS (SELECT 1 FROM disputes d
                                        WHERE d.record_id = r.id AND d.status = 'open'
                                          AND d.due_at > p_now)))
                  AND (r.publicity_ends_at IS NULL OR r.publicity_ends_at > p_now)) THEN
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
