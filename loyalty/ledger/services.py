"""The only code that moves points.

Public services (`points_*`, `debit_cancel`) are one transaction each and lock the member's account row
before they read a balance, so concurrent writes for one member serialize and different members run in
parallel. The `account_*` functions are their building blocks for other services (earning, refunds,
holds) that already hold the lock: they must be called inside a transaction, with an account returned by
`account_lock`. Lots are only written under their account's lock, so they need no lock of their own.

Statement counts do not grow with the number of lots a member holds: lots to draw from are picked by one
windowed query, changed by one UPDATE and recorded by one INSERT of allocations.
"""

import datetime as dt
from dataclasses import dataclass, replace

from django.db import transaction
from django.db.models import BigIntegerField, Case, F, Sum, Value, When, Window

from loyalty.errors import InvalidState, MemberNotFound
from loyalty.ledger.errors import EntryNotFound, InsufficientPoints, InvalidExpiresAt, InvalidKind, InvalidPoints
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.shops.models import Shop
from members.models import Member
from members.public_ids import public_id_new

MAX_POINTS = 1_000_000_000  # one entry moves at most a billion points
Kind = LedgerEntry.Kind
CREDIT_KINDS = frozenset({Kind.EARN, Kind.BONUS, Kind.ADJUST})
DEBIT_KINDS = frozenset({Kind.REDEEM, Kind.ADJUST, Kind.CLAWBACK})
REVERSIBLE_KINDS = frozenset({Kind.REDEEM, Kind.ADJUST})
DRAW_ORDER = (F("expires_at").asc(nulls_last=True), F("id").asc())


@dataclass(frozen=True)
class Draw:
    """Points taken from (or given back to) one lot."""

    lot_id: int
    points: int


@dataclass(frozen=True)
class Cause:
    """Who and what an entry is for; copied onto every entry a service writes."""

    shop: Shop | None = None
    transaction_id: int | None = None
    reference: str = ""
    actor: str = ""
    description: str = ""


def points_validate(points: object, *, param: str = "points") -> int:
    """A whole number of points in 1..MAX_POINTS, or InvalidPoints."""
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidPoints(param=param)
    if not 1 <= points <= MAX_POINTS:
        raise InvalidPoints(f"Points must lie between 1 and {MAX_POINTS}.", param=param)
    return points


def account_lock(*, member_id: int) -> Account:
    """Lock the member's account row for this transaction (creating it on first use).

    Raises MemberNotFound for an unknown member."""
    account = Account.objects.select_for_update().filter(member_id=member_id).first()
    if account is None:
        if not isinstance(member_id, int) or not Member.objects.filter(pk=member_id).exists():
            raise MemberNotFound(param="member")
        # Two first writes may race to create the row: the loser's insert is a no-op, both then lock it.
        Account.objects.bulk_create([Account(member_id=member_id)], ignore_conflicts=True)
        account = Account.objects.select_for_update().get(member_id=member_id)
    return account


def account_lock_for(*, public_id: str | None = None, card_number: str | None = None) -> Account:
    """Lock the account of the member with this public id or card number, member loaded, in one query.

    Raises MemberNotFound (param `member` or `card_number`)."""
    where, param = ({"public_id": public_id}, "member") if public_id else ({"card_number": card_number}, "card_number")
    matching = (
        Account.objects.select_for_update(of=("self",))
        .select_related("member")
        .filter(**{f"member__{field}": value for field, value in where.items()})
    )
    account = next(iter(matching[:1]), None)  # not .first(): its ORDER BY costs compile time on every purchase
    if account is None:  # unknown member, or one without an account yet
        member = Member.objects.filter(**where).first()
        if member is None:
            raise MemberNotFound(param=param)
        account = account_lock(member_id=member.pk)
        account.member = member
    return account


def accounts_lock(*, member_ids: list[int]) -> dict[int, Account]:
    """Lock several accounts in member id order (the one lock order every writer follows)."""
    return {member_id: account_lock(member_id=member_id) for member_id in sorted(set(member_ids))}


def member_id_of(member: Member) -> int:
    if not isinstance(member, Member) or member.pk is None:
        raise MemberNotFound(param="member")
    return member.pk


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


def _entry_new(account: Account, **entry) -> LedgerEntry:
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


def lots_draw_plan(*, account_id: int, points: int) -> list[Draw]:
    """Which available lots `points` come from, soonest-expiring first (never-expiring last).

    One query: a running sum picks just the lots needed, however many the member holds. Lots already past
    their expiry but not yet expired by the job are drawn first: until the job runs they are spendable."""
    if points <= 0:
        return []
    rows = (
        PointLot.objects.filter(account_id=account_id, pending=False, remaining__gt=0)
        .annotate(before=Window(Sum("remaining"), order_by=DRAW_ORDER) - F("remaining"))
        .filter(before__lt=points)
        .order_by(*DRAW_ORDER)
        .values_list("id", "remaining", "before")
    )
    return [Draw(lot_id, min(remaining, points - before)) for lot_id, remaining, before in rows]


def _lots_apply(entry: LedgerEntry, draws: list[Draw], *, sign: int = 1) -> None:
    """Take (sign=1) or give back (sign=-1) points of lots for `entry` and record the allocations:
    one UPDATE ... CASE and one INSERT, however many lots."""
    draws = [d for d in draws if d.points]
    if not draws:
        return
    PointLot.objects.filter(pk__in=[d.lot_id for d in draws]).update(
        remaining=F("remaining")
        - Case(*[When(pk=d.lot_id, then=Value(sign * d.points)) for d in draws], output_field=BigIntegerField())
    )
    LotAllocation.objects.bulk_create(
        [LotAllocation(entry=entry, lot_id=d.lot_id, points=sign * d.points) for d in draws]
    )


