-- Points past their expiry (rewards.points.expiry; a redemption expires them first).
--
-- Installed by app.migrate after every upgrade (CREATE OR REPLACE, in the order of
-- app.migrate.SQL_FILES); this file is the one definition: change a function here, never in a
-- migration (a changed signature or return type: the migration drops the old function).

-- Points of the account past their expiry that are not yet moved to `expiry` (not spendable).
CREATE OR REPLACE FUNCTION pc_points_due(p_account uuid, p_now timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(remaining), 0)::bigint FROM points_lots
     WHERE account_id = p_account AND expires_at <= p_now AND remaining > 0;
$$;

-- Expire the account's due lots: what remains of each moves to the `expiry` account in a
-- transfer keyed expire:<lot> (once per lot). Takes the account's row lock first (a redemption
-- holds it already; lock order: account, then lots). The points expired.
-- Refuses insufficient_points (reason unexpired) when the caller's transaction has already
-- taken more than the unexpired points: it must roll back.
CREATE OR REPLACE FUNCTION pc_points_expire(p_account uuid, p_now timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    sink uuid;
    lot record;
    transfer uuid;
BEGIN
    PERFORM 1 FROM points_accounts WHERE id = p_account FOR NO KEY UPDATE;
    total := pc_points_due(p_account, p_now);
    IF total = 0 THEN
        RETURN 0;
    END IF;
    UPDATE points_accounts SET balance = balance - total
     WHERE id = p_account AND balance >= total;
    IF NOT FOUND THEN
        PERFORM pc_refuse('insufficient_points', '{"reason": "unexpired"}');
    END IF;
    sink := pc_points_account('expiry', 'expiry', NULL, NULL, p_now);
    FOR lot IN SELECT id, remaining FROM points_lots
                WHERE account_id = p_account AND expires_at <= p_now AND remaining > 0
                ORDER BY expires_at, id LOOP
        UPDATE points_lots SET remaining = 0, expired = expired + lot.remaining
         WHERE id = lot.id;
        transfer := gen_random_uuid();
        INSERT INTO points_transfers (id, key, kind, at, rule, reference, reverses_id)
        VALUES (transfer, 'expire:' || replace(lot.id::text, '-', ''), 'expire', p_now, NULL,
                replace(lot.id::text, '-', ''), NULL);
        INSERT INTO points_legs (transfer_id, account_id, amount)
        VALUES (transfer, p_account, -lot.remaining), (transfer, sink, lot.remaining);
    END LOOP;
    RETURN total;
END $$;
