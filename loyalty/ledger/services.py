"""The only code that moves points. Each service is one transaction that locks the member's account row
before it reads a balance, so concurrent writes for one member serialize and different members run in
parallel. Lots are only ever written under their account's lock, so they need no lock of their own.

Statement counts do not grow with the number of lots a member holds: lots to draw from are picked by
one windowed query, changed by one UPDATE and recorded by one INSERT of allocations.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import BigIntegerField, Case, F, Sum, Value, When, Window

from loyalty.errors import EntryNotFound, InsufficientPoints, InvalidRequest, InvalidState, MemberNotFound
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
    """Points taken from one lot."""

    lot_id: int
    points: int


def points_validate(points: object, *, param: str = "points") -> int:
    """A whole number of points in 1..MAX_POINTS, or InvalidRequest(invalid_points)."""
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidRequest("Points must be a whole number.", code="invalid_points", param=param)
    if not 1 <= points <= MAX_POINTS:
        raise InvalidRequest(
            f"Points must lie between 1 and {MAX_POINTS}.", code="invalid_points", param=param
        )
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


def accounts_lock(*, member_ids: list[int]) -> dict[int, Account]:
    """Lock several accounts in id order (the one lock order every writer follows)."""
    return {member_id: account_lock(member_id=member_id) for member_id in sorted(set(member_ids))}


def _member_id(member: Member) -> int:
    if not isinstance(member, Member) or member.pk is None:
        raise MemberNotFound(param="member")
    return member.pk


def _entry_new(
    account: Account,
    *,
    kind: str,
    points: int,
    now: dt.datetime,
    pending_points: int = 0,
    held_points: int = 0,
    shop: Shop | None = None,
    reference: str = "",
    actor: str = "",
    description: str = "",
    reverses: LedgerEntry | None = None,
) -> LedgerEntry:
    """Apply the entry to the (locked) account's balances and insert it. The caller saves the account."""
    account.available += points
    account.pending += pending_points
    account.held += held_points
    return LedgerEntry.objects.create(
        public_id=public_id_new("ent"),
        account=account,
        kind=kind,
        points=points,
        pending_points=pending_points,
        held_points=held_points,
        balance_after=account.available,
        shop=shop,
        reference=reference[:64],
        actor=actor[:100],
        description=description[:255],
        reverses=reverses,
        created_at=now,
    )


def _account_save(account: Account) -> None:
    Account.objects.filter(pk=account.pk).update(
        available=account.available, pending=account.pending, held=account.held
    )


def lots_draw_plan(*, account_id: int, points: int) -> list[Draw]:
    """Which available lots `points` come from, soonest-expiring first (never-expiring last).

    One query: a running sum picks just the lots needed, however many the member holds."""
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
    """Take (sign=1) or give back (sign=-1) points of lots for `entry` and record the allocations."""
    draws = [d for d in draws if d.points]
    if not draws:
        return
    _lots_update(draws, sign=sign)
    LotAllocation.objects.bulk_create(
        [LotAllocation(entry=entry, lot_id=d.lot_id, points=sign * d.points) for d in draws]
    )


