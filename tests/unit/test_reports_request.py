"""What a resident may ask a report to contain (reports/build.py), checked without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.build import (
    NO_VIOLATION_DEFAULT,
    RECORD_CATEGORIES,
    SECTIONS,
    ReportRequest,
    parse_request,
)
from reports.errors import ReportInvalid

NOW = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)  # 2 November in Shenzhen


def test_a_credit_report_defaults_to_records_and_commendations_and_the_normal_categories():
    """Minimal disclosure (DESIGN §2.3): the score and the sensitive section only when chosen."""
    wanted = parse_request("credit_report", sections=None, categories=None, period=None,
                           now=NOW)

    assert wanted.sections == ("records", "commendations")
    assert set(SECTIONS) - set(wanted.sections) == {"score", "scenario_performance"}
    assert wanted.categories == RECORD_CATEGORIES
    assert "scenario_performance" not in wanted.categories
    assert wanted.end == date(2026, 11, 2)  # today in China Standard Time
    assert wanted.start == date(2023, 11, 3)  # three years, both ends included


def test_sections_come_back_in_report_order_whatever_order_they_were_chosen_in():
    wanted = parse_request("credit_report", sections=["commendations", "score"],
                           categories=None, period=None, now=NOW)

    assert wanted.sections == ("score", "commendations") and wanted.categories == ()


def test_a_certificate_covers_the_violation_categories_by_default():
    wanted = parse_request("no_violation", sections=None, categories=None, period=None, now=NOW)

    assert wanted.sections == ("no_violation",) and wanted.categories == NO_VIOLATION_DEFAULT


def test_a_period_ending_on_29_february_defaults_to_three_years():
    wanted = parse_request("no_violation", sections=None, categories=None,
                           period={"from": None, "to": date(2024, 2, 29)}, now=NOW)

    assert (wanted.start, wanted.end) == (date(2021, 3, 1), date(2024, 2, 29))


@pytest.mark.parametrize("kwargs, field", [
    ({"kind": "payslip"}, "kind"),
    ({"kind": "credit_report", "sections": ["everything"]}, "sections"),
    ({"kind": "credit_report", "sections": ["score"], "categories": ["tax"]}, "categories"),
    ({"kind": "credit_report", "sections": ["records"], "categories": []}, "categories"),
    ({"kind": "credit_report", "sections": ["records"], "categories": ["tax", "tax"]},
     "categories"),
    ({"kind": "no_violation", "categories": ["volunteer"]}, "categories"),
    ({"kind": "no_violation", "period": {"from": date(2026, 1, 1), "to": date(2026, 11, 3)}},
     "period.to"),
    ({"kind": "no_violation", "lang": "de"}, "lang"),
])
def test_impossible_requests_name_the_field(kwargs, field):
    args = {"sections": None, "categories": None, "period": None, **kwargs}
    kind = args.pop("kind")

    with pytest.raises(ReportInvalid) as caught:
        parse_request(kind, now=NOW, **args)

    assert caught.value.status == 422
    assert caught.value.extra["errors"][0]["field"] == field


@given(st.dates(min_value=date(1980, 1, 1), max_value=date(2030, 1, 1)),
       st.dates(min_value=date(1980, 1, 1), max_value=date(2030, 1, 1)))
def test_any_period_is_accepted_exactly_when_it_is_sane(start, end):
    try:
        wanted = parse_request("no_violation", sections=None, categories=None,
                               period={"from": start, "to": end}, now=NOW)
    except ReportInvalid:
        assert (start > end or end > date(2026, 11, 2) or start < date(1990, 1, 1)
                or (end - start).days > 3660)
    else:
        assert isinstance(wanted, ReportRequest)
        assert date(1990, 1, 1) <= wanted.start <= wanted.end <= date(2026, 11, 2)
        assert wanted.options()["period"] == {"from": start.isoformat(), "to": end.isoformat()}
