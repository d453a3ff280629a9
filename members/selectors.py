"""Reads of members."""

from members.cards import card_number_normalise
from members.errors import InvalidLookup, MemberNotFound
from members.models import Member


def member_get(*, public_id: str) -> Member:
    """The member with this public id, or MemberNotFound."""
    valid = isinstance(public_id, str) and public_id and "\x00" not in public_id
    member = Member.objects.filter(public_id=public_id).first() if valid else None
    if member is None:
        raise MemberNotFound(param="member")
    return member


def member_lookup(*, card_number: str | None = None, email: str | None = None, phone: str | None = None) -> Member:
    """The member with exactly one of these identifiers, or MemberNotFound."""
    given = {k: v for k, v in {"card_number": card_number, "email": email, "phone": phone}.items() if v}
    if len(given) != 1:
        raise InvalidLookup(param=None)
    ((field, value),) = given.items()
    if field == "card_number":
        query = {"card_number": card_number_normalise(value)}
    elif field == "email":
        query = {"email": value.strip().lower()}
    else:
        query = {"phone": "".join(c for c in value if c in "+0123456789")}
    (value,) = query.values()
    # A value that normalises to nothing ("abc" as a phone) names nobody: never match the members
    # stored without one.
    member = Member.objects.filter(**query).first() if value and "\x00" not in value else None
    if member is None:
        raise MemberNotFound(param=field)
    return member
