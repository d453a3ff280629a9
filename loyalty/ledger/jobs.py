"""`expire_points`: what is left of lots past their expiry leaves the balance, one entry per member per run.

Policies (docs/API.md): `rolling` and `end_of_year` stamp each lot with its expiry when it is earned, so due
lots are those with `expires_at <= now`; `inactivity` expires every lot of a member whose last purchase
is N months old (a member who never purchased: each lot N months after it was credited), and lots stamped
with an expiry under an earlier policy at that expiry; `never` expires nothing.

The rule is one query, `due_lots`, and one way of writing it down, the same on every database: per chunk
of locked accounts, the due lots' totals (one SELECT), one expire entry per account (one INSERT, ids minted
by `entry_build`), an allocation of each due lot's remainder to its account's entry (one INSERT ... SELECT),
the lots zeroed (one UPDATE) and each account's balance set to its entry's `balance_after` (one UPDATE).
"""

import datetime as dt

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from loyalty.calendar import months_add, months_add_reached
from loyalty.jobs.runner import JobRun, run_chunks
from loyalty.ledger.bulk import account_ids_after, entries_insert
from loyalty.ledger.models import Account, LedgerEntry, PointLot
from loyalty.ledger.services import Cause, entry_build
from loyalty.program.models import Program
from loyalty.program.selectors import program_get

ACTOR = "job:expire_points"


def inactivity_expires_at(
    last_purchase_at: dt.datetime | None, lot_created_at: dt.datetime, months: int
) -> dt.datetime:
    """When a lot goes under the inactivity policy: N months after the last purchase, or, for a member who
    never purchased, N months after the lot was credited. The member object announces the same instant, and
    `due_lots` selects exactly the lots this puts at or before its `now`."""
    return months_add(last_purchase_at or lot_created_at, months)


def due_lots(program: Program, now: dt.datetime) -> QuerySet[PointLot] | None:
    """The lots whose remainder expires as of `now`; None under the `never` policy."""
    live = PointLot.objects.filter(remaining__gt=0, pending=False)
    if program.expiry_policy in (Program.ExpiryPolicy.ROLLING, Program.ExpiryPolicy.END_OF_YEAR):
        return live.filter(expires_at__lte=now)
    if program.expiry_policy == Program.ExpiryPolicy.INACTIVITY:
        # `inactivity_expires_at(...) <= now`, as bounds on the instant it counts from.
        reached = months_add_reached(program.expiry_months, now)
        inactive = Q(inactive_since__lt=reached.before)
        for start, end in reached.spans:
            inactive |= Q(inactive_since__range=(start, end))
        since = Coalesce("account__last_purchase_at", "created_at")
        return live.alias(inactive_since=since).filter(Q(expires_at__lte=now) | inactive)
    return None


# Every due lot's remainder goes to its account's expire entry: the chunk's lots joined to the chunk's entries.
ALLOCATIONS_INSERT = """
INSERT INTO loyalty_lotallocation (entry_id, lot_id, points)
SELECT entry.id, lot.id, lot.remaining
FROM ({lots}) lot JOIN loyalty_ledgerentry entry ON entry.account_id = lot.account_id
WHERE entry.id IN ({entries})
"""

# Each account takes the balance its expire entry states (built on the locked account, so it is the balance
# less the points expired).
ACCOUNTS_UPDATE = """
UPDATE loyalty_account SET available = entry.balance_after
FROM loyalty_ledgerentry entry
WHERE entry.account_id = loyalty_account.id AND entry.id IN ({entries})
"""


def _expire(accounts: list[Account], lots: QuerySet[PointLot], now: dt.datetime) -> tuple[int, int, int]:
    """Expire `lots` (the due lots of these locked accounts) in five statements; (points, members, lots)."""
    totals = {
        account_id: (points, count)
        for account_id, points, count in lots.values("account_id")
        .annotate(points=Sum("remaining"), lots=Count("id"))
        .order_by()
        .values_list("account_id", "points", "lots")
    }
    if not totals:
        return 0, 0, 0
    entries = entries_insert(
        [
            entry_build(
                account,
                kind=LedgerEntry.Kind.EXPIRE,
                points=-totals[account.pk][0],
                now=now,
                cause=Cause(actor=ACTOR, description=f"{totals[account.pk][0]} points expired"),
            )  # fmt: skip
            for account in accounts
            if account.pk in totals
        ]
    )
    entry_ids = [entry.pk for entry in entries]
    placeholders = ", ".join(["%s"] * len(entry_ids))
    lots_sql, lots_params = lots.values("id", "account_id", "remaining").order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(ALLOCATIONS_INSERT.format(lots=lots_sql, entries=placeholders), [*lots_params, *entry_ids])
        lots.update(remaining=0)
        cursor.execute(ACCOUNTS_UPDATE.format(entries=placeholders), entry_ids)
    points = sum(points for points, _ in totals.values())
    return points, len(totals), sum(count for _, count in totals.values())


def expire_points(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Expire every due lot's remainder. Rerunning changes nothing."""
    run = JobRun("expire_points")
    due = due_lots(program_get(), now)
    if due is None:
        return run

    def candidates(after: int):
        return account_ids_after(due, after, limit=chunk_size)

    def work(accounts: list[Account]) -> None:
        points, members, lots = _expire(accounts, due.filter(account_id__in=[a.pk for a in accounts]), now)
        if members:
            run.add(points_expired=points, members=members, lots=lots)

    return run_chunks(run, rows=Account.objects, candidates=candidates, work=work, chunk_size=chunk_size)
