-- The resident's access log, written by the partner functions (rewards.access).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

CREATE OR REPLACE FUNCTION pc_log_access(p_id uuid, p_resident uuid, p_now timestamptz, p_actor_id text,
                                         p_actor_name text, p_action text, p_scenario text,
                                         p_outcome text, p_learned json) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO access_log (id, resident_id, at, actor_kind, actor_id, actor_name, action,
                            scenario, outcome, learned)
    VALUES (p_id, p_resident, p_now, 'partner', p_actor_id, p_actor_name, p_action,
            p_scenario, p_outcome, p_learned);
$$;
