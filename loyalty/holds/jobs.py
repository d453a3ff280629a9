"""`release_expired_holds`: holds not captured within `hold_ttl_minutes` give their points back (`expired`).

Each hold gets a `release` entry returning its points to the lots it drew from; a negative balance is
settled first, as any return of points does.
"""

import datetime as dt
from collections import defaultdict

from django.db.models import BigIntegerField, Case, F, Sum, Value, When

from loyalty.holds.models import Hold
from loyalty.jobs.runner import JobRun, run_chunks
from loyalty.ledger.bulk import accounts_update, entries_insert
from loyalty.ledger.entries import Cause, entry_build
from loyalty.ledger.lots import Draw, returns_after_debt
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot

ACTOR = "job:release_expired_holds"


def release_expired_holds(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Release every hold past its expiry. Rerunning changes nothing."""
    run = JobRun("release_expired_holds")
    due = Hold.objects.filter(status=Hold.Status.HELD, expires_at__lte=now)

    def candidates(after: int):
        return (
            due.filter(entry__account_id__gt=after)
            .order_by("entry__account_id")
            .values_list("entry__account_id", flat=True)
            .distinct()[:chunk_size]
        )

    def work(accounts: list[Account]) -> None:
        by_id = {account.pk: account for account in accounts}
        holds = list(due.filter(entry__account_id__in=by_id).select_related("entry", "shop").order_by("id"))
        if not holds:
            return
        held_lots: dict[int, list[tuple[int, int]]] = defaultdict(list)  # hold entry -> (lot, points) to return
        rows = (
            LotAllocation.objects.filter(entry_id__in=[hold.entry_id for hold in holds])
            .values("entry_id", "lot_id")
            .annotate(points=Sum("points"))
            .order_by("entry_id", "lot_id")
            .values_list("entry_id", "lot_id", "points")
        )
        for entry_id, lot_id, points in rows:
            if points > 0:
                held_lots[entry_id].append((lot_id, points))
        entries, returns = [], []
        for hold in holds:
            account = by_id[hold.entry.account_id]
            back = returns_after_debt(account, [Draw(lot, points) for lot, points in held_lots[hold.entry_id]])
            lots = [(draw.lot_id, draw.points) for draw in back if draw.points]
            cause = Cause(
                shop=hold.shop, reference=f"hold:{hold.public_id}", actor=ACTOR,
                description=f"hold {hold.external_id} expired",
            )  # fmt: skip
            entry = entry_build(
                account,
                kind=LedgerEntry.Kind.RELEASE,
                points=hold.points,
                held_points=-hold.points,
                now=now,
                cause=cause,
            )
            entries.append(entry)
            returns.append(lots)
        entries_insert(entries)
        LotAllocation.objects.bulk_create(
            [
                LotAllocation(entry_id=entry.pk, lot_id=lot_id, points=-points)
                for entry, lots in zip(entries, returns, strict=True)
                for lot_id, points in lots
            ]
        )
        back: dict[int, int] = defaultdict(int)
        for lots in returns:
            for lot_id, points in lots:
                back[lot_id] += points
        if back:
            PointLot.objects.filter(pk__in=back).update(
                remaining=F("remaining")
                + Case(
                    *[When(pk=lot, then=Value(points)) for lot, points in back.items()], output_field=BigIntegerField()
                )
            )
        Hold.objects.filter(pk__in=[hold.pk for hold in holds]).update(status=Hold.Status.EXPIRED, resolved_at=now)
        accounts_update(list({hold.entry.account_id: by_id[hold.entry.account_id] for hold in holds}.values()),
                        ["available", "held"])  # fmt: skip
        run.add(holds_released=len(holds), points_released=sum(hold.points for hold in holds))

    return run_chunks(run, rows=Account.objects, candidates=candidates, work=work, chunk_size=chunk_size)
