"""Loyalty card numbers: 16 digits, the last a Luhn check digit (ISO/IEC 7812)."""

import re
import secrets

ASCII_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() would also accept '²' and Arabic-Indic digits

CARD_LENGTH = 16
# Every generated card starts with 9 (ISO/IEC 7812 "national assignment"), so generated numbers are
# easy to tell from payment cards in logs.
CARD_PREFIX = "9"


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload + digit` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled: these sit at odd positions once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return len(number) >= 2 and is_ascii_digits(number) and luhn_check_digit(number[:-1]) == number[-1]


def is_ascii_digits(text: str) -> bool:
    return ASCII_DIGITS.fullmatch(text) is not None


def card_number_generate() -> str:
    body = CARD_PREFIX + "".join(secrets.choice("0123456789") for _ in range(CARD_LENGTH - 2))
    return body + luhn_check_digit(body)


def card_number_normalise(raw: str) -> str:
    """Strip the spaces and dashes people type; the digits are what is stored."""
    return raw.replace(" ", "").replace("-", "")
