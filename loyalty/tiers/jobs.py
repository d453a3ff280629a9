"""`recalculate_tiers`: the only place a member goes down a tier.

For every account, `tier_decide` (the rule checkout applies too) with `review=True`: a member whose
qualifying points reach a higher tier is upgraded; once the tier's `valid_until` has passed, a member who
still qualifies keeps it for another window, and one who does not moves to the highest tier they qualify
for (or none). Each move is a TierChange row. Members without an account yet (enrolled before tiers placed
them at enrollment) get one first, so they are upgraded into the base tier like any account holding no tier.

Qualifying points are the base points of purchases in the last `tier_window_days`, net of refunds: the
sum of `qualifying_points` of the member's rows in `loyalty_transaction` (the purchases table, read here
by its name, since earning builds on tiers and not the other way round) with `occurred_at` after the
window's start. Each chunk is three statements whatever it holds: its accounts locked together with their
qualifying points, the TierChange rows inserted, the changed accounts updated.
"""

import datetime as dt
from collections import Counter, defaultdict

from django.db import connection
from django.db.models import BigIntegerField, Case, DateTimeField, F, Field, Value, When
from django.db.models.expressions import RawSQL

from loyalty.jobs.runner import JobRun, run_chunks
from loyalty.ledger.models import Account
from loyalty.program.selectors import program_get
from loyalty.tiers.models import TierChange
from loyalty.tiers.services import RENEWED, TierMove, tier_decide, tiers_all, window_start
from members.models import Member

QUALIFYING_POINTS = """
SELECT COALESCE(SUM(purchase.qualifying_points), 0) FROM loyalty_transaction purchase
WHERE purchase.member_id = loyalty_account.member_id AND purchase.occurred_at > %s
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


def _by_value(values: dict[int, object], output_field: Field, default=None) -> Case:
    """One CASE over account ids grouped by the value each takes: as many branches as distinct values."""
    groups: dict[object, list[int]] = defaultdict(list)
    for pk, value in values.items():
        groups[value].append(pk)
    whens = [When(pk__in=pks, then=Value(value, output_field=output_field)) for value, pks in groups.items()]
    return Case(*whens, default=default, output_field=output_field)


def _moves_write(moves: dict[int, tuple[TierMove, int]], now: dt.datetime) -> None:
    """The chunk's moves, {account id: (move, qualifying points)}: TierChange rows, then the accounts."""
    TierChange.objects.bulk_create(
        [
            TierChange(
                account_id=pk,
                from_tier=move.from_tier,
                to_tier=move.to_tier,
                reason=move.reason,
                qualifying_points=qualifying,
                valid_until=move.valid_until,
                created_at=now,
            )
            for pk, (move, qualifying) in moves.items()
            if move.reason != RENEWED
        ]
    )
    Account.objects.filter(pk__in=moves).update(
        tier_id=_by_value({pk: move.to_tier and move.to_tier.pk for pk, (move, _) in moves.items()},
                          BigIntegerField(), default=F("tier_id")),
        tier_valid_until=_by_value({pk: move.valid_until for pk, (move, _) in moves.items()}, DateTimeField()),
    )  # fmt: skip


def recalculate_tiers(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Bring every member's tier in line with their qualifying points. Rerunning changes nothing."""
    run = JobRun("recalculate_tiers")
    program = program_get()
    tiers = tiers_all()
    if not tiers and not Account.objects.filter(tier__isnull=False).exists():
        return run
    if tiers and (opened := accounts_open_missing(chunk_size=chunk_size)):
        run.add(accounts_opened=opened)
    tier_of = {tier.pk: tier for tier in tiers}
    since = connection.ops.adapt_datetimefield_value(window_start(program, now))
    accounts = Account.objects.annotate(
        qualifying=RawSQL(QUALIFYING_POINTS, [since], output_field=BigIntegerField())  # noqa: S611 (constant SQL)
    ).values_list("pk", "tier_id", "tier_valid_until", "qualifying")

    def candidates(after: int):
        return Account.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:chunk_size]

    def work(claimed: list[tuple[int, int | None, dt.datetime | None, int]]) -> None:
        moves = {}
        for pk, tier_id, valid_until, qualifying in claimed:
            move = tier_decide(
                tier_of.get(tier_id), valid_until, qualifying=qualifying, now=now,
                window_days=program.tier_window_days, tiers=tiers, review=True,
            )  # fmt: skip
            if move is not None:
                moves[pk] = (move, qualifying)
        if moves:
            _moves_write(moves, now)
            outcomes = Counter(move.reason for move, _ in moves.values())
            run.add(**{(reason if reason == RENEWED else f"{reason}s"): count for reason, count in outcomes.items()})

    return run_chunks(run, rows=accounts, candidates=candidates, work=work, chunk_size=chunk_size)
