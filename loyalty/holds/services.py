"""Points as payment: hold, then capture (partially or fully) or void. Every step is a ledger entry."""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from loyalty.errors import MemberInactive
from loyalty.holds.errors import HoldNotActive
from loyalty.holds.models import Hold
from loyalty.idempotency.services import create_or_replay, replay
from loyalty.ledger.entries import Cause
from loyalty.ledger.errors import InvalidPoints
from loyalty.ledger.holding import account_capture, account_hold, account_release
from loyalty.ledger.locking import account_lock, member_locked
from loyalty.ledger.models import Account
from loyalty.ledger.selectors import account_of
from loyalty.program.selectors import program_get
from loyalty.shops.models import Shop
from members.models import Member
from members.public_ids import public_id_new


@dataclass(frozen=True)
class HoldResult:
    """A hold and the member's account after the step; `created` is True only for a new hold."""

    hold: Hold
    account: Account | None
    created: bool = False


def _cause(hold: Hold, shop: Shop, description: str, actor: str = "") -> Cause:
    return Cause(
        shop=shop, reference=f"hold:{hold.public_id}", actor=actor or f"shop:{shop.code}", description=description
    )


def hold_create(
    *, shop: Shop, member: Member, points: int, external_id: str, fingerprint: str, now: dt.datetime
) -> HoldResult:
    """Move `points` from the member's available balance to held.

    Idempotent on (shop, external_id). Raises InsufficientPoints, MemberInactive, IdempotencyConflict."""
    return create_or_replay(
        lambda: _hold_create(
            shop=shop, member=member, points=points, external_id=external_id, fingerprint=fingerprint, now=now
        ),
        replayed=lambda hold: HoldResult(hold, account_of(member)),
        model=Hold, shop=shop, external_id=external_id, fingerprint=fingerprint, what="hold",
    )  # fmt: skip


@transaction.atomic
def _hold_create(
    *, shop: Shop, member: Member, points: int, external_id: str, fingerprint: str, now: dt.datetime
) -> HoldResult:
    program = program_get()
    account = account_lock(member_id=member.pk)
    existing = Hold.objects.filter(shop=shop, external_id=external_id).first()
    if existing is not None:
        return HoldResult(replay(existing, fingerprint, what="hold"), account)
    if member_locked(member_id=member.pk).status != Member.Status.ACTIVE:
        raise MemberInactive(param="member")
    hold = Hold(
        public_id=public_id_new("hld"), shop=shop, member=member, external_id=external_id,
        request_hash=fingerprint, points=points, created_at=now,
        expires_at=now + dt.timedelta(minutes=program.hold_ttl_minutes),
    )  # fmt: skip
    hold.entry = account_hold(account, points=points, now=now, cause=_cause(hold, shop, f"hold {external_id}"))
    hold.save(force_insert=True)
    return HoldResult(hold, account, created=True)


def _locked_active(hold: Hold, now: dt.datetime) -> tuple[Hold, Account]:
    account = account_lock(member_id=hold.member_id)
    hold = Hold.objects.select_related("entry", "shop").get(pk=hold.pk)
    if hold.status != Hold.Status.HELD:
        raise HoldNotActive(f"The hold is {hold.status}.", param="hold")
    if hold.expires_at <= now:
        raise HoldNotActive("The hold has expired; its points go back to the member.", param="hold")
    return hold, account


@transaction.atomic
def hold_capture(*, hold: Hold, points: int | None, now: dt.datetime) -> HoldResult:
    """Spend `points` (all when None) of an active hold and give the rest back.

    Raises HoldNotActive, InvalidPoints for more than is held."""
    hold, account = _locked_active(hold, now)
    points = hold.points if points is None else points
    if not 1 <= points <= hold.points:
        raise InvalidPoints(f"A capture takes 1 to {hold.points} points.", param="points")
    account_capture(account, points=points, now=now, cause=_cause(hold, hold.shop, f"capture of {hold.external_id}"))
    if points < hold.points:
        account_release(
            account, hold_entry=hold.entry, points=hold.points - points, now=now,
            cause=_cause(hold, hold.shop, f"rest of {hold.external_id} released on capture"),
        )  # fmt: skip
    return _resolve(hold, account, Hold.Status.CAPTURED, now, captured_points=points)


@transaction.atomic
def hold_void(*, hold: Hold, now: dt.datetime, actor: str = "") -> HoldResult:
    """Give all of an active hold back to available. Raises HoldNotActive. The release entry's actor is the
    hold's shop unless `actor` (e.g. `staff:<username>`) names who else voided it."""
    hold, account = _locked_active(hold, now)
    account_release(
        account, hold_entry=hold.entry, points=hold.points, now=now,
        cause=_cause(hold, hold.shop, f"void of {hold.external_id}", actor),
    )  # fmt: skip
    return _resolve(hold, account, Hold.Status.VOIDED, now)


@transaction.atomic
def hold_release_open(*, hold: Hold, now: dt.datetime, actor: str) -> HoldResult | None:
    """Give back a hold that is still `held`, whether or not its time ran out: voided while it could still be
    captured, expired (as `release_expired_holds` would) after. None when it was already resolved."""
    account = account_lock(member_id=hold.member_id)
    hold = Hold.objects.select_related("entry", "shop").get(pk=hold.pk)
    if hold.status != Hold.Status.HELD:
        return None
    if hold.expires_at > now:
        return hold_void(hold=hold, now=now, actor=actor)
    account_release(
        account, hold_entry=hold.entry, points=hold.points, now=now,
        cause=_cause(hold, hold.shop, f"hold {hold.external_id} expired", actor),
    )  # fmt: skip
    return _resolve(hold, account, Hold.Status.EXPIRED, now)


def _resolve(hold: Hold, account: Account, status: str, now: dt.datetime, captured_points: int = 0) -> HoldResult:
    Hold.objects.filter(pk=hold.pk).update(status=status, captured_points=captured_points, resolved_at=now)
    hold.status, hold.captured_points, hold.resolved_at = status, captured_points, now
    return HoldResult(hold, account)
