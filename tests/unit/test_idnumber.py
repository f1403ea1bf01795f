"""GB 11643-1999 resident ID numbers: checksum, shape, birth date, masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.idnumber import birth_date, check_digit, is_valid, make, mask, normalize

# Published examples: the GB 11643 worked example and commonly cited valid numbers.
KNOWN_VALID = ["11010519491231002X", "440524188001010014", "110101199003074477"]


@pytest.mark.parametrize("value", KNOWN_VALID)
def test_known_valid_numbers_pass(value):
    assert is_valid(value)


def test_the_check_digit_follows_the_iso_7064_mod_11_2_weights():
    assert check_digit("11010519491231002") == "X"
    assert check_digit("44052418800101001") == "4"


def test_a_lower_case_x_and_surrounding_spaces_are_normalized():
    assert is_valid(" 11010519491231002x ")
    assert normalize(" 110105 19491231002x") == "11010519491231002X"


@pytest.mark.parametrize("value", [
    "11010519491231002Y", "110105194912310021", "1101051949123100", "11010519491231002XX",
    "01010519491231002X", "110105194913310025", "110105194902300020", "abcdefghijklmnopqr",
    "", None, 11010519491231002, ["11010519491231002X"], "１１０１０５１９４９１２３１００２Ｘ",
])
def test_malformed_numbers_fail(value):
    assert not is_valid(value)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
       st.integers(0, 999), st.sampled_from(["440305", "110105", "310115"]))
def test_every_made_number_is_valid_and_any_single_digit_change_is_caught(born, seq, region):
    value = make(region, born, seq)
    assert is_valid(value) and birth_date(value) == born
    for i in range(17):
        digit = int(value[i])
        changed = value[:i] + str((digit + 1) % 10) + value[i + 1:]
        if changed[0] != "0":
            assert check_digit(changed[:17]) != value[17]


def test_masking_shows_only_the_first_three_and_last_four():
    assert mask("11010519491231002x") == "110***********002X"
