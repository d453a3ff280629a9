"""The only code that credits and debits points.

Public services (`points_*`, `debit_cancel`) are one transaction each and lock the member's account row
(`loyalty.ledger.locking`) before they read a balance. The `account_*` functions are their building blocks
for other services (earning, refunds, subscriptions, rewards) that already hold the lock: they must be
called inside a transaction, with an account returned by `account_lock`.
"""

import datetime as dt
from dataclasses import replace

from django.db import transaction

from loyalty.errors import InvalidState
from loyalty.ledger.entries import NO_CAUSE, Cause, account_save, entry_new, points_validate
from loyalty.ledger.errors import EntryNotFound, InsufficientPoints, InvalidExpiresAt, InvalidKind
from loyalty.ledger.locking import account_lock, member_id_of
from loyalty.ledger.lots import DRAW_ORDER, Draw, allocations_of, lots_apply, lots_draw_plan, returns_after_debt
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.shops.models import Shop
from members.models import Member

Kind = LedgerEntry.Kind
CREDIT_KINDS = frozenset({Kind.EARN, Kind.BONUS, Kind.ADJUST})
DEBIT_KINDS = frozenset({Kind.REDEEM, Kind.ADJUST, Kind.CLAWBACK})
REVERSIBLE_KINDS = frozenset({Kind.REDEEM, Kind.ADJUST})


# --- building blocks for services that hold the account lock -------------------------------------------


def account_credit(
    account: Account,
    *,
    points: int,
    now: dt.datetime,
    kind: str = Kind.EARN,
    available_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    cause: Cause = NO_CAUSE,
) -> LedgerEntry:
    """Credit `points` to a locked account as a new lot; pending until `available_at` if that is later
    than `now`. A credit to a negative balance first settles the debt; the lot keeps what is left."""
    points = _credit_validate(points, kind)
    available_at = available_at or now
    if expires_at is not None and expires_at <= available_at:
        raise InvalidExpiresAt(param="expires_at")
    entry, _ = _lot_new(account, points=points, now=now, kind=kind, available_at=available_at,
                        expires_at=expires_at, cause=cause)  # fmt: skip
    account_save(account)
    return entry


def account_credit_expired(
    account: Account,
    *,
    points: int,
    now: dt.datetime,
    expires_at: dt.datetime,
    kind: str = Kind.EARN,
    cause: Cause = NO_CAUSE,
) -> tuple[LedgerEntry, LedgerEntry | None]:
    """Credit `points` that expire no later than they could become available (a purchase reported after
    its points' expiry): the credit and their expiry are written together at `now`, so they are never
    spendable and the expiry job finds nothing left of them. The lot keeps its real `expires_at`.

    Like any credit, they first settle a negative balance; only the rest expires. Returns (the credit
    entry, the expire entry, or None when the debt took every point)."""
    points = _credit_validate(points, kind)
    entry, lot = _lot_new(account, points=points, now=now, kind=kind, available_at=now, expires_at=expires_at,
                          cause=cause)  # fmt: skip
    expired = None
    if lot.remaining:
        description = f"{lot.remaining} points expired on arrival (due {expires_at:%Y-%m-%d})"
        expired = entry_new(
            account, kind=Kind.EXPIRE, points=-lot.remaining, now=now, cause=replace(cause, description=description)
        )
        lots_apply(expired, [Draw(lot.pk, lot.remaining)])
    account_save(account)
    return entry, expired


def _credit_validate(points: object, kind: str) -> int:
    points = points_validate(points)
    if kind not in CREDIT_KINDS:
        raise InvalidKind(f"{kind!r} is not a credit.", param="kind")
    return points


def _lot_new(
    account: Account, *, points: int, now: dt.datetime, kind: str, available_at: dt.datetime,
    expires_at: dt.datetime | None, cause: Cause,
) -> tuple[LedgerEntry, PointLot]:  # fmt: skip
    """The credit entry and its lot (pending when `available_at` is after `now`); a negative balance is
    settled from the lot first. The caller saves the account."""
    pending = available_at > now
    if pending:
        entry = entry_new(account, kind=kind, points=0, pending_points=points, now=now, cause=cause)
        debt = 0
    else:
        debt = min(points, max(0, -account.available))
        entry = entry_new(account, kind=kind, points=points, now=now, cause=cause)
    lot = PointLot.objects.create(
        account=account,
        entry=entry,
        amount=points,
        remaining=points - debt,
        pending=pending,
        available_at=available_at,
        expires_at=expires_at,
        created_at=now,
    )
    if debt:  # the part of the lot that paid back a negative balance
        LotAllocation.objects.create(entry=entry, lot=lot, points=debt)
    return entry, lot


def account_debit(
    account: Account,
    *,
    points: int,
    now: dt.datetime,
    kind: str = Kind.REDEEM,
    allow_negative: bool = False,
    cause: Cause = NO_CAUSE,
) -> LedgerEntry:
    """Take `points` from a locked account's available balance, soonest-expiring lots first.

    Only a claw-back may take the balance below zero, and only with `allow_negative`."""
    points = points_validate(points)
    if kind not in DEBIT_KINDS:
        raise InvalidKind(f"{kind!r} is not a debit.", param="kind")
    if allow_negative and kind != Kind.CLAWBACK:
        raise InvalidKind("Only a claw-back may overdraw.", param="kind")
    if account.available < points and not allow_negative:
        raise InsufficientPoints(available=account.available, requested=points)
    draws = lots_draw_plan(account_id=account.pk, points=min(points, max(account.available, 0)))
    entry = entry_new(account, kind=kind, points=-points, now=now, cause=cause)
    lots_apply(entry, draws)
    account_save(account)
    return entry


