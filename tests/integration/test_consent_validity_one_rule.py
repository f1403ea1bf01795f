"""Consent validity is one rule: the gate reads PostgreSQL's `pc_consent_since`.

The token functions decide liveness with `pc_consent_since` in SQL; `consent.gate` (scoring,
token issuance, the use cases' "is this record still valid?") must give the same answer. These
tests fail if the gate grows a rule of its own (it would no longer call the function) or if its
answer and the function's could differ on any state a consent record can be in.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql

from app.runtime import runtime
from consent import gate
from consent.models import ConsentRecord
from consent.notices import current
from core.identity import Person, create_resident
from tests.support.factories import T0, id_number

pytestmark = pytest.mark.services

NOW = T0 + timedelta(days=10)
ACTIVE_FOREVER = ("active", None)
ACTIVE_LATER = ("active", NOW + timedelta(seconds=1))
ACTIVE_ENDS_NOW = ("active", NOW)
ACTIVE_PAST = ("active", NOW - timedelta(days=1))
WITHDRAWN = ("withdrawn", None)
EXPIRED = ("expired", NOW - timedelta(days=1))

# Each case: the records one resident holds for `scoring`, oldest first (all given at T0, so
# a withdrawn record and its successor share `given_at`), and whether a consent is valid NOW.
CASES: list[tuple[tuple[tuple[str, datetime | None], ...], bool]] = [
    ((), False),
    ((ACTIVE_FOREVER,), True),
    ((ACTIVE_LATER,), True),
    ((ACTIVE_ENDS_NOW,), False),
    ((ACTIVE_PAST,), False),
    ((WITHDRAWN,), False),
    ((EXPIRED,), False),
    ((WITHDRAWN, ACTIVE_FOREVER), True),
    ((EXPIRED, ACTIVE_PAST), False),
    ((WITHDRAWN, EXPIRED, ACTIVE_LATER), True),
]


def _arrange(session: Any, number: int, records: tuple[tuple[str, datetime | None], ...]
             ) -> tuple[uuid.UUID, list[ConsentRecord]]:
    resident = create_resident(session, runtime().keyring,
                               Person("张三", id_number(number), None), now=T0)
    notice = current(session, gate.SCORING)
    assert notice is not None
    held = []
    for status, expires_at in records:
        record = ConsentRecord(
            id=uuid.uuid4(), resident_id=resident.id, purpose=gate.SCORING,
            notice_id=notice.id, categories=["tax"], separate_consent=False, status=status,
            given_at=T0, expires_at=expires_at,
            ended_at=None if status == "active" else T0)
        session.add(record)
        session.flush()
        held.append(record)
    return resident.id, held


def test_the_gate_states_no_validity_rule_of_its_own():
    """It hands the record's status and expiry to `pc_consent_valid` and compares neither
    itself; `pc_consent_since` (token liveness) asks the same function."""
    for statement in (gate._VALID, _many_statement()):
        sql = str(statement.compile(dialect=postgresql.dialect()))
        assert "pc_consent_valid(consent_records.status, consent_records.expires_at," in sql
        assert "expires_at >" not in sql and "expires_at IS" not in sql, sql
    with open(Path(gate.__file__).parent / "sql" / "consent.sql", encoding="utf-8") as f:
        since = f.read().split("FUNCTION pc_consent_since")[1].split("$$;")[0]
    assert "pc_consent_valid(status, expires_at, p_now)" in since
    assert "expires_at >" not in since


def _many_statement() -> Any:
    """The statement `scoring_categories_many` sends (the batch's consent check)."""
    sent: list[Any] = []

    class Recorder:
        def execute(self, statement: Any) -> list[Any]:
            sent.append(statement)
            return []

    gate.scoring_categories_many(Recorder(), [uuid.uuid4()], NOW)  # type: ignore[arg-type]
    return sent[0]


def test_the_gate_and_pc_consent_since_agree_on_every_state_of_a_record(uow):
    session = uow.session
    arranged = [(_arrange(session, 100 + n, records), valid)
                for n, (records, valid) in enumerate(CASES)]
    many = gate.scoring_categories_many(session, [rid for (rid, _), _ in arranged], NOW)
    for (resident_id, held), valid in arranged:
        in_sql = session.scalar(select(func.pc_consent_since(resident_id, gate.SCORING, NOW)))
        assert (in_sql is not None) is valid
        assert gate.consent_since(session, resident_id, gate.SCORING, NOW) == in_sql
        assert gate.may_use(session, resident_id, gate.SCORING, NOW) is valid
        assert gate.may_use(session, resident_id, gate.SCORING, NOW, "tax") is valid
        assert (gate.scoring_categories(session, resident_id, NOW) is not None) is valid
        assert (resident_id in many) is valid
        assert [gate.is_valid(session, r, NOW) for r in held] == [
            valid and r.status == "active" for r in held]


def test_only_the_scoring_consent_counts_and_each_resident_gets_their_own_categories(uow):
    """The chunk's check (`scoring_categories_many`): a consent to another purpose is not one
    to scoring, and each resident gets their own categories; an unknown id is absent."""
    session = uow.session
    first, second, third = (_arrange(session, 400 + n, ())[0] for n in range(3))
    scoring, scenario = current(session, gate.SCORING), current(session, "scenario:medical_credit")
    assert scoring is not None and scenario is not None
    for rid, notice, categories in ((first, scoring, ["tax", "traffic"]),
                                    (second, scoring, ["rental"]),
                                    (second, scenario, ["tax"]), (third, scenario, ["tax"])):
        session.add(ConsentRecord(
            id=uuid.uuid4(), resident_id=rid, purpose=notice.purpose, notice_id=notice.id,
            categories=categories, separate_consent=False, status="active", given_at=T0))
    session.flush()
    found = gate.scoring_categories_many(session, [first, second, third, uuid.uuid4()], NOW)
    assert found == {first: frozenset({"tax", "traffic"}), second: frozenset({"rental"})}
    assert gate.scoring_categories_many(session, [], NOW) == {}
