"""Earning rules as configuration, the points check, and the CSV statement (no database)."""

from __future__ import annotations

import copy
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rewards.points.earning import RULES_FILE, RulesInvalid, load_rules, parse_rules
from rewards.points.errors import InvalidPoints
from rewards.points.ledger import MAX_POINTS, check_points
from rewards.points.statements import (
    CSV_COLUMNS,
    PartnerName,
    Period,
    Statement,
    StatementLine,
    as_csv,
)

PACKAGED = json.loads(RULES_FILE.read_text(encoding="utf-8"))


def test_the_packaged_rules_earn_for_tiers_volunteering_and_blood_donation():
    rules = load_rules()
    assert [r.code for r in rules.rules] == ["monthly_tier", "volunteer_hours", "blood_donation"]
    assert rules.expiry == timedelta(days=730)
    volunteer = rules.rules[1]
    assert volunteer.points_for(3.5) == 35  # hours × 10, rounded down
    assert volunteer.points_for(60) == 500  # capped per record
    assert volunteer.points_for(None) == 0
    assert rules.rules[2].points_for(None) == 300
    assert rules.named("blood_donation") == {"zh": "无偿献血积分", "en": "Blood donation"}


def test_rules_can_be_replaced_by_json_text_or_a_file(tmp_path):
    spec = copy.deepcopy(PACKAGED)
    spec["expiry_days"] = 365
    assert load_rules(json.dumps(spec)).expiry == timedelta(days=365)
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    assert load_rules(str(path)).expiry == timedelta(days=365)


@pytest.mark.parametrize("change", [
    lambda s: s.update(expiry_days=0),
    lambda s: s.update(expiry_days="730"),
    lambda s: s["rules"][0]["points_by_tier"].update(excellent=-1),
    lambda s: s["rules"][1].update(type="no_such_type"),
    lambda s: s["rules"][2].update(category="religion"),
    lambda s: s["rules"][2].update(kind="lottery"),
    lambda s: s["rules"][2].update(points_per_record=2.5),
    lambda s: s["rules"][1].update(surprise=True),
    lambda s: s["rules"].append(dict(s["rules"][2])),
    lambda s: s.pop("rules"),
])
def test_a_wrong_rules_file_is_refused(change):
    spec = copy.deepcopy(PACKAGED)
    change(spec)
    with pytest.raises(RulesInvalid):
        parse_rules(spec)


@pytest.mark.parametrize("points", [0, -1, 1.0, 2.5, "3", True, None, MAX_POINTS + 1])
def test_points_must_be_a_positive_whole_number(points):
    with pytest.raises(InvalidPoints):
        check_points(points)


def test_whole_positive_points_pass():
    assert check_points(1) == 1 and check_points(MAX_POINTS) == MAX_POINTS


def test_the_csv_statement_opens_lists_and_closes():
    r, t1, t2, f = (uuid.uuid4() for _ in range(4))
    statement = Statement(
        PartnerName("ptn_shop", "Shop"),
        Period(datetime(2026, 10, 31, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC)),
        opening_balance=10,
        lines=[StatementLine(datetime(2026, 11, 2, tzinfo=UTC), "redemption", 8, "o-1", None,
                             r, None, "ps_x", t1),
               StatementLine(datetime(2026, 11, 3, tzinfo=UTC), "refund", -3, "o-1", "rf", r,
                             f, "ps_x", t2)])
    rows = list(csv.reader(io.StringIO(as_csv(statement))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[1] for r in rows[1:]] == ["opening_balance", "redemption", "refund",
                                        "closing_balance"]
    assert sum(int(r[2]) for r in rows[1:-1]) == int(rows[-1][2])
    assert rows[2][4] == ""  # a missing value is an empty cell, not "None"
    assert rows[1][0] == "2026-10-31T16:00:00Z" and rows[2][0] == "2026-11-02T00:00:00Z"
    assert rows[2][5] == str(r) and int(rows[-1][2]) == 15
