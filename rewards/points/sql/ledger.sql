-- Points accounts (rewards.points.ledger).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

-- The id of the points account `p_code`, created on first use. A concurrent creator's insert
-- makes this one wait; if that one commits, this one inserts nothing and reads its row.
CREATE OR REPLACE FUNCTION pc_points_account(p_code text, p_kind text, p_resident uuid, p_partner uuid,
                                             p_now timestamptz) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    found_id uuid;
BEGIN
    SELECT id INTO found_id FROM points_accounts WHERE code = p_code;
    IF found_id IS NULL THEN
        INSERT INTO points_accounts (id, code, kind, resident_id, partner_id, balance,
                                     created_at)
        VALUES (gen_random_uuid(), p_code, p_kind, p_resident, p_partner,
                CASE WHEN p_kind = 'resident' THEN 0 END, p_now)
        ON CONFLICT DO NOTHING
        RETURNING id INTO found_id;
        IF found_id IS NULL THEN
            SELECT id INTO found_id FROM points_accounts WHERE code = p_code;
        END IF;
    END IF;
    RETURN found_id;
END $$;
