"""`recalculate_tiers`: the only place a member goes down a tier.

For every account: a member whose qualifying points reach a higher tier is upgraded; once the tier's
`valid_until` has passed, a member who still qualifies keeps it for another window, and one who does not
moves to the highest tier they qualify for (or none). Each move is a TierChange row.
"""

import datetime as dt

from django.db.models import Sum

from loyalty.earning.models import Transaction
from loyalty.jobs.runner import JobRun, accounts_update, run_chunks
from loyalty.ledger.models import Account
from loyalty.program.selectors import program_get
from loyalty.tiers.models import TierChange
from loyalty.tiers.services import rank_of, tier_by_id, tier_for, tiers_all, window_start


def recalculate_tiers(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Bring every member's tier in line with their qualifying points. Rerunning changes nothing."""
    run = JobRun("recalculate_tiers")
    program = program_get()
    tiers = tiers_all()
    since = window_start(program, now)
    renewed_until = now + dt.timedelta(days=program.tier_window_days)

    def candidates(after: int):
        return Account.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:chunk_size]

    def work(accounts: list[Account]) -> None:
        qualifying = dict(
            Transaction.objects.filter(member_id__in=[a.member_id for a in accounts], occurred_at__gt=since)
            .values("member_id")
            .annotate(points=Sum("qualifying_points"))
            .order_by()
            .values_list("member_id", "points")
        )
        changed, moves = [], []
        for account in accounts:
            points = qualifying.get(account.member_id, 0)
            current, best = tier_by_id(account.tier_id), tier_for(points, tiers)
            expired = current is not None and (account.tier_valid_until is None or account.tier_valid_until <= now)
            if rank_of(best) > rank_of(current):
                reason = TierChange.Reason.UPGRADE
            elif expired and points < current.threshold:
                reason = TierChange.Reason.DOWNGRADE
            elif expired:  # still qualifies: another full window
                account.tier_valid_until = renewed_until
                changed.append(account)
                run.add(renewed=1)
                continue
            else:
                continue
            moves.append(
                TierChange(
                    account=account,
                    from_tier=current,
                    to_tier=best,
                    reason=reason,
                    qualifying_points=points,
                    valid_until=renewed_until if best else None,
                    created_at=now,
                )  # fmt: skip
            )
            account.tier, account.tier_valid_until = best, renewed_until if best else None
            changed.append(account)
            run.add(**{f"{reason}s": 1})
        accounts_update(changed, ["tier", "tier_valid_until"])
        TierChange.objects.bulk_create(moves)

    if not tiers and not Account.objects.filter(tier__isnull=False).exists():
        return run
    return run_chunks(run, candidates=candidates, work=work, chunk_size=chunk_size)
