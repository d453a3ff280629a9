"""Finding a member from what a caller reads out: part of an email or a name, phone digits, the first digits
of a card, or the public id; the card and the public id through their indexes, not a scan."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.cards import luhn_check_digit
from members.models import Member
from tests.factories import MemberFactory

LIST = "/admin/members/member/"


def card(body: str) -> str:
    return body + luhn_check_digit(body)


@pytest.fixture
def members(db) -> dict[str, Member]:
    return {
        "nina": MemberFactory(email="nina.berg@example.com", first_name="Nina", last_name="Berg",
                              phone="+491511234567", card_number=card("900011112222333")),
        "otto": MemberFactory(email="otto@shop.example.org", first_name="Otto", last_name="Lindqvist",
                              phone="+441234999888", card_number=card("955566667777888")),
    }  # fmt: skip


def found(staff, term: str) -> set[str]:
    response = staff.get(LIST, {"q": term}, secure=True)
    assert response.status_code == 200
    return {member.first_name for member in response.context["cl"].result_list}


def search_sql(staff, term: str) -> str:
    with CaptureQueriesContext(connection) as queries:
        staff.get(LIST, {"q": term}, secure=True)
    return next(query["sql"] for query in queries if "members_member" in query["sql"] and "card_number" in query["sql"])


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("nina.be", {"Nina"}),  # part of an email
        ("@shop.example", {"Otto"}),
        ("NINA", {"Nina"}),  # first name, any case
        ("lindq", {"Otto"}),  # part of a last name
        ("nina berg", {"Nina"}),  # first and last name together
        ("1234567", {"Nina"}),  # phone digits (no card starts with them)
        ("+44 1234", {"Otto"}),  # the start of a phone as typed
        ("9000 1111", {"Nina"}),  # the first digits of a card, as printed
        ("9555-6666-7777-888", {"Otto"}),  # all but the check digit, as typed
        ("9", {"Nina", "Otto"}),
        ("2222333", set()),  # the end of a card is not its start
        ("nobody", set()),
    ],
)
def test_staff_find_a_member_by_what_the_caller_reads_out(staff, members, term, expected):
    assert found(staff, term) == expected


def test_the_public_id_or_a_whole_card_finds_exactly_that_member(staff, members):
    otto = members["otto"]

    assert found(staff, otto.card_number) == {"Otto"}
    assert found(staff, otto.public_id) == {"Otto"}
    assert found(staff, otto.public_id[:-1]) == set()


def test_a_card_prefix_is_a_range_of_the_card_index_and_a_public_id_an_equality(staff, members):
    card_sql = search_sql(staff, "90001")
    assert "LIKE '90001%'" in card_sql and "phone" not in card_sql
    assert """"card_number" >= '90001'""" in card_sql and """"card_number" < '90002'""" in card_sql

    id_sql = search_sql(staff, members["nina"].public_id)
    assert f""""public_id" = '{members["nina"].public_id}'""" in id_sql and "LIKE" not in id_sql


def test_a_card_prefix_of_nines_has_no_upper_bound(staff, db):
    MemberFactory(first_name="Nines", card_number=card("999999999999999"))

    assert found(staff, "9999") == {"Nines"}
