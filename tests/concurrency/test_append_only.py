"""Ledger entries and lot allocations are append-only: PostgreSQL's trigger refuses UPDATE and DELETE,
whether they come as raw SQL, through a model instance or through a queryset."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.deletion import ProtectedError

from loyalty.ledger.models import LedgerEntry, LotAllocation
from loyalty.ledger.services import points_credit, points_debit
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = r"is append-only: (UPDATE|DELETE) refused"


def _row(obj) -> dict:
    """Every column of the object's row as it is in the database now."""
    return type(obj).objects.filter(pk=obj.pk).values().get()


def _refused(action) -> IntegrityError:
    """Run `action` in its own transaction; the trigger must refuse it (and the test can go on)."""
    with pytest.raises(IntegrityError, match=REFUSED) as caught, transaction.atomic():
        action()
    return caught.value


def _sql(statement: str, pk: int):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(statement, [pk])

    return run


@pytest.fixture
def redemption(now):
    member = MemberFactory()
    points_credit(member=member, points=100, now=now)
    return points_debit(member=member, points=40, now=now)


@pytest.fixture
def allocation(redemption):
    return LotAllocation.objects.get(entry=redemption)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE loyalty_ledgerentry SET points = points - 1, balance_after = balance_after - 1 WHERE id = %s",
        "UPDATE loyalty_ledgerentry SET description = 'edited' WHERE id = %s",
        "DELETE FROM loyalty_ledgerentry WHERE id = %s",
    ],
)
def test_raw_sql_cannot_change_or_delete_a_ledger_entry(redemption, statement):
    before = _row(redemption)

    _refused(_sql(statement, redemption.pk))

    assert _row(redemption) == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE loyalty_lotallocation SET points = points + 1 WHERE id = %s",
        "DELETE FROM loyalty_lotallocation WHERE id = %s",
    ],
)
def test_raw_sql_cannot_change_or_delete_a_lot_allocation(allocation, statement):
    before = _row(allocation)

    _refused(_sql(statement, allocation.pk))

    assert _row(allocation) == before


def test_orm_cannot_save_or_update_a_changed_ledger_entry(redemption):
    before = _row(redemption)
    redemption.points = -1
    redemption.balance_after = 99

    _refused(redemption.save)
    _refused(lambda: LedgerEntry.objects.filter(pk=redemption.pk).update(points=F("points") - 1))
    _refused(lambda: LedgerEntry.objects.bulk_update([redemption], ["points", "balance_after"]))

    assert _row(redemption) == before


def test_orm_cannot_delete_a_ledger_entry(now):
    # A claw-back from an empty account draws no lot, so nothing PROTECTs it: the DELETE reaches the
    # database and only the trigger stands in its way.
    member = MemberFactory()
    points_credit(member=member, points=10, now=now)
    points_debit(member=member, points=10, now=now)
    clawback = points_debit(member=member, points=25, now=now, kind=LedgerEntry.Kind.CLAWBACK, allow_negative=True)
    assert not clawback.allocations.exists()
    before = _row(clawback)

    _refused(clawback.delete)
    _refused(lambda: LedgerEntry.objects.filter(pk=clawback.pk).delete())

    assert _row(clawback) == before


def test_orm_delete_of_an_entry_with_lots_is_refused_before_it_reaches_the_database(redemption):
    before = _row(redemption)

    with pytest.raises(ProtectedError), transaction.atomic():
        redemption.delete()

    assert _row(redemption) == before


def test_orm_cannot_change_or_delete_a_lot_allocation(allocation):
    before = _row(allocation)
    allocation.points += 1

    _refused(allocation.save)
    _refused(lambda: LotAllocation.objects.filter(pk=allocation.pk).update(points=0))
    _refused(allocation.delete)
    _refused(lambda: LotAllocation.objects.filter(pk=allocation.pk).delete())

    assert _row(allocation) == before


def test_appending_still_works_after_refusals(redemption, now):
    _refused(_sql("DELETE FROM loyalty_ledgerentry WHERE id = %s", redemption.pk))

    entry = points_credit(member=redemption.account.member, points=5, now=now)

    assert entry.balance_after == 65
    assert LedgerEntry.objects.filter(account=redemption.account).count() == 3
