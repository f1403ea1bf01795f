"""The configurable terms and the small pure rules of 先诊后付 and deposit waivers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.errors import InvalidInput
from rewards.credit.errors import InvalidAmount
from rewards.credit.services import _amount, yuan
from rewards.credit.terms import Terms, from_config
from rewards.scenarios import defaults
from rewards.waivers.services import is_waiver_scenario


def test_unset_terms_use_the_documented_defaults():
    terms = from_config({})
    assert terms == Terms()
    assert (terms.hold_ttl, terms.due, terms.remind, terms.grace) == (
        timedelta(hours=24), timedelta(days=7), timedelta(days=2), timedelta(days=7))


def test_terms_come_from_config_including_environment_strings():
    terms = from_config({"MEDICAL_CREDIT_DUE_DAYS": "3", "MEDICAL_CREDIT_HOLD_HOURS": 4,
                         "DEPOSIT_WAIVER_GRACE_DAYS": 0})
    assert (terms.due_days, terms.hold_hours, terms.waiver_grace_days) == (3, 4, 0)


@pytest.mark.parametrize("key, value", [("MEDICAL_CREDIT_DUE_DAYS", 0),
                                        ("MEDICAL_CREDIT_DUE_DAYS", "soon"),
                                        ("MEDICAL_CREDIT_HOLD_HOURS", 24 * 31),
                                        ("MEDICAL_CREDIT_GRACE_DAYS", -1)])
def test_out_of_range_terms_are_refused_by_name(key, value):
    with pytest.raises(InvalidInput, match=key):
        from_config({key: value})


@pytest.mark.parametrize("value", [0, -1, True, 1.0, "100", None, 10**12])
def test_amounts_are_positive_integers_of_fen(value):
    with pytest.raises(InvalidAmount):
        _amount(value)


def test_amounts_print_as_yuan_with_two_decimals():
    assert [yuan(v) for v in (0, 5, 1234, 200000)] == ["0.00", "0.05", "12.34", "2000.00"]


def test_every_shipped_deposit_scenario_is_a_waiver_scenario_and_medical_credit_is_not():
    shipped = defaults()
    waivers = {code for code, s in shipped.items() if is_waiver_scenario(s)}
    assert waivers == {code for code, s in shipped.items() if s.domain == "deposit_waiver"}
    assert "deposit_waiver_bike" in waivers and "medical_credit" not in waivers
