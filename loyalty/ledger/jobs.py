"""`expire_points`: what is left of lots past their expiry leaves the balance, one entry per member per run.

Policies (docs/API.md): `rolling` and `end_of_year` stamp each lot with its expiry when it is earned, so due
lots are those with `expires_at <= now`; `inactivity` expires every lot of a member whose last purchase
is N months old (a member who never purchased: lots older than that); `never` expires nothing.
"""

import datetime as dt
from collections import defaultdict

from django.db import connection
from django.db.models import Q

from loyalty.calendar import months_add
from loyalty.jobs.runner import JobRun, run_chunks
from loyalty.ledger.bulk import account_ids_after, accounts_update, entries_insert
from loyalty.ledger.entries import Cause, entry_build
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.program.models import Program
from loyalty.program.selectors import program_get

ACTOR = "job:expire_points"


# Months differ by up to three days, so "N months before now" is looser than "N months after the last
# purchase"; lots are picked by the looser cut-off in SQL and the exact rule is applied in Python.
MONTH_SLACK = dt.timedelta(days=4)


def _due_lots(program: Program, now: dt.datetime) -> Q | None:
    live = Q(remaining__gt=0, pending=False)
    if program.expiry_policy in (Program.ExpiryPolicy.ROLLING, Program.ExpiryPolicy.END_OF_YEAR):
        return live & Q(expires_at__lte=now)
    if program.expiry_policy == Program.ExpiryPolicy.INACTIVITY:
        loose = months_add(now, -program.expiry_months) + MONTH_SLACK
        return live & (
            Q(expires_at__lte=now)
            | Q(account__last_purchase_at__lte=loose)
            | Q(account__last_purchase_at__isnull=True, created_at__lte=loose)
        )
    return None


def inactivity_expires_at(
    last_purchase_at: dt.datetime | None, lot_created_at: dt.datetime, months: int
) -> dt.datetime:
    """When a lot goes under the inactivity policy: N months after the last purchase, or, for a member who
    never purchased, N months after the lot was credited. The member object announces the same instant."""
    return months_add(last_purchase_at or lot_created_at, months)


# On PostgreSQL a chunk of the date-stamped policies is one statement: the due lots, one expire entry per
# account with its balance_after, the allocations, the zeroed lots and the accounts, all at once.
EXPIRE_CHUNK_SQL = """
WITH due AS (
    SELECT l.id, l.account_id, l.remaining
    FROM loyalty_pointlot l
    WHERE l.account_id = ANY(%(accounts)s) AND l.remaining > 0 AND NOT l.pending AND l.expires_at <= %(now)s
),
totals AS (
    SELECT account_id, SUM(remaining) AS points, COUNT(*) AS lots FROM due GROUP BY account_id
),
accounts AS (
    UPDATE loyalty_account a SET available = a.available - t.points
    FROM totals t WHERE a.id = t.account_id
    RETURNING a.id, a.available, t.points
),
entries AS (
    INSERT INTO loyalty_ledgerentry
        (public_id, account_id, kind, points, pending_points, held_points, balance_after, reference, actor,
         description, created_at)
    SELECT 'ent_' || substr(md5(random()::text || clock_timestamp()::text || accounts.id::text), 1, 24),
           accounts.id, 'expire', -accounts.points, 0, 0, accounts.available, '', %(actor)s,
           accounts.points || ' points expired', %(now)s
    FROM accounts
    RETURNING id, account_id
),
allocations AS (
    INSERT INTO loyalty_lotallocation (entry_id, lot_id, points)
    SELECT entries.id, due.id, due.remaining FROM due JOIN entries ON entries.account_id = due.account_id
),
zeroed AS (
    UPDATE loyalty_pointlot l SET remaining = 0 FROM due WHERE l.id = due.id
)
SELECT COALESCE(SUM(points), 0), COUNT(*), COALESCE(SUM(lots), 0) FROM totals
"""


def _expire_chunk_in_one_statement(accounts: list[Account], now: dt.datetime) -> tuple[int, int, int]:
    """(points, members, lots) expired for these locked accounts, on PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute(EXPIRE_CHUNK_SQL, {"accounts": [a.pk for a in accounts], "now": now, "actor": ACTOR})
        points, members, lots = cursor.fetchone()
    return int(points), int(members), int(lots)


def expire_points(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Expire every due lot's remainder. Rerunning changes nothing."""
    run = JobRun("expire_points")
    program = program_get()
    inactivity = program.expiry_policy == Program.ExpiryPolicy.INACTIVITY
    due = _due_lots(program, now)
    if due is None:
        return run
    one_statement = connection.vendor == "postgresql" and not inactivity

    def candidates(after: int):
        return account_ids_after(PointLot.objects.filter(due), after, limit=chunk_size)

    def work(accounts: list[Account]) -> None:
        if one_statement:
            points, members, lots = _expire_chunk_in_one_statement(accounts, now)
            if members:
                run.add(points_expired=points, members=members, lots=lots)
            return
        by_id = {account.pk: account for account in accounts}
        rows = (
            PointLot.objects.filter(due, account_id__in=by_id)
            .order_by("account_id", "id")
            .values_list("id", "account_id", "remaining", "expires_at", "created_at")
        )
        lots = [
            (lot_id, account_id, remaining)
            for lot_id, account_id, remaining, expires_at, created_at in rows
            if (expires_at is not None and expires_at <= now)
            or (
                inactivity
                and inactivity_expires_at(by_id[account_id].last_purchase_at, created_at, program.expiry_months) <= now
            )
        ]
        if not lots:
            return
        per_account: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for lot_id, account_id, remaining in lots:
            per_account[account_id].append((lot_id, remaining))
        entries = entries_insert(
            [
                entry_build(
                    by_id[account_id],
                    kind=LedgerEntry.Kind.EXPIRE,
                    points=-sum(r for _, r in drawn),
                    now=now,
                    cause=Cause(actor=ACTOR, description=f"{sum(r for _, r in drawn)} points expired"),
                )  # fmt: skip
                for account_id, drawn in per_account.items()
            ]
        )
        LotAllocation.objects.bulk_create(
            [
                LotAllocation(entry_id=entry.pk, lot_id=lot_id, points=remaining)
                for entry in entries
                for lot_id, remaining in per_account[entry.account_id]
            ]
        )
        PointLot.objects.filter(pk__in=[lot_id for lot_id, _, _ in lots]).update(remaining=0)
        accounts_update([by_id[account_id] for account_id in per_account], ["available"])
        run.add(points_expired=sum(remaining for _, _, remaining in lots), members=len(per_account), lots=len(lots))

    return run_chunks(run, rows=Account.objects, candidates=candidates, work=work, chunk_size=chunk_size)
