"""After a member closes their account in the portal, nothing in the database names them: every text, char and
JSON column of every table (found by introspecting the database, not from a list that could fall behind the
models) is searched for their email, names, phone and card number. The ledger still verifies."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from loyalty.messages.models import Message
from members.models import Member
from tests.support.everywhere import PERSON, PHONE_STORED, member_everywhere
from tests.support.portal import signed_in

# Column types that cannot hold a name or an address; every other column is searched (as text).
NOT_TEXT = {
    "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
    "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField", "DecimalField", "FloatField",
    "BooleanField", "DateField", "DateTimeField", "TimeField", "DurationField", "UUIDField", "BinaryField",
}  # fmt: skip


def searched_columns() -> list[tuple[str, str]]:
    """(table, column) of every column of every table whose type can hold text, JSON included."""
    columns = []
    introspection = connection.introspection
    with connection.cursor() as cursor:
        for table in introspection.table_names(cursor):
            for column in introspection.get_table_description(cursor, table):
                field_type = introspection.get_field_type(column.type_code, column)
                if field_type not in NOT_TEXT:
                    columns.append((table, column.name))
    return columns


def rows_naming(needle: str, columns: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(table, column, value) wherever `needle` occurs, any case."""
    quote = connection.ops.quote_name
    found = []
    with connection.cursor() as cursor:
        for table, column in columns:
            cursor.execute(
                f"SELECT CAST({quote(column)} AS TEXT) FROM {quote(table)}"  # noqa: S608 - names from introspection
                f" WHERE LOWER(CAST({quote(column)} AS TEXT)) LIKE %s",
                [f"%{needle.lower()}%"],
            )
            found += [(table, column, value) for (value,) in cursor.fetchall()]
    return found


@pytest.fixture
def zenobia(api, plus):
    return member_everywhere(api, plus)


def test_the_search_sees_the_person_before_erasure(zenobia):
    """The search itself works: before erasure it finds her in the tables she is in."""
    columns = searched_columns()
    for expected in [("members_member", "email"), ("loyalty_message", "body_text"), ("loyalty_message", "to_email"),
                     ("loyalty_idempotentrequest", "body"), ("django_admin_log", "change_message"),
                     ("loyalty_adjustment", "note"), ("loyalty_subscriptionevent", "note"),
                     ("loyalty_transaction", "lines")]:  # fmt: skip
        assert expected in columns, expected

    tables = {table for table, _column, _value in rows_naming(PERSON["email"], columns)}
    assert {"members_member", "loyalty_message", "loyalty_idempotentrequest", "loyalty_adjustment"} <= tables
    assert {table for table, *_ in rows_naming("Quillfeather", columns)} >= {
        "members_member", "django_admin_log", "loyalty_subscriptionevent",
    }  # fmt: skip


def test_after_closing_in_the_portal_nothing_names_the_person(zenobia):
    card_number = zenobia.member.card_number
    assert Message.objects.filter(member=zenobia.member).exists()

    r = signed_in(zenobia.member).post("/portal/profile/close", secure=True)

    assert r.status_code == 200 and Member.objects.get(pk=zenobia.member.pk).erased_at is not None
    columns = searched_columns()
    needles = [PERSON["email"], PERSON["first_name"], PERSON["last_name"], PHONE_STORED, "98765432", card_number]
    found = {needle: rows_naming(needle, columns) for needle in needles}
    assert found == dict.fromkeys(needles, [])
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("ledger ok")
