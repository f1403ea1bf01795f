-- A refusal: SQLSTATE PC400, the stable code as the message, its fields as JSON in DETAIL
-- (core.pgcall turns it into the caller's domain error).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

CREATE OR REPLACE FUNCTION pc_refuse(p_code text, p_extra jsonb DEFAULT '{}') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PC400', MESSAGE = p_code, DETAIL = p_extra::text;
END $$;
