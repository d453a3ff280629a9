"""`recalculate_tiers`: the only place a member goes down a tier.

For every account, the rule `tier_decide` states (and checkout applies): a member whose qualifying points
reach a higher tier is upgraded; once the tier's `valid_until` has passed, a member who still qualifies
keeps it for another window, and one who does not moves to the highest tier they qualify for (or none).
Each move is a TierChange row. Members without an account yet (enrolled before tiers placed them at
enrollment) get one first, so they are upgraded into the base tier like any account holding no tier.

The job decides in SQL that SQLite and PostgreSQL both run, two statements per chunk of accounts
`run_chunks` has locked, whatever it holds: the moves (qualifying points, the best tier they reach, the
decision) inserted as TierChange rows, then one UPDATE of the moved accounts and of the lapsed tiers that
were not moved, which are renewed. tests/loyalty/tiers/test_recalculate_job_books.py pins these
statements to `tier_decide` on both databases. Qualifying points are the base points of purchases in the last
`tier_window_days`, net of refunds: the sum of `qualifying_points` over the member's rows of
`loyalty_transaction` (the purchases table, read here by its name, since earning builds on tiers and not
the other way round) with `occurred_at` after the window's start, as `qualifying_points` in
loyalty/earning/selectors.py counts them at checkout.
"""

import datetime as dt
from collections import defaultdict

from django.db import connection

from loyalty.jobs.runner import JobRun, ids_sql, run_chunks
from loyalty.ledger.models import Account
from loyalty.program.selectors import program_get
from loyalty.tiers.models import TierChange
from loyalty.tiers.selectors import tiers_all
from loyalty.tiers.services import window_start
from members.models import Member

# A tier is lapsed once its validity has passed; an upgrade needs a better tier than the one held (none: -1);
# a downgrade needs a lapsed tier and points below its threshold, and goes to the best tier they reach.
MOVES_INSERT = """
WITH qualifying AS (
    SELECT account.id, account.tier_id, account.tier_valid_until,
           COALESCE(SUM(purchase.qualifying_points), 0) AS points
    FROM loyalty_account account
    LEFT JOIN loyalty_transaction purchase
        ON purchase.member_id = account.member_id AND purchase.occurred_at > %(since)s
    WHERE account.id IN ({accounts})
    GROUP BY account.id, account.tier_id, account.tier_valid_until
),
placed AS (
    SELECT qualifying.*, held.rank AS held_rank, held.threshold AS held_threshold,
           (SELECT tier.id FROM loyalty_tier tier WHERE tier.threshold <= qualifying.points
            ORDER BY tier.rank DESC LIMIT 1) AS best_id
    FROM qualifying LEFT JOIN loyalty_tier held ON held.id = qualifying.tier_id
),
decided AS (
    SELECT placed.*,
           CASE
               WHEN COALESCE(best.rank, -1) > COALESCE(placed.held_rank, -1) THEN %(upgrade)s
               WHEN placed.tier_id IS NOT NULL
                    AND (placed.tier_valid_until IS NULL OR placed.tier_valid_until <= %(now)s)
                    AND placed.points < placed.held_threshold THEN %(downgrade)s
           END AS reason
    FROM placed LEFT JOIN loyalty_tier best ON best.id = placed.best_id
)
INSERT INTO loyalty_tierchange
    (account_id, from_tier_id, to_tier_id, reason, qualifying_points, valid_until, created_at)
SELECT id, tier_id, best_id, reason, points, CASE WHEN best_id IS NOT NULL THEN %(renewed)s END, %(now)s
FROM decided
WHERE reason IS NOT NULL
ORDER BY id
RETURNING account_id, to_tier_id, reason
"""

# The moved accounts take their move's tier ({moved_to}: one branch per tier moved to) and validity; what is
# still lapsed and holds a tier after the moves reaches it (or it would have moved down): renewed.
ACCOUNTS_UPDATE = """
UPDATE loyalty_account
SET tier_id = CASE WHEN id IN ({to_none}) THEN NULL {moved_to} ELSE tier_id END,
    tier_valid_until = CASE WHEN id IN ({to_none}) THEN NULL ELSE %(renewed)s END
WHERE id IN ({moved})
   OR (id IN ({accounts}) AND tier_id IS NOT NULL AND (tier_valid_until IS NULL OR tier_valid_until <= %(now)s))
"""


def accounts_open_missing(*, chunk_size: int = 1000) -> int:
    """Open an (empty, tierless) account for every member who has none; how many were opened. Members are
    claimed in chunks like accounts (`run_chunks`); an account a checkout opens meanwhile is simply skipped."""

    def candidates(after: int):
        missing = Member.objects.filter(pk__gt=after, account__isnull=True).order_by("pk")
        return missing.values_list("pk", flat=True)[:chunk_size]

    def work(member_ids: list[int]) -> None:
        Account.objects.bulk_create([Account(member_id=member_id) for member_id in member_ids], ignore_conflicts=True)

    opening = JobRun("accounts_open_missing", unit="members")
    run_chunks(opening, rows=Member.objects.values_list("pk", flat=True), candidates=candidates, work=work,
               chunk_size=chunk_size)  # fmt: skip
    return opening.accounts


def recalculate_tiers(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Bring every member's tier in line with their qualifying points. Rerunning changes nothing."""
    run = JobRun("recalculate_tiers")
    program = program_get()
    tiers = tiers_all()
    if not tiers and not Account.objects.filter(tier__isnull=False).exists():
        return run
    if tiers and (opened := accounts_open_missing(chunk_size=chunk_size)):
        run.add(accounts_opened=opened)
    at = connection.ops.adapt_datetimefield_value
    params = {
        "since": at(window_start(program, now)), "now": at(now),
        "renewed": at(now + dt.timedelta(days=program.tier_window_days)),
        "upgrade": TierChange.Reason.UPGRADE, "downgrade": TierChange.Reason.DOWNGRADE,
    }  # fmt: skip

    def candidates(after: int):
        return Account.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:chunk_size]

    def work(accounts: list[int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(MOVES_INSERT.format(accounts=ids_sql(accounts)), params)
            moves = cursor.fetchall()
            moved_to = defaultdict(list)
            for account_id, tier_id, _ in moves:
                moved_to[tier_id].append(account_id)
            branches = " ".join(
                f"WHEN id IN ({ids_sql(ids)}) THEN {int(tier_id)}" for tier_id, ids in moved_to.items() if tier_id
            )
            cursor.execute(
                ACCOUNTS_UPDATE.format(
                    to_none=ids_sql(moved_to[None]) or "NULL", moved_to=branches,
                    moved=ids_sql(account_id for account_id, _, _ in moves) or "NULL", accounts=ids_sql(accounts),
                ),
                params,
            )  # fmt: skip
            renewed = cursor.rowcount - len(moves)
        for reason in (TierChange.Reason.UPGRADE, TierChange.Reason.DOWNGRADE):
            if count := sum(1 for _, _, moved_as in moves if moved_as == reason):
                run.add(**{f"{reason}s": count})
        if renewed:
            run.add(renewed=renewed)

    rows = Account.objects.values_list("pk", flat=True)
    return run_chunks(run, rows=rows, candidates=candidates, work=work, chunk_size=chunk_size)
