"""Finding members: members.selectors.member_lookup and member_get."""

import pytest

from members.errors import InvalidRequest, MemberNotFound
from members.selectors import member_get, member_lookup
from members.services import member_enroll


@pytest.fixture
def ada(db, now):
    return member_enroll(email="ada@example.com", phone="+491701234567", card_number="79927398713", now=now)


@pytest.fixture
def grace(db, now):
    return member_enroll(email="grace@example.com", phone="+441632960001", now=now)


@pytest.mark.parametrize(
    "identifier",
    [
        {"card_number": "79927398713"},
        {"card_number": "7992 7398 713"},
        {"card_number": " 7992-7398-713 "},
        {"email": "ada@example.com"},
        {"email": "ADA@Example.Com"},
        {"email": "  ada@example.com "},
        {"phone": "+491701234567"},
        {"phone": "+49 170 123-4567"},
        {"phone": "+49 (170) 123 45 67"},
    ],
    ids=str,
)
def test_lookup_finds_the_member_by_any_one_identifier(ada, grace, identifier):
    assert member_lookup(**identifier).pk == ada.pk


def test_lookup_tells_members_apart(ada, grace):
    assert member_lookup(email="GRACE@example.com").pk == grace.pk
    assert member_lookup(phone="+44 1632 960001").pk == grace.pk
    assert member_lookup(card_number=grace.card_number).pk == grace.pk


@pytest.mark.parametrize(
    ("identifier", "param"),
    [
        ({"card_number": "79927398721"}, "card_number"),
        ({"email": "ada@example.org"}, "email"),
        ({"phone": "+491701234568"}, "phone"),
    ],
)
def test_lookup_of_an_unknown_identifier_is_member_not_found(ada, identifier, param):
    with pytest.raises(MemberNotFound) as refused:
        member_lookup(**identifier)

    assert (refused.value.code, refused.value.param) == ("member_not_found", param)
    assert (refused.value.type, refused.value.status) == ("not_found", 404)


@pytest.mark.parametrize(
    "identifiers",
    [
        {},
        {"card_number": None, "email": None, "phone": None},
        {"card_number": "", "email": "", "phone": ""},
        {"card_number": "79927398713", "email": "ada@example.com"},
        {"email": "ada@example.com", "phone": "+491701234567"},
        {"card_number": "79927398713", "email": "ada@example.com", "phone": "+491701234567"},
    ],
    ids=str,
)
def test_lookup_needs_exactly_one_identifier(ada, identifiers):
    with pytest.raises(InvalidRequest) as refused:
        member_lookup(**identifiers)

    assert (refused.value.code, refused.value.param, refused.value.status) == ("invalid_lookup", None, 400)


def test_get_by_public_id(ada, grace):
    assert member_get(public_id=ada.public_id).pk == ada.pk
    assert member_get(public_id=grace.public_id).pk == grace.pk


@pytest.mark.parametrize("public_id", ["mem_doesnotexist00000000", "", None, 1])
def test_get_of_an_unknown_public_id_is_member_not_found(ada, public_id):
    with pytest.raises(MemberNotFound) as refused:
        member_get(public_id=public_id)

    assert (refused.value.code, refused.value.param, refused.value.status) == ("member_not_found", "member", 404)


def test_get_does_not_match_by_database_id(ada):
    with pytest.raises(MemberNotFound):
        member_get(public_id=str(ada.pk))
