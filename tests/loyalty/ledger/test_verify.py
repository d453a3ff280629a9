"""`manage.py verify_ledger`: "ledger ok" on exact books; each broken invariant reported by name, and a
non-zero exit.

The books are broken with raw SQL, as a bad deploy or a hand edit would. On PostgreSQL a trigger
refuses UPDATE of ledger entries, so entries are only edited on SQLite; on PostgreSQL the test asserts
the refusal instead.
"""

import datetime as dt
import io
from unittest import mock

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.services import debit_cancel, points_credit, points_debit
from loyalty.ledger.verify import ledger_verify
from tests.factories import MemberFactory

DAY = dt.timedelta(days=1)
ACCOUNT = Account._meta.db_table
ENTRY = LedgerEntry._meta.db_table
LOT = PointLot._meta.db_table
ALLOCATION = LotAllocation._meta.db_table


@pytest.fixture
def books(db, now):
    """Ada: lots of 100 (expiring) and 50 (never), 30 redeemed from the first. Grace: one lot of 20."""
    ada, grace = MemberFactory(), MemberFactory()
    expiring = points_credit(member=ada, points=100, now=now, expires_at=now + 10 * DAY)
    never = points_credit(member=ada, points=50, now=now)
    redemption = points_debit(member=ada, points=30, now=now)
    graces = points_credit(member=grace, points=20, now=now)
    return {
        "ada": Account.objects.get(member=ada),
        "grace": Account.objects.get(member=grace),
        "expiring": PointLot.objects.get(entry=expiring),
        "never": PointLot.objects.get(entry=never),
        "expiring_entry": expiring,
        "redemption": redemption,
        "graces_entry": graces,
        "graces_lot": PointLot.objects.get(entry=graces),
    }


def sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def verify_ledger_fails() -> tuple[list[str], CommandError]:
    """Run the command, expect it to fail; return the lines it printed and the error."""
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_ledger", stdout=out)
    return out.getvalue().splitlines(), failed.value


def checks_named(lines: list[str]) -> list[str]:
    return sorted(line.split(":", 1)[0] for line in lines)


def test_clean_books_print_ledger_ok(books):
    out = io.StringIO()

    call_command("verify_ledger", stdout=out)

    assert out.getvalue() == "ledger ok: 2 accounts, 4 entries, 3 lots\n"


def test_empty_books_are_ok(db):
    out = io.StringIO()

    call_command("verify_ledger", stdout=out)

    assert out.getvalue() == "ledger ok: 0 accounts, 0 entries, 0 lots\n"


@pytest.mark.corrupts_ledger
def test_cached_available_off_its_entries_is_reported(books):
    ada = books["ada"]
    sql(f"UPDATE {ACCOUNT} SET available = available + 7 WHERE id = %s", [ada.pk])

    lines, error = verify_ledger_fails()

    assert lines == [
        f"balances: account {ada.pk}: available 127 vs Σ entries 120, pending 0 vs 0, held 0 vs 0",
        f"lots_vs_balances: account {ada.pk}: available 127 but lots hold 120; pending 0 but pending lots hold 0",
    ]
    assert str(error) == "2 ledger violation(s) found"
    assert error.returncode == 1


@pytest.mark.corrupts_ledger
def test_cached_pending_off_its_entries_is_reported(books):
    grace = books["grace"]
    sql(f"UPDATE {ACCOUNT} SET pending = 5 WHERE id = %s", [grace.pk])

    lines, error = verify_ledger_fails()

    assert lines == [
        f"balances: account {grace.pk}: available 20 vs Σ entries 20, pending 5 vs 0, held 0 vs 0",
        f"lots_vs_balances: account {grace.pk}: available 20 but lots hold 20; pending 5 but pending lots hold 0",
    ]
    assert str(error) == "2 ledger violation(s) found"


@pytest.mark.corrupts_ledger
def test_lot_remaining_off_its_allocations_is_reported(books):
    lot, ada = books["expiring"], books["ada"]
    sql(f"UPDATE {LOT} SET remaining = remaining - 10 WHERE id = %s", [lot.pk])

    lines, error = verify_ledger_fails()

    assert lines == [
        f"lot_allocations: lot {lot.pk}: amount 100 − remaining 60 ≠ Σ allocations 30",
        f"lots_vs_balances: account {ada.pk}: available 120 but lots hold 110; pending 0 but pending lots hold 0",
    ]
    assert str(error) == "2 ledger violation(s) found"


@pytest.mark.corrupts_ledger
def test_lots_that_no_longer_add_up_to_the_balance_are_reported(books):
    # Remaining and allocations agree with each other (an allocation was invented for the credit), but
    # the lots now hold 10 points less than the account says is available.
    lot, ada = books["never"], books["ada"]
    sql(f"UPDATE {LOT} SET remaining = remaining - 10 WHERE id = %s", [lot.pk])
    sql(
        f"INSERT INTO {ALLOCATION} (entry_id, lot_id, points) VALUES (%s, %s, %s)",
        [books["expiring_entry"].pk, lot.pk, 10],
    )

    lines, error = verify_ledger_fails()

    assert lines == [
        f"lots_vs_balances: account {ada.pk}: available 120 but lots hold 110; pending 0 but pending lots hold 0",
    ]
    assert str(error) == "1 ledger violation(s) found"


