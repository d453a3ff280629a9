"""`activate_pending_points`: pending lots whose `available_at` has come move to available.

One `activate` entry per member per run. If the member's balance is negative (a claw-back overdrew it),
the activated points settle that debt first, as a credit would.
"""

import datetime as dt
from collections import defaultdict

from django.db.models import BigIntegerField, Case, F, Q, Value, When

from loyalty.earning.models import Transaction
from loyalty.jobs.runner import JobRun, run_chunks
from loyalty.ledger.bulk import account_ids_after, accounts_update, entries_insert
from loyalty.ledger.entries import Cause, entry_build
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot

ACTOR = "job:activate_pending_points"


def activate_pending_points(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Make due pending points available. Rerunning changes nothing."""
    run = JobRun("activate_pending_points")
    due = Q(pending=True, available_at__lte=now, remaining__gt=0)  # a refunded pending lot has nothing left

    def candidates(after: int):
        return account_ids_after(PointLot.objects.filter(due), after, limit=chunk_size)

    def work(accounts: list[Account]) -> None:
        by_id = {account.pk: account for account in accounts}
        lots = list(
            PointLot.objects.filter(due, account_id__in=by_id)
            .order_by("account_id", F("expires_at").asc(nulls_last=True), "id")
            .values_list("id", "account_id", "remaining", "entry__transaction_id")
        )
        if not lots:
            return
        per_account: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for lot_id, account_id, remaining, _ in lots:
            per_account[account_id].append((lot_id, remaining))
        settled: dict[int, int] = {}  # lot id -> points that paid back a negative balance
        entries = []
        for account_id, activated in per_account.items():
            account = by_id[account_id]
            debt = max(0, -account.available)
            for lot_id, remaining in activated:
                paid = min(debt, remaining)
                if paid:
                    settled[lot_id], debt = paid, debt - paid
            total = sum(remaining for _, remaining in activated)
            entries.append(
                entry_build(
                    account,
                    kind=LedgerEntry.Kind.ACTIVATE,
                    points=total,
                    pending_points=-total,
                    now=now,
                    cause=Cause(actor=ACTOR, description=f"{total} pending points became available"),
                )  # fmt: skip
            )
        entries_insert(entries)
        entry_of = {entry.account_id: entry.pk for entry in entries}
        if settled:
            lot_account = {lot_id: account_id for lot_id, account_id, _, _ in lots}
            LotAllocation.objects.bulk_create(
                [
                    LotAllocation(entry_id=entry_of[lot_account[lot]], lot_id=lot, points=paid)
                    for lot, paid in settled.items()
                ]
            )
        PointLot.objects.filter(pk__in=[lot_id for lot_id, _, _, _ in lots]).update(
            pending=False,
            remaining=F("remaining")
            - Case(*[When(pk=lot, then=Value(paid)) for lot, paid in settled.items()], default=Value(0),
                   output_field=BigIntegerField()),
        )  # fmt: skip
        Transaction.objects.filter(pk__in={txn for _, _, _, txn in lots if txn}).update(
            points_status=Transaction.PointsStatus.AVAILABLE
        )
        accounts_update([by_id[account_id] for account_id in per_account], ["available", "pending"])
        run.add(points_activated=sum(remaining for _, _, remaining, _ in lots), members=len(per_account))

    return run_chunks(run, rows=Account.objects, candidates=candidates, work=work, chunk_size=chunk_size)