def returns_after_debt(account: Account, returns: list[Draw]) -> list[Draw]:
    """Points coming back to lots first pay off a negative balance; the lots keep what is left."""
    debt = max(0, -account.available)
    kept = []
    for draw in returns:
        paid = min(debt, draw.points)
        debt -= paid
        kept.append(Draw(draw.lot_id, draw.points - paid))
    return kept


def _allocations_of(entry: LedgerEntry, *, latest_expiring_first: bool = False) -> list[Draw]:
    """What `entry` still holds of each lot (its draws less what was already given back), in draw order."""
    order = [
        F("lot__expires_at").desc(nulls_first=True)
        if latest_expiring_first
        else F("lot__expires_at").asc(nulls_last=True),
        F("lot_id").desc() if latest_expiring_first else F("lot_id").asc(),
    ]
    rows = (
        LotAllocation.objects.filter(entry=entry)
        .values("lot_id")
        .annotate(points=Sum("points"))
        .order_by(*order)
        .values_list("lot_id", "points")
    )
    return [Draw(lot_id, points) for lot_id, points in rows if points > 0]


# --- building blocks for services that hold the account lock -------------------------------------------


def account_credit(
    account: Account,
    *,
    points: int,
    now: dt.datetime,
    kind: str = Kind.EARN,
    available_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    cause: Cause = Cause(),
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
    cause: Cause = Cause(),
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
        expired = _entry_new(
            account, kind=Kind.EXPIRE, points=-lot.remaining, now=now, cause=replace(cause, description=description)
        )
        _lots_apply(expired, [Draw(lot.pk, lot.remaining)])
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
        entry = _entry_new(account, kind=kind, points=0, pending_points=points, now=now, cause=cause)
        debt = 0
    else:
        debt = min(points, max(0, -account.available))
        entry = _entry_new(account, kind=kind, points=points, now=now, cause=cause)
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
    cause: Cause = Cause(),
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
    entry = _entry_new(account, kind=kind, points=-points, now=now, cause=cause)
    _lots_apply(entry, draws)
    account_save(account)
    return entry


def account_pending_cancel(
    account: Account, *, lot: PointLot, points: int, now: dt.datetime, cause: Cause = Cause()
) -> LedgerEntry:
    """Cancel `points` of a pending lot (a refund before the points became available)."""
    if not lot.pending or not 1 <= points <= lot.remaining or lot.account_id != account.pk:
        raise InvalidState("Only points still pending in this lot can be cancelled.", param="points")
    entry = _entry_new(account, kind=Kind.CLAWBACK, points=0, pending_points=-points, now=now, cause=cause)
    _lots_apply(entry, [Draw(lot.pk, points)])
    account_save(account)
    return entry


def account_hold(account: Account, *, points: int, now: dt.datetime, cause: Cause = Cause()) -> LedgerEntry:
    """Move `points` from available to held, drawing lots soonest-expiring first."""
    points = points_validate(points)
    if account.available < points:
        raise InsufficientPoints(available=account.available, requested=points)
    draws = lots_draw_plan(account_id=account.pk, points=points)
    entry = _entry_new(account, kind=Kind.HOLD, points=-points, held_points=points, now=now, cause=cause)
    _lots_apply(entry, draws)
    account_save(account)
    return entry


def account_release(
    account: Account, *, hold_entry: LedgerEntry, points: int, now: dt.datetime, cause: Cause = Cause()
) -> LedgerEntry:
    """Give `points` of a hold back to available and to the lots the hold drew from (latest-expiring
    first, so what stays captured is what would have expired soonest)."""
    points = points_validate(points)
    returns, left = [], points
    for draw in _allocations_of(hold_entry, latest_expiring_first=True):
        take = min(left, draw.points)
        returns.append(Draw(draw.lot_id, take))
        left -= take
    if left or account.held < points:
        raise InvalidState("The hold does not hold that many points.", param="points")
    returns = returns_after_debt(account, returns)
    entry = _entry_new(account, kind=Kind.RELEASE, points=points, held_points=-points, now=now, cause=cause)
    _lots_apply(entry, returns, sign=-1)
    account_save(account)
    return entry


def account_capture(account: Account, *, points: int, now: dt.datetime, cause: Cause = Cause()) -> LedgerEntry:
    """Spend `points` of what is held: they leave the books."""
    points = points_validate(points)
    if account.held < points:
        raise InvalidState("The account does not hold that many points.", param="points")
    entry = _entry_new(account, kind=Kind.CAPTURE, points=0, held_points=-points, now=now, cause=cause)
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
    entry = _entry_new(account, kind=Kind.EXPIRE, points=-total, now=now, cause=cause)
    _lots_apply(entry, [Draw(lot_id, remaining) for lot_id, remaining in due])
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
    returns = returns_after_debt(account, _allocations_of(entry))
    cause = Cause(
        shop=entry.shop,
        transaction_id=entry.transaction_id,
        reference=entry.reference,
        actor=actor,
        description=description or f"cancels {entry.public_id}",
    )
    reversal = _entry_new(account, kind=Kind.REVERSAL, points=-entry.points, now=now, cause=cause, reverses=entry)
    _lots_apply(reversal, returns, sign=-1)
    account_save(account)
    return reversal
