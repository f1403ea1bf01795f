"""The operator queues (`rights.queues`) called directly on the database: what `/admin/v1` and
`pengcheng disputes|repairs|reviews` both go through."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.identity import Resident, create_operator
from rewards.models import AccessEntry
from rights.disputes import mine, open_dispute
from rights.errors import AlreadyDecided, DisputeNotFound
from rights.queues import QUEUES
from tests.support.disputes import arrange
from tests.support.factories import T0

LATER = T0 + timedelta(hours=1)


def _opened(app, uow):
    resident_id, record_id = arrange(app)
    resident = uow.session.get(Resident, resident_id)
    dispute = open_dispute(uow, resident, record_id=record_id, reason="不是我", evidence=None,
                           now=T0, days=15)
    operator, _key = create_operator(uow.session, name="op-reviewer", role="reviewer", now=T0)
    uow.commit()
    return resident_id, dispute.id, operator


def test_the_queue_lists_an_open_dispute_without_its_reason(app, uow):
    _resident_id, dispute_id, _operator = _opened(app, uow)
    lines = QUEUES["disputes"].items(uow, status=None, limit=10, now=LATER)
    assert [line["id"] for line in lines] == [str(dispute_id)]
    assert "reason" not in lines[0] and lines[0]["category"] == "scenario_performance"
    assert QUEUES["disputes"].items(uow, status="resolved", limit=10, now=LATER) == []


def test_deciding_through_the_queue_answers_what_the_resident_then_sees(app, uow):
    resident_id, dispute_id, operator = _opened(app, uow)
    answer = QUEUES["disputes"].decide(uow, dispute_id, operator=operator, now=LATER,
                                       outcome="upheld", note="已核实", correction=None)
    assert answer.status == "resolved" and answer.outcome == "upheld"
    assert mine(uow, resident_id, now=LATER) == [answer]
    with pytest.raises(AlreadyDecided):
        QUEUES["disputes"].decide(uow, dispute_id, operator=operator, now=LATER,
                                  outcome="removed", note="再次", correction=None)


def test_opening_an_item_is_in_the_residents_access_log(app, uow):
    resident_id, dispute_id, operator = _opened(app, uow)
    detail = QUEUES["disputes"].read(uow, dispute_id, operator=operator, now=LATER)
    assert detail.resident_id == str(resident_id) and detail.record is not None
    actions = list(uow.session.scalars(select(AccessEntry.action)
                                       .where(AccessEntry.resident_id == resident_id)))
    assert "dispute_read" in actions


def test_an_unknown_item_is_refused_as_not_found(app, uow):
    _resident_id, _dispute_id, operator = _opened(app, uow)
    with pytest.raises(DisputeNotFound):
        QUEUES["disputes"].read(uow, _resident_id, operator=operator, now=LATER)
