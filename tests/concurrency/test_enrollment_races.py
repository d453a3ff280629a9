"""Concurrent enrollments of one identity: the database's unique constraints pick one winner and every
loser gets the domain error, never a raw IntegrityError."""

from functools import partial

import pytest

from members.cards import card_number_generate
from members.errors import CardNumberExists, MemberExists, PhoneExists
from members.models import Member
from members.services import member_enroll

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


def _case_variant(email: str, pattern: int) -> str:
    """`email` with the letters whose bit is set in `pattern` upper-cased (bit i -> i-th letter)."""
    letters = iter(range(len(email)))
    out = []
    for char in email:
        if char.isalpha():
            bit = next(letters)
            out.append(char.upper() if pattern >> bit & 1 else char.lower())
        else:
            out.append(char)
    return "".join(out)


def test_same_email_in_twenty_letter_cases_enrolls_one_member(parallel):
    emails = [_case_variant("race.condition@example.com", pattern) for pattern in range(THREADS)]
    emails[-1] = "  RACE.Condition@EXAMPLE.com "  # surrounding spaces are trimmed too
    assert len(set(emails)) == THREADS

    outcomes = parallel([partial(member_enroll, email=email) for email in emails])

    winners = [outcome.value for outcome in outcomes if outcome.ok]
    losers = [outcome.error for outcome in outcomes if not outcome.ok]
    assert len(winners) == 1
    assert len(losers) == THREADS - 1
    assert all(type(error) is MemberExists for error in losers), losers
    assert {(error.code, error.param) for error in losers} == {("member_exists", "email")}
    assert Member.objects.count() == 1
    assert Member.objects.get().email == "race.condition@example.com"
    assert Member.objects.get().pk == winners[0].pk


@pytest.mark.parametrize(
    ("field", "value", "refusal", "code"),
    [
        ("phone", "+49 151 2345 6789", PhoneExists, "phone_exists"),
        ("card_number", card_number_generate(), CardNumberExists, "card_number_exists"),
    ],
)
def test_same_phone_or_card_from_twenty_enrollments_enrolls_one_member(parallel, field, value, refusal, code):
    calls = [partial(member_enroll, email=f"racer{i}@example.com", **{field: value}) for i in range(THREADS)]

    outcomes = parallel(calls)

    losers = [outcome.error for outcome in outcomes if not outcome.ok]
    assert sum(outcome.ok for outcome in outcomes) == 1
    assert len(losers) == THREADS - 1
    assert all(type(error) is refusal for error in losers), losers
    assert {(error.code, error.param) for error in losers} == {(code, field)}
    assert Member.objects.count() == 1
