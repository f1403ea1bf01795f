"""`pc_exclusions` (every token issue, introspection and partner write) finds a resident's
失信被执行人 record without reading their other records (migration 0033's partial index): its
cost does not grow with how many records the resident holds. Read from PostgreSQL's own
counters of the transaction (`pg_stat_xact_user_tables`): the heap tuples it fetched and the
rows it scanned in `records`."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.runtime import runtime
from core.sessions import resident_for_session
from tests.support.tokens import World, push, rec

pytestmark = pytest.mark.services

READ = text("SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0)"
            " FROM pg_stat_xact_user_tables WHERE relname = 'records'")
MANY = 600  # other records of the resident, on top of the three years World gives them


@pytest.fixture
def world(app, client, idp) -> World:
    return World(app, client, idp)


def looked_up(app: Any, token: str) -> tuple[set[str], int, int]:
    """(the exclusions found, records rows read while finding them, the resident's records)."""
    with app.app_context(), runtime().uow() as uow:
        now = runtime().clock.now()
        resident = resident_for_session(uow.session, token, now)
        held = uow.session.scalar(text("SELECT count(*) FROM records WHERE resident_id = :r"),
                                  {"r": resident.id})
        before = uow.session.scalar(READ)
        found = uow.session.execute(select(func.pc_exclusions(resident.id, now))).scalar_one()
        read = uow.session.scalar(READ) - before
    return set(found or ()), int(read), int(held)


def test_the_dishonest_debtor_check_reads_none_of_the_residents_other_records(world, app,
                                                                              client):
    push(client, world.source_key, [
        rec(7, f"x{i}", "utilities", "payment_on_time", f"2025-{i % 12 + 1:02d}-05T00:00:00Z",
            amount_fen=100) for i in range(MANY)])
    found, read, held = looked_up(app, world.resident)
    assert found == set() and held > MANY
    assert read == 0, f"read {read} of the resident's {held} records"

    push(client, world.source_key, [rec(7, "dd1", "judicial", "dishonest_debtor",
                                        "2026-10-01T00:00:00Z", severity="serious")])
    found, read, held = looked_up(app, world.resident)
    assert found == {"dishonest_debtor"}
    assert read == 1, f"read {read} of the resident's {held} records"
