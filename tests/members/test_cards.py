"""Card numbers: the Luhn check digit (ISO/IEC 7812) and the numbers the program generates."""

import random
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from members.cards import (
    CARD_LENGTH,
    card_number_generate,
    card_number_normalise,
    luhn_check_digit,
    luhn_valid,
)

digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=18)


@pytest.mark.parametrize(
    ("payload", "check_digit"),
    [
        ("7992739871", "3"),  # the textbook example
        ("453914880343646", "7"),  # 4539 1488 0343 6467, a Visa test number
        ("37828224631000", "5"),  # 3782 822463 10005, an Amex test number
        ("401288888888188", "1"),  # 4012 8888 8888 1881
        ("0", "0"),
        ("9", "1"),  # 9 doubled is 18 -> 1 + 8 = 9, and 9 + 1 = 10
        ("5", "9"),  # 5 doubled is 10 -> 1, and 1 + 9 = 10
    ],
)
def test_luhn_check_digit_of_known_numbers(payload, check_digit):
    assert luhn_check_digit(payload) == check_digit
    assert luhn_valid(payload + check_digit)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("79927398713", True),
        ("79927398710", False),
        ("79927398714", False),
        ("4539148803436467", True),
        ("4539148803436466", False),
        ("00", True),
        ("0", False),  # a check digit needs something to check
        ("", False),
        ("7992739871a", False),
        ("7992 7398 713", False),  # luhn_valid takes normalised digits only
    ],
)
def test_luhn_valid_on_known_numbers(number, valid):
    assert luhn_valid(number) is valid


def test_card_number_normalise_strips_spaces_and_dashes():
    assert card_number_normalise(" 9123-4567 8901-2345 ") == "9123456789012345"


@given(rnd=st.randoms(use_true_random=False))
def test_generated_card_numbers_are_16_digits_starting_with_9_and_pass_luhn(rnd: random.Random):
    # Let Hypothesis drive the generator's randomness so failures shrink and replay.
    with mock.patch("members.cards.secrets.choice", rnd.choice):
        number = card_number_generate()

    assert len(number) == CARD_LENGTH == 16
    assert number.isascii() and number.isdigit()
    assert number[0] == "9"
    assert luhn_valid(number)


@given(payload=digit_strings)
def test_appending_the_check_digit_always_makes_a_valid_number(payload: str):
    check_digit = luhn_check_digit(payload)

    assert len(check_digit) == 1 and check_digit in "0123456789"
    assert luhn_valid(payload + check_digit)
    assert [d for d in "0123456789" if luhn_valid(payload + d)] == [check_digit]


@given(payload=digit_strings, data=st.data())
def test_changing_any_single_digit_breaks_the_check(payload: str, data: st.DataObject):
    number = payload + luhn_check_digit(payload)
    position = data.draw(st.integers(0, len(number) - 1), label="position")
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))

    changed = number[:position] + replacement + number[position + 1 :]

    assert luhn_valid(number)
    assert not luhn_valid(changed), f"{number} -> {changed} still passes"


@given(rnd=st.randoms(use_true_random=False), data=st.data())
def test_changing_any_single_digit_of_a_generated_card_breaks_the_check(rnd: random.Random, data: st.DataObject):
    with mock.patch("members.cards.secrets.choice", rnd.choice):
        number = card_number_generate()
    position = data.draw(st.integers(0, CARD_LENGTH - 1), label="position")
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))

    assert not luhn_valid(number[:position] + replacement + number[position + 1 :])
