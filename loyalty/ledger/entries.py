"""Ledger entries: what one entry may move, who and what it is for, and how it changes the locked account's
balances. Entries are append-only: a mistake is fixed by a new entry."""

import datetime as dt
from dataclasses import dataclass

from loyalty.ledger.errors import InvalidPoints, PointsOutOfRange
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.shops.models import Shop
from members.public_ids import public_id_new

MAX_POINTS = 1_000_000_000  # one entry moves at most a billion points


@dataclass(frozen=True)
class Cause:
    """Who and what an entry is for; copied onto every entry a service writes."""

    shop: Shop | None = None
    transaction_id: int | None = None
    reference: str = ""
    actor: str = ""
    description: str = ""


NO_CAUSE = Cause()  # the default of the building blocks: an entry no shop, transaction or person caused


def points_validate(points: object, *, param: str = "points") -> int:
    """A whole number of points in 1..MAX_POINTS: the one rule, which the API's points fields apply too.
    Raises InvalidPoints (not a whole number), PointsOutOfRange."""
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidPoints(param=param)
    if points < 1:
        raise PointsOutOfRange("Ensure this value is greater than or equal to 1.", param=param)
    if points > MAX_POINTS:
        raise PointsOutOfRange(f"Ensure this value is less than or equal to {MAX_POINTS}.", param=param)
    return points


def entry_build(
    account: Account,
    *,
    kind: str,
    points: int,
    now: dt.datetime,
    cause: Cause,
    pending_points: int = 0,
    held_points: int = 0,
    reverses: LedgerEntry | None = None,
) -> LedgerEntry:
    """Apply an entry to the locked account's balances and return it unsaved (jobs insert many at once).
    The caller saves the account."""
    account.available += points
    account.pending += pending_points
    account.held += held_points
    return LedgerEntry(
        public_id=public_id_new("ent"),
        account=account,
        kind=kind,
        points=points,
        pending_points=pending_points,
        held_points=held_points,
        balance_after=account.available,
        shop=cause.shop,
        transaction_id=cause.transaction_id,
        reference=cause.reference[:64],
        actor=cause.actor[:100],
        description=cause.description[:255],
        reverses=reverses,
        created_at=now,
    )


def entry_new(account: Account, **entry) -> LedgerEntry:
    """`entry_build`, inserted."""
    built = entry_build(account, **entry)
    built.save(force_insert=True)
    return built


def account_save(account: Account) -> None:
    """Write the locked account's balances, tier and activity back (one UPDATE)."""
    Account.objects.filter(pk=account.pk).update(
        available=account.available, pending=account.pending, held=account.held, tier_id=account.tier_id,
        tier_valid_until=account.tier_valid_until, last_purchase_at=account.last_purchase_at,
        plan_id=account.plan_id, plan_benefits_until=account.plan_benefits_until,
    )  # fmt: skip