def _lots_update(draws: list[Draw], *, sign: int) -> None:
    """One UPDATE ... CASE for all lots touched, without reading them first."""
    PointLot.objects.filter(pk__in=[d.lot_id for d in draws]).update(
        remaining=F("remaining")
        - Case(
            *[When(pk=d.lot_id, then=Value(sign * d.points)) for d in draws], output_field=BigIntegerField()
        )
    )


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
    Raises InvalidRequest (invalid_points, invalid_kind, invalid_expires_at), MemberNotFound."""
    points = points_validate(points)
    if kind not in CREDIT_KINDS:
        raise InvalidRequest(f"{kind!r} is not a credit.", code="invalid_kind", param="kind")
    available_at = available_at or now
    if expires_at is not None and expires_at <= available_at:
        raise InvalidRequest(
            "Points cannot expire before they become available.",
            code="invalid_expires_at",
            param="expires_at",
        )
    account = account_lock(member_id=_member_id(member))
    pending = available_at > now
    common = {"shop": shop, "reference": reference, "actor": actor, "description": description}
    if pending:
        entry = _entry_new(account, kind=kind, points=0, pending_points=points, now=now, **common)
        debt = 0
    else:
        debt = min(points, max(0, -account.available))
        entry = _entry_new(account, kind=kind, points=points, now=now, **common)
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
    _account_save(account)
    return entry


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
    Raises InsufficientPoints, InvalidRequest (invalid_points, invalid_kind), MemberNotFound."""
    points = points_validate(points)
    if kind not in DEBIT_KINDS:
        raise InvalidRequest(f"{kind!r} is not a debit.", code="invalid_kind", param="kind")
    if allow_negative and kind != Kind.CLAWBACK:
        raise InvalidRequest("Only a claw-back may overdraw.", code="invalid_kind", param="kind")
    account = account_lock(member_id=_member_id(member))
    if account.available < points and not allow_negative:
        raise InsufficientPoints(available=account.available, requested=points)
    draws = lots_draw_plan(account_id=account.pk, points=min(points, max(account.available, 0)))
    entry = _entry_new(
        account,
        kind=kind,
        points=-points,
        now=now,
        shop=shop,
        reference=reference,
        actor=actor,
        description=description,
    )
    _lots_apply(entry, draws)
    _account_save(account)
    return entry


@transaction.atomic
def points_expire(
    *, member: Member, now: dt.datetime, actor: str = "job:expire_points"
) -> LedgerEntry | None:
    """Expire whatever is left of the member's lots due by `now`, as one entry; None if nothing is due.

    Running it again changes nothing. Raises MemberNotFound."""
    account = account_lock(member_id=_member_id(member))
    due = list(
        PointLot.objects.filter(account=account, pending=False, remaining__gt=0, expires_at__lte=now)
        .order_by(*DRAW_ORDER)
        .values_list("id", "remaining")
    )
    total = sum(remaining for _, remaining in due)
    if not total:
        return None
    entry = _entry_new(
        account, kind=Kind.EXPIRE, points=-total, now=now, actor=actor, description=f"{total} points expired"
    )
    _lots_apply(entry, [Draw(lot_id, remaining) for lot_id, remaining in due])
    _account_save(account)
    return entry


@transaction.atomic
def debit_cancel(
    *, entry: LedgerEntry, now: dt.datetime, actor: str = "", description: str = ""
) -> LedgerEntry:
    """Reverse a redemption or debit adjustment: its points go back to the lots they came from.

    A lot that has expired meanwhile gets its points back and the next expiry run takes them. If the
    balance is negative, the returned points settle that debt first.
    Raises EntryNotFound, InvalidState (not a reversible debit, or already reversed)."""
    if not isinstance(entry, LedgerEntry) or entry.pk is None:
        raise EntryNotFound(param="entry")
    account = Account.objects.filter(pk=entry.account_id).values_list("member_id", flat=True).first()
    account = account_lock(member_id=account)
    entry = LedgerEntry.objects.filter(pk=entry.pk).first()  # re-read under the lock
    if entry.kind not in REVERSIBLE_KINDS or entry.points >= 0:
        raise InvalidState("Only a redemption or a debit adjustment can be cancelled.", param="entry")
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise InvalidState("This debit has already been cancelled.", param="entry")

    drawn = (
        LotAllocation.objects.filter(entry=entry)
        .order_by(*(F(f"lot__{f.expression.name}").asc(nulls_last=True) for f in DRAW_ORDER))
        .values_list("lot_id", "points")
    )
    debt = max(0, -account.available)
    returns = []
    for lot_id, points in drawn:
        paid = min(debt, points)
        debt -= paid
        returns.append(Draw(lot_id, points - paid))
    reversal = _entry_new(
        account,
        kind=Kind.REVERSAL,
        points=-entry.points,
        now=now,
        shop=entry.shop,
        reference=entry.reference,
        actor=actor,
        description=description or f"cancels {entry.public_id}",
        reverses=entry,
    )
    _lots_apply(reversal, returns, sign=-1)
    _account_save(account)
    return reversal
