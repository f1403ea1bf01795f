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

-- The exclusions scenario p_scn names: those of the operators' definition (scenario_settings,
-- which replaces the shipped one as a whole: rewards.scenarios.catalogue) when there is one,
-- else p_default — the shipped catalogue's, which only Python reads (rewards.tokens passes
-- them).
CREATE OR REPLACE FUNCTION pc_scenario_exclusions(p_scn text, p_default text[]) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    spec json;
BEGIN
    SELECT s.spec INTO spec FROM scenario_settings s WHERE s.code = p_scn;
    IF spec IS NULL THEN
        RETURN coalesce(p_default, '{}');
    END IF;
    RETURN ARRAY(SELECT json_array_elements_text(spec -> 'exclusions'));
END $$;

-- The eligibility overrides a human review granted that are in force for the resident at p_now
-- (rights.reviews): the one definition of "in force"; rewards.entitlements reads it through
-- func.pc_overrides_in_force, and pc_scenario_excluded below uses it.
CREATE OR REPLACE FUNCTION pc_overrides_in_force(p_resident uuid, p_now timestamptz)
RETURNS SETOF eligibility_overrides
LANGUAGE sql STABLE AS $$
    SELECT * FROM eligibility_overrides o
     WHERE o.resident_id = p_resident AND o.granted_at <= p_now AND o.ends_at > p_now
$$;

-- Whether one of p_exclusions applies to the resident now (pc_exclusions) and no human
-- review's eligibility override for the scenario is in force (rights.reviews; honoured by
-- rewards.entitlements when a token is issued): a token of the scenario is then not usable.
CREATE OR REPLACE FUNCTION pc_scenario_excluded(p_resident uuid, p_scn text, p_exclusions text[],
                                                p_now timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF cardinality(p_exclusions) = 0 OR NOT (pc_exclusions(p_resident, p_now) && p_exclusions) THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM pc_overrides_in_force(p_resident, p_now) o
                        WHERE o.scenario = p_scn);
END $$;