@pytest.mark.corrupts_ledger
def test_allocation_across_accounts_is_reported(books):
    # Grace's entry takes 10 from Ada's lot and gives them back: the lot's sums still hold, but both
    # allocations tie an entry to another account's lot.
    lot, graces = books["expiring"], books["graces_entry"]
    sql(
        f"INSERT INTO {ALLOCATION} (entry_id, lot_id, points) VALUES (%s, %s, %s), (%s, %s, %s)",
        [graces.pk, lot.pk, 10, graces.pk, lot.pk, -10],
    )
    allocations = list(LotAllocation.objects.filter(entry=graces).order_by("pk").values_list("pk", flat=True))

    lines, error = verify_ledger_fails()

    assert lines == [
        f"allocation_account: allocation {pk}: entry {graces.pk} and lot {lot.pk} belong to different accounts"
        for pk in allocations
    ]
    assert str(error) == "2 ledger violation(s) found"


@pytest.mark.corrupts_ledger
def test_a_debit_that_drew_more_than_its_points_is_reported(books):
    redemption, lot, ada = books["redemption"], books["never"], books["ada"]
    sql(
        f"INSERT INTO {ALLOCATION} (entry_id, lot_id, points) VALUES (%s, %s, %s)",
        [redemption.pk, lot.pk, 5],
    )
    sql(f"UPDATE {LOT} SET remaining = remaining - 5 WHERE id = %s", [lot.pk])

    lines, _ = verify_ledger_fails()

    assert lines == [
        f"lots_vs_balances: account {ada.pk}: available 120 but lots hold 115; pending 0 but pending lots hold 0",
        f"debit_draws: entry {redemption.pk} (redeem): points -30 but drew 35 from lots",
    ]


def test_lot_bounds_are_also_a_database_constraint(books):
    lot = books["never"]
    before = list(PointLot.objects.order_by("pk").values_list("pk", "remaining"))

    for remaining in (-1, 51):
        with pytest.raises(DatabaseError), transaction.atomic():
            sql(f"UPDATE {LOT} SET remaining = %s WHERE id = %s", [remaining, lot.pk])

    assert list(PointLot.objects.order_by("pk").values_list("pk", "remaining")) == before
    assert ledger_verify() == []


@pytest.mark.corrupts_ledger
def test_edited_entries_are_reported_or_refused(books, now):
    redemption = books["redemption"]
    if connection.vendor != "sqlite":
        # PostgreSQL: history cannot be edited at all.
        with pytest.raises(DatabaseError), transaction.atomic():
            sql(f"UPDATE {ENTRY} SET balance_after = balance_after + 1 WHERE id = %s", [redemption.pk])
        assert LedgerEntry.objects.get(pk=redemption.pk).balance_after == 120
        assert ledger_verify() == []
        return

    sql(f"UPDATE {ENTRY} SET balance_after = balance_after + 1 WHERE id = %s", [redemption.pk])

    lines, error = verify_ledger_fails()

    assert lines == [
        f"balance_after: entry {redemption.pk} of account {books['ada'].pk}: balance_after 121, running sum 120"
    ]
    assert str(error) == "1 ledger violation(s) found"


@pytest.mark.corrupts_ledger
def test_a_reversal_that_does_not_undo_its_debit_is_reported_or_refused(books, now):
    reversal = debit_cancel(entry=books["redemption"], now=now)
    if connection.vendor != "sqlite":
        with pytest.raises(DatabaseError), transaction.atomic():
            sql(f"UPDATE {ENTRY} SET points = 31 WHERE id = %s", [reversal.pk])
        assert ledger_verify() == []
        return

    # Points and the running balance edited together, so only the reversal's link to its debit is off.
    sql(f"UPDATE {ENTRY} SET points = 31, balance_after = 151 WHERE id = %s", [reversal.pk])
    sql(f"UPDATE {ACCOUNT} SET available = 151 WHERE id = %s", [books["ada"].pk])

    lines, _ = verify_ledger_fails()

    ada, redemption = books["ada"], books["redemption"]
    assert lines == [
        f"lots_vs_balances: account {ada.pk}: available 151 but lots hold 150; pending 0 but pending lots hold 0",
        f"reversals: entry {reversal.pk}: points 31 does not undo entry {redemption.pk} (-30)",
    ]


def manage(*argv: str) -> None:
    """`manage.py ...` in this process. run_from_argv closes every connection when it is done; keep the
    test's connection (and its transaction) open."""
    with mock.patch("django.core.management.base.connections.close_all"):
        execute_from_command_line(["manage.py", *argv])


@pytest.mark.corrupts_ledger
def test_verify_ledger_exits_non_zero_from_the_command_line(books, capsys):
    sql(f"UPDATE {ACCOUNT} SET available = available - 1 WHERE id = %s", [books["grace"].pk])

    with pytest.raises(SystemExit) as exited:
        manage("verify_ledger")

    assert exited.value.code == 1
    out, err = capsys.readouterr()
    assert checks_named(out.splitlines()) == ["balances", "lots_vs_balances"]
    assert "2 ledger violation(s) found" in err


def test_verify_ledger_exits_zero_on_clean_books(books, capsys):
    manage("verify_ledger")

    assert capsys.readouterr().out == "ledger ok: 2 accounts, 4 entries, 3 lots\n"
