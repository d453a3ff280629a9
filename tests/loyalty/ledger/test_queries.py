"""Statement counts of the ledger's writes do not grow with the number of lots a member holds.

Counted with CaptureQueriesContext: every statement, SAVEPOINT and RELEASE included.
"""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.ledger.models import LotAllocation, PointLot
from loyalty.ledger.services import points_credit, points_debit
from tests.factories import MemberFactory

DAY = dt.timedelta(days=1)
MAX_STATEMENTS = 8


def member_with_lots(count: int, now: dt.datetime, *, points: int = 10):
    """A member holding `count` lots of `points` each, lot i expiring i + 1 days from now."""
    member = MemberFactory()
    for i in range(count):
        points_credit(member=member, points=points, now=now, expires_at=now + (i + 1) * DAY)
    return member


def statements(call) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def lots_drawn_by(entry) -> int:
    return LotAllocation.objects.filter(entry=entry).count()


def test_credit_statements_do_not_grow_with_lots(db, now):
    few = member_with_lots(1, now)
    many = member_with_lots(300, now)

    with_one, sql_one = statements(lambda: points_credit(member=few, points=50, now=now))
    with_300, sql_300 = statements(lambda: points_credit(member=many, points=50, now=now))

    message = f"credit: {with_one} statements with 1 lot, {with_300} with 300 lots\n" + "\n".join(sql_300)
    assert with_one == with_300, message
    assert with_300 <= MAX_STATEMENTS, message
    assert PointLot.objects.filter(account__member=many).count() == 301


def test_debit_statements_do_not_grow_with_lots(db, now):
    few = member_with_lots(2, now)
    many = member_with_lots(300, now)
    entries = {}

    def debit(name, member):
        return lambda: entries.__setitem__(name, points_debit(member=member, points=15, now=now))

    with_two, sql_two = statements(debit("few", few))
    with_300, sql_300 = statements(debit("many", many))

    message = f"debit: {with_two} statements with 2 lots, {with_300} with 300 lots\n" + "\n".join(sql_300)
    assert (lots_drawn_by(entries["few"]), lots_drawn_by(entries["many"])) == (2, 2)
    assert with_two == with_300, message
    assert with_300 <= MAX_STATEMENTS, message


def test_debit_drawing_from_50_lots_runs_the_same_statements(db, now):
    two_lots = member_with_lots(2, now)
    sixty_lots = member_with_lots(60, now)
    entries = {}

    with_two, _ = statements(lambda: entries.setdefault("two", points_debit(member=two_lots, points=15, now=now)))
    with_fifty, sql_fifty = statements(
        lambda: entries.setdefault("fifty", points_debit(member=sixty_lots, points=495, now=now))
    )

    message = f"debit: {with_two} statements drawing 2 lots, {with_fifty} drawing 50\n" + "\n".join(sql_fifty)
    assert (lots_drawn_by(entries["two"]), lots_drawn_by(entries["fifty"])) == (2, 50)
    assert with_two == with_fifty, message
    assert with_fifty <= MAX_STATEMENTS, message
    remaining = list(
        PointLot.objects.filter(account__member=sixty_lots).order_by("expires_at").values_list("remaining", flat=True)
    )
    assert remaining == [0] * 49 + [5] + [10] * 10