def account_pending_cancel(
    account: Account, *, lot: PointLot, points: int, now: dt.datetime, cause: Cause = NO_CAUSE
) -> LedgerEntry:
    """Cancel `points` of a pending lot (a refund before the points became available)."""
    if not lot.pending or not 1 <= points <= lot.remaining or lot.account_id != account.pk:
        raise InvalidState("Only points still pending in this lot can be cancelled.", param="points")
    entry = entry_new(account, kind=Kind.CLAWBACK, points=0, pending_points=-points, now=now, cause=cause)
    lots_apply(entry, [Draw(lot.pk, points)])
    account_save(account)
    return entry


# --- public services -------------------------------------------------------------------------------------


@transaction.atomic
def points_credit(
    *,
    member: Member,
    points: int,
    now: dt.datetime,
    kind: str = Kind.EARN,
    available_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    shop: Shop | None = None,
    reference: str = "",
    actor: str = "",
    description: str = "",
) -> LedgerEntry:
    """Credit `points` as a new lot. With `available_at` after `now` they are pending until then.

    A credit to a negative balance first settles the debt; the lot keeps what is left.
    Raises InvalidPoints, InvalidKind, InvalidExpiresAt, MemberNotFound."""
    points = points_validate(points)
    account = account_lock(member_id=member_id_of(member))
    return account_credit(
        account, points=points, now=now, kind=kind, available_at=available_at, expires_at=expires_at,
        cause=Cause(shop=shop, reference=reference, actor=actor, description=description),
    )  # fmt: skip


@transaction.atomic
def points_debit(
    *,
    member: Member,
    points: int,
    now: dt.datetime,
    kind: str = Kind.REDEEM,
    allow_negative: bool = False,
    shop: Shop | None = None,
    reference: str = "",
    actor: str = "",
    description: str = "",
) -> LedgerEntry:
    """Take `points` from available, drawing lots soonest-expiring first.

    Only a claw-back may take the balance below zero, and only with `allow_negative`.
    Raises InsufficientPoints, InvalidPoints, InvalidKind, MemberNotFound."""
    points = points_validate(points)
    account = account_lock(member_id=member_id_of(member))
    return account_debit(
        account, points=points, now=now, kind=kind, allow_negative=allow_negative,
        cause=Cause(shop=shop, reference=reference, actor=actor, description=description),
    )  # fmt: skip


@transaction.atomic
def points_expire(*, member: Member, now: dt.datetime, actor: str = "job:expire_points") -> LedgerEntry | None:
    """Expire whatever is left of the member's lots due by `now`, as one entry; None if nothing is due.

    Running it again changes nothing. Raises MemberNotFound."""
    account = account_lock(member_id=member_id_of(member))
    due = list(
        PointLot.objects.filter(account=account, pending=False, remaining__gt=0, expires_at__lte=now)
        .order_by(*DRAW_ORDER)
        .values_list("id", "remaining")
    )
    total = sum(remaining for _, remaining in due)
    if not total:
        return None
    cause = Cause(actor=actor, description=f"{total} points expired")
    entry = entry_new(account, kind=Kind.EXPIRE, points=-total, now=now, cause=cause)
    lots_apply(entry, [Draw(lot_id, remaining) for lot_id, remaining in due])
    account_save(account)
    return entry


@transaction.atomic
def debit_cancel(*, entry: LedgerEntry, now: dt.datetime, actor: str = "", description: str = "") -> LedgerEntry:
    """Reverse a redemption or debit adjustment: its points go back to the lots they came from.

    A lot that has expired meanwhile gets its points back and the next expiry run takes them. If the
    balance is negative, the returned points settle that debt first.
    Raises EntryNotFound, InvalidState (not a reversible debit, or already reversed)."""
    if not isinstance(entry, LedgerEntry) or entry.pk is None:
        raise EntryNotFound(param="entry")
    # The stored entry decides which account is locked, not the caller's copy of it.
    member_id = LedgerEntry.objects.filter(pk=entry.pk).values_list("account__member_id", flat=True).first()
    if member_id is None:
        raise EntryNotFound(param="entry")
    account = account_lock(member_id=member_id)
    entry = LedgerEntry.objects.select_related("shop").get(pk=entry.pk)  # re-read under the lock
    if entry.kind not in REVERSIBLE_KINDS or entry.points >= 0:
        raise InvalidState("Only a redemption or a debit adjustment can be cancelled.", param="entry")
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise InvalidState("This debit has already been cancelled.", param="entry")
    returns = returns_after_debt(account, allocations_of(entry))
    cause = Cause(
        shop=entry.shop,
        transaction_id=entry.transaction_id,
        reference=entry.reference,
        actor=actor,
        description=description or f"cancels {entry.public_id}",
    )
    reversal = entry_new(account, kind=Kind.REVERSAL, points=-entry.points, now=now, cause=cause, reverses=entry)
    lots_apply(reversal, returns, sign=-1)
    account_save(account)
    return reversal
