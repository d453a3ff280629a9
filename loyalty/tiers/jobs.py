"""`recalculate_tiers`: the only place a member goes down a tier.

For every account: a member whose qualifying points reach a higher tier is upgraded; once the tier's
`valid_until` has passed, a member who still qualifies keeps it for another window, and one who does not
moves to the highest tier they qualify for (or none). Each move is a TierChange row. Members without an
account yet (enrolled before tiers placed them at enrollment) get one first, so they are upgraded into
the base tier like any account holding no tier.
"""

import datetime as dt

from django.db import connection, transaction
from django.db.models import Sum

from loyalty.earning.models import Transaction
from loyalty.jobs.runner import JobRun, run_chunks
from loyalty.ledger.bulk import accounts_update
from loyalty.ledger.models import Account
from loyalty.program.selectors import program_get
from loyalty.tiers.models import TierChange
from loyalty.tiers.selectors import rank_of, tier_by_id, tier_for, tiers_all
from loyalty.tiers.services import window_start
from members.models import Member

# On PostgreSQL a chunk is one statement: qualifying points, the best tier, the decision (the same rules as
# `work` below), the accounts and the TierChange rows together.
RECALCULATE_CHUNK_SQL = """
WITH claimed AS (
    SELECT id, member_id FROM loyalty_account WHERE id = ANY(%(accounts)s) FOR UPDATE SKIP LOCKED
),
qualifying AS (
    SELECT c.id AS account_id, COALESCE(SUM(t.qualifying_points), 0) AS points
    FROM claimed c
    LEFT JOIN loyalty_transaction t ON t.member_id = c.member_id AND t.occurred_at > %(since)s
    GROUP BY c.id
),
placed AS (
    SELECT a.id, a.tier_id, a.tier_valid_until, q.points, cur.rank AS cur_rank, cur.threshold AS cur_threshold,
           best.id AS best_id, best.rank AS best_rank
    FROM loyalty_account a
    JOIN qualifying q ON q.account_id = a.id
    LEFT JOIN loyalty_tier cur ON cur.id = a.tier_id
    LEFT JOIN LATERAL (
        SELECT id, rank FROM loyalty_tier WHERE threshold <= q.points ORDER BY rank DESC LIMIT 1
    ) best ON TRUE
),
decided AS (
    SELECT id, tier_id, points, best_id,
           CASE
               WHEN COALESCE(best_rank, -1) > COALESCE(cur_rank, -1) THEN 'upgrade'
               WHEN tier_id IS NOT NULL AND (tier_valid_until IS NULL OR tier_valid_until <= %(now)s)
                    AND points < cur_threshold THEN 'downgrade'
               WHEN tier_id IS NOT NULL AND (tier_valid_until IS NULL OR tier_valid_until <= %(now)s) THEN 'renewed'
           END AS outcome
    FROM placed
),
accounts AS (
    UPDATE loyalty_account a
    SET tier_id = CASE WHEN d.outcome = 'renewed' THEN a.tier_id ELSE d.best_id END,
        tier_valid_until = CASE WHEN d.outcome <> 'renewed' AND d.best_id IS NULL THEN NULL ELSE %(renewed)s END
    FROM decided d
    WHERE a.id = d.id AND d.outcome IS NOT NULL
),
changes AS (
    INSERT INTO loyalty_tierchange
        (account_id, from_tier_id, to_tier_id, reason, qualifying_points, valid_until, created_at)
    SELECT id, tier_id, best_id, outcome, points, CASE WHEN best_id IS NULL THEN NULL ELSE %(renewed)s END, %(now)s
    FROM decided WHERE outcome IN ('upgrade', 'downgrade')
)
SELECT outcome, COUNT(*) FROM decided GROUP BY outcome
"""


def accounts_open_missing(*, chunk_size: int = 1000) -> int:
    """Open an (empty, tierless) account for every member who has none; how many were opened. One chunk
    per transaction; an account a checkout opens meanwhile is simply skipped."""
    opened = 0
    while True:
        with transaction.atomic():
            ids = list(
                Member.objects.filter(account__isnull=True).order_by("pk").values_list("pk", flat=True)[:chunk_size]
            )
            if not ids:
                return opened
            Account.objects.bulk_create([Account(member_id=member_id) for member_id in ids], ignore_conflicts=True)
        opened += len(ids)


def recalculate_tiers(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Bring every member's tier in line with their qualifying points. Rerunning changes nothing."""
    run = JobRun("recalculate_tiers")
    program = program_get()
    tiers = tiers_all()
    since = window_start(program, now)
    renewed_until = now + dt.timedelta(days=program.tier_window_days)

    def candidates(after: int):
        return Account.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:chunk_size]

    def chunks_in_one_statement() -> JobRun:
        """The PostgreSQL path: each chunk claims its accounts (SKIP LOCKED) inside the one statement."""
        after = 0
        while True:
            with transaction.atomic():
                ids = list(candidates(after))
                if not ids:
                    return run
                after = ids[-1]
                params = {"accounts": ids, "since": since, "now": now, "renewed": renewed_until}
                with connection.cursor() as cursor:
                    cursor.execute(RECALCULATE_CHUNK_SQL, params)
                    outcomes = cursor.fetchall()
            run.chunks += 1
            run.accounts += sum(count for _, count in outcomes)
            for outcome, count in outcomes:
                if outcome is not None:
                    run.add(**{"renewed" if outcome == "renewed" else f"{outcome}s": count})

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
    if tiers and (opened := accounts_open_missing(chunk_size=chunk_size)):
        run.add(accounts_opened=opened)
    if connection.vendor == "postgresql":
        return chunks_in_one_statement()
    return run_chunks(run, rows=Account.objects, candidates=candidates, work=work, chunk_size=chunk_size)
