"""What a fault left in the database, read straight from the private cluster with SQL (no
tests here).

* `Database`: the verdicts: every acknowledged write present and whole, the points ledger
  balanced, no credit line overspent.
* `stored_exactly` and `settled`: those verdicts over one load (`tests.faults.support.Writes`),
  before and after retrying every interrupted write with its own `out_*_no`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.db import make_engine
from tests.faults.support import ANSWER_PATHS, AUTHORIZE, REDEEM, Writes


class Database:
    """Read-only SQL on the private cluster (what the service stored, not what it answered)."""

    def __init__(self, url: str) -> None:
        self.url, self.engine = url, make_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def value(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def redemptions(self) -> dict[str, Any]:
        """out_order_no -> (id, points) of every stored redemption."""
        return {r.out_order_no: r for r in self.rows(
            "SELECT id::text AS id, out_order_no, points FROM points_redemptions")}

    def holds(self) -> dict[str, Any]:
        """out_request_no -> (id, amount_fen, status) of every stored hold."""
        return {r.out_request_no: r for r in self.rows(
            "SELECT id::text AS id, out_request_no, amount_fen, status FROM credit_holds")}

    def half_applied_redemptions(self) -> list[Any]:
        """Redemptions without their whole transfer: two legs (resident −n, clearing +n), draws
        adding up to n, and the stored partner answer naming them."""
        return self.rows("""
            SELECT r.out_order_no FROM points_redemptions r
            JOIN points_transfers t ON t.id = r.transfer_id
            WHERE t.kind <> 'redeem'
               OR (SELECT count(*) FROM points_legs l WHERE l.transfer_id = t.id) <> 2
               OR NOT EXISTS (SELECT 1 FROM points_legs l WHERE l.transfer_id = t.id
                              AND l.account_id = r.account_id AND l.amount = -r.points)
               OR NOT EXISTS (SELECT 1 FROM points_legs l JOIN points_accounts a
                              ON a.id = l.account_id WHERE l.transfer_id = t.id
                              AND a.kind = 'clearing' AND a.partner_id = r.partner_id
                              AND l.amount = r.points)
               OR (SELECT coalesce(sum(d.points), 0) FROM points_draws d
                   WHERE d.redemption_id = r.id) <> r.points
               OR NOT EXISTS (SELECT 1 FROM partner_requests q
                              WHERE q.partner_id = r.partner_id AND q.operation = 'points.redeem'
                              AND q.key = r.out_order_no
                              AND q.response->>'redemption_id' = r.id::text)
            UNION ALL
            SELECT t.key FROM points_transfers t WHERE t.kind = 'redeem'
               AND NOT EXISTS (SELECT 1 FROM points_redemptions r WHERE r.transfer_id = t.id)
        """)

    def count(self, table: str) -> int:
        return int(self.value(f"SELECT count(*) FROM {table}"))

    def reconcile(self) -> Any:
        """The points ledger's own audit (`rewards.points.ledger.reconcile`)."""
        import app.models  # noqa: F401  (every table, for the foreign keys)
        from rewards.points.ledger import reconcile

        with Session(self.engine) as session:
            return reconcile(session)

    def unanswered_claims(self) -> int:
        """Idempotency claims committed without their answer (a write half done)."""
        return int(self.value("SELECT count(*) FROM partner_requests WHERE response IS NULL"))

    def ledger(self) -> dict[str, int]:
        """The points ledger's invariants as counts that must all be 0."""
        return {
            "legs_total": int(self.value("SELECT coalesce(sum(amount), 0) FROM points_legs")),
            "unbalanced_transfers": int(self.value("""
                SELECT count(*) FROM points_transfers t WHERE
                (SELECT coalesce(sum(amount), 0) FROM points_legs l WHERE l.transfer_id = t.id)
                <> 0 OR (SELECT count(*) FROM points_legs l WHERE l.transfer_id = t.id) < 2""")),
            "balances_off_legs": int(self.value("""
                SELECT count(*) FROM points_accounts a WHERE a.kind = 'resident' AND a.balance
                <> (SELECT coalesce(sum(amount), 0) FROM points_legs l
                    WHERE l.account_id = a.id)""")),
            "balances_off_lots": int(self.value("""
                SELECT count(*) FROM points_accounts a WHERE a.kind = 'resident' AND a.balance
                <> (SELECT coalesce(sum(remaining), 0) FROM points_lots o
                    WHERE o.account_id = a.id)""")),
            "negative_balances": int(self.value(
                "SELECT count(*) FROM points_accounts WHERE kind = 'resident' AND balance < 0")),
        }

    def balance(self) -> int:
        """The (only) resident's spendable points."""
        return int(self.value("SELECT balance FROM points_accounts WHERE kind = 'resident'"))

    def credit_lines(self) -> dict[str, int]:
        """Credit invariants as counts that must all be 0: held+owed within the line, held =
        the open holds, owed = the unpaid bills."""
        return {
            "overspent": int(self.value(
                "SELECT count(*) FROM credit_accounts WHERE held_fen + owed_fen > line_fen")),
            "held_off_holds": int(self.value("""
                SELECT count(*) FROM credit_accounts a WHERE a.held_fen <>
                (SELECT coalesce(sum(amount_fen), 0) FROM credit_holds h
                 WHERE h.resident_id = a.resident_id AND h.status = 'held')""")),
            "owed_off_bills": int(self.value("""
                SELECT count(*) FROM credit_accounts a WHERE a.owed_fen <>
                (SELECT coalesce(sum(amount_fen - paid_fen), 0) FROM credit_bills b
                 WHERE b.resident_id = a.resident_id AND b.status <> 'paid')""")),
            "holds_without_answer": int(self.value("""
                SELECT count(*) FROM credit_holds h WHERE NOT EXISTS (
                  SELECT 1 FROM partner_requests q WHERE q.partner_id = h.partner_id
                  AND q.operation = 'medical_credit.authorize' AND q.key = h.out_request_no
                  AND q.response->>'authorization_id' = h.id::text)""")),
        }

    def credit_account(self) -> tuple[int, int, int]:
        """(line, held, owed) of the (only) resident."""
        row = self.rows("SELECT line_fen, held_fen, owed_fen FROM credit_accounts")
        assert len(row) == 1, row
        return int(row[0][0]), int(row[0][1]), int(row[0][2])


