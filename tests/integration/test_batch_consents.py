"""The batch's consent check (`scoring.batch.scoring_consents`, one statement per chunk) gives
the gate's answer (`consent.gate.scoring_categories_many`, which asks `pc_consent_since` about
each resident) on every state a resident's consent records can be in: the gate's own cases,
so a case added there is checked here too."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from consent import gate
from consent.models import ConsentRecord
from consent.notices import current
from scoring import batch
from tests.integration.test_consent_validity_one_rule import CASES, NOW, _arrange
from tests.support.factories import T0

pytestmark = pytest.mark.services


def test_the_batch_and_the_gate_agree_on_every_state_of_a_residents_consent_records(uow):
    session = uow.session
    arranged = [(_arrange(session, 300 + n, records)[0], valid)
                for n, (records, valid) in enumerate(CASES)]
    ids = [rid for rid, _ in arranged]
    for when in (NOW, T0, NOW + timedelta(days=1), NOW - timedelta(days=1)):
        ours = batch.scoring_consents(session, ids, when)
        assert ours == gate.scoring_categories_many(session, ids, when)
        for rid in ids:  # and one resident at a time, as the single path asks
            assert ours.get(rid) == gate.scoring_categories(session, rid, when)
    assert {rid for rid, valid in arranged if valid} == set(
        batch.scoring_consents(session, ids, NOW))
    assert batch.scoring_consents(session, [], NOW) == {}


def test_only_the_scoring_consent_counts_and_each_resident_gets_their_own_categories(uow):
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
    ids = [first, second, third, uuid.uuid4()]
    found = batch.scoring_consents(session, ids, NOW)
    assert found == {first: frozenset({"tax", "traffic"}), second: frozenset({"rental"})}
    assert found == gate.scoring_categories_many(session, ids, NOW)