def stored_exactly(db: Database, writes: Writes, keys: dict[str, set[str]], *,
                   awarded: int) -> None:
    """The database holds the writes named by `keys` (path -> out_*_no), each once, and every
    acknowledged answer names the row stored for its key; nothing is half applied; the points
    ledger reconciles (`awarded` points, one spent per redemption); no credit line overspent."""
    stored = {REDEEM: db.redemptions(), AUTHORIZE: db.holds()}
    assert db.count("points_redemptions") == len(stored[REDEEM])  # one merchant: each key once
    assert db.count("credit_holds") == len(stored[AUTHORIZE])  # one hospital: each key once
    for path, expected in keys.items():
        assert set(stored[path]) == expected, (path, set(stored[path]) ^ expected)
    for w in writes.acknowledged():
        row = stored[w.path][w.key]
        assert row.id == w.id, (w.key, row, w.answer)
    assert all(r.points == 1 for r in stored[REDEEM].values())
    assert all(h.status == "held" and h.amount_fen == writes.hold_fen
               for h in stored[AUTHORIZE].values())
    assert db.half_applied_redemptions() == []
    assert db.unanswered_claims() == 0
    assert db.ledger() == dict.fromkeys(db.ledger(), 0)
    reconciled = db.reconcile()
    assert reconciled.ok, reconciled
    assert db.balance() == awarded - len(stored[REDEEM])  # each redemption debited once
    assert db.credit_lines() == dict.fromkeys(db.credit_lines(), 0)
    line, held, owed = db.credit_account()
    assert held == writes.hold_fen * len(stored[AUTHORIZE]) and owed == 0
    assert held + owed <= line


def settled(db: Database, writes: Writes, port: int, *, awarded: int) -> dict[str, int]:
    """After a load (stopped) met a fault: the database holds every acknowledged write and
    those interrupted writes that committed, each once and whole (`stored_exactly`). Then each
    interrupted write is retried on `port` with its own `out_*_no` and token: 201, naming the
    stored row if it had committed, else written once. Sending the interrupted writes and 20
    acknowledged ones once more gives the same answers and writes nothing. The counts."""
    interrupted = writes.interrupted()
    acknowledged = {path: {w.key for w in writes.acknowledged(path)} for path in ANSWER_PATHS}
    stored = {REDEEM: set(db.redemptions()), AUTHORIZE: set(db.holds())}
    committed_unanswered = {w.key for w in interrupted if w.key in stored[w.path]}
    stored_exactly(db, writes, {
        path: acknowledged[path] | (stored[path] & committed_unanswered)
        for path in ANSWER_PATHS}, awarded=awarded)

    before = {REDEEM: db.redemptions(), AUTHORIZE: db.holds()}
    for w in interrupted:
        w.send(port)
        assert w.status == 201, (w.key, w.status, w.answer)
        if w.key in before[w.path]:
            assert w.id == before[w.path][w.key].id, (w.key, w.answer)
    keys = {path: acknowledged[path] | {w.key for w in interrupted if w.path == path}
            for path in ANSWER_PATHS}
    stored_exactly(db, writes, keys, awarded=awarded)
    for w in interrupted + writes.acknowledged()[:20]:  # and again: the same answer, no write
        answer = w.answer
        assert w.send(port).status == 201 and w.answer == answer, (w.key, w.status, w.answer)
    stored_exactly(db, writes, keys, awarded=awarded)
    return {"acknowledged": sum(map(len, acknowledged.values())), "interrupted": len(interrupted),
            "committed_but_unanswered": len(committed_unanswered)}
