"""Manual point adjustments: the one service the admin, the API and the portal call.

An adjustment is written to the ledger as one entry of kind `adjust`: a credit as a new lot that expires
under the program's policy like earned points, a debit drawn from lots like a redemption. It never takes
the balance below zero. More points than the program's `adjustment_approval_points` wait for a second
person's approval (four-eyes); the balance is checked again when they are posted.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from loyalty.adjustments.errors import (
    AdjustmentNotFound,
    AdjustmentNotPending,
    InvalidNote,
    InvalidReason,
    SelfApproval,
)
from loyalty.adjustments.models import Adjustment
from loyalty.earning.services import lot_expires_at
from loyalty.idempotency.services import create_or_replay, replay
from loyalty.ledger.entries import Cause, points_validate
from loyalty.ledger.errors import InsufficientPoints, InvalidPoints
from loyalty.ledger.locking import account_lock_for, member_id_of
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.ledger.selectors import account_of
from loyalty.ledger.services import account_credit, account_debit
from loyalty.program.selectors import program_get
from loyalty.shops.models import Shop
from members.errors import MemberInactive
from members.models import Member
from members.public_ids import public_id_new

NOTE_MAX_LENGTH = 500


@dataclass(frozen=True)
class AdjustmentResult:
    """An adjustment and the member's account after the step; `created` is True only for a new one."""

    adjustment: Adjustment
    account: Account | None
    created: bool = False


def points_adjust(
    *,
    member: Member,
    points: int,
    reason: str,
    note: str,
    actor: str,
    now: dt.datetime,
    shop: Shop | None = None,
    external_id: str | None = None,
    fingerprint: str = "",
) -> AdjustmentResult:
    """Add (`points` > 0) or take (`points` < 0) points by hand, as `actor` (`staff:<username>`,
    `shop:<code>`). Posted at once, or `pending_approval` when |points| is above the program's
    `adjustment_approval_points`.

    With `shop` and `external_id` it is idempotent: the same request again returns the original.
    A debit larger than the balance is refused at once, even one that would wait for approval; a closed (or
    erased) member's points no longer change.
    Raises InsufficientPoints (nothing is written), InvalidPoints, PointsOutOfRange, InvalidReason,
    InvalidNote, MemberNotFound, MemberInactive, IdempotencyConflict."""
    _validate(points=points, reason=reason, note=note)
    if external_id is None:
        return _points_adjust(member=member, points=points, reason=reason, note=note, actor=actor, now=now,
                              shop=shop, external_id=None, fingerprint=fingerprint)  # fmt: skip
    return create_or_replay(
        lambda: _points_adjust(member=member, points=points, reason=reason, note=note, actor=actor, now=now,
                               shop=shop, external_id=external_id, fingerprint=fingerprint),
        replayed=lambda adjustment: AdjustmentResult(adjustment, account_of(member)),
        model=Adjustment, shop=shop, external_id=external_id, fingerprint=fingerprint, what="adjustment",
    )  # fmt: skip


def _validate(*, points: object, reason: object, note: object) -> None:
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidPoints(param="points")
    if points == 0:
        raise InvalidPoints("An adjustment adds or takes at least one point.", param="points")
    points_validate(abs(points))
    if reason not in Adjustment.Reason.values:
        raise InvalidReason(f"The reason must be one of {', '.join(Adjustment.Reason.values)}.", param="reason")
    if not isinstance(note, str) or not note.strip() or len(note) > NOTE_MAX_LENGTH:
        raise InvalidNote(f"A note of 1 to {NOTE_MAX_LENGTH} characters says why.", param="note")


@transaction.atomic
def _points_adjust(
    *, member: Member, points: int, reason: str, note: str, actor: str, now: dt.datetime, shop: Shop | None,
    external_id: str | None, fingerprint: str,
) -> AdjustmentResult:  # fmt: skip
    account = account_lock_for(member_id=member_id_of(member))  # the member row locked with it, as committed now
    if external_id is not None:
        existing = Adjustment.objects.filter(shop=shop, external_id=external_id).select_related("entry").first()
        if existing is not None:
            return AdjustmentResult(replay(existing, fingerprint, what="adjustment"), account)
    _refuse_closed(account)
    program = program_get()
    limit = program.adjustment_approval_points
    if points < 0 and account.available < -points:  # refused now, not after a second person looked at it
        raise InsufficientPoints(available=account.available, requested=-points)
    adjustment = Adjustment(
        public_id=public_id_new("adj"), member_id=account.member_id, points=points, reason=reason, note=note,
        requested_by=actor, shop=shop, external_id=external_id or "", request_hash=fingerprint, created_at=now,
    )  # fmt: skip
    if limit is not None and abs(points) > limit:
        adjustment.status = Adjustment.Status.PENDING_APPROVAL
    else:
        adjustment.entry = _post(account, adjustment, actor=actor, now=now)
        adjustment.status = Adjustment.Status.POSTED
        adjustment.decided_at = now
    adjustment.save(force_insert=True)
    return AdjustmentResult(adjustment, account, created=True)


def _post(account: Account, adjustment: Adjustment, *, actor: str, now: dt.datetime) -> LedgerEntry:
    """The adjustment's ledger entry on the locked account. Raises InsufficientPoints."""
    cause = Cause(
        shop=adjustment.shop, reference=f"adjustment:{adjustment.public_id}", actor=actor,
        # The reason only: the ledger is append-only, and a note may name the person, which erasure must be able
        # to remove (it scrubs the adjustment's row; the entry's reference leads there).
        description=f"{adjustment.reason} adjustment",
    )  # fmt: skip
    if adjustment.points > 0:
        expires_at = lot_expires_at(program_get(), now)
        return account_credit(
            account, points=adjustment.points, now=now, kind=LedgerEntry.Kind.ADJUST, expires_at=expires_at,
            cause=cause,
        )  # fmt: skip
    if account.available < -adjustment.points:
        raise InsufficientPoints(available=account.available, requested=-adjustment.points)
    return account_debit(account, points=-adjustment.points, now=now, kind=LedgerEntry.Kind.ADJUST, cause=cause)


def _locked_pending(adjustment: Adjustment) -> tuple[Adjustment, Account]:
    """The account locked first (the lock order of every ledger write), then the adjustment re-read."""
    if not isinstance(adjustment, Adjustment) or adjustment.pk is None:
        raise AdjustmentNotFound(param="adjustment")
    account = account_lock_for(member_id=adjustment.member_id)
    locked = Adjustment.objects.select_for_update(of=("self",)).select_related("shop").filter(pk=adjustment.pk).first()
    if locked is None:
        raise AdjustmentNotFound(param="adjustment")
    if locked.status != Adjustment.Status.PENDING_APPROVAL:
        raise AdjustmentNotPending(f"The adjustment is {locked.status}.", param="adjustment")
    return locked, account


def _refuse_closed(account: Account) -> None:
    """The member's status as committed now (locked with the account): a closed or erased member's points no
    longer change."""
    if account.member.status == Member.Status.CLOSED:
        raise MemberInactive("The member is closed: their points no longer change.", param="member")


@transaction.atomic
def adjustment_approve(*, adjustment: Adjustment, approver: str, now: dt.datetime) -> AdjustmentResult:
    """Post a pending adjustment, as `approver` (`staff:<username>`), who must not be who asked for it.

    The balance is checked again now: a debit that would take it below zero is refused and stays pending.
    Two approvals at once post it once; the second is refused.
    Raises SelfApproval, AdjustmentNotPending, AdjustmentNotFound, InsufficientPoints, MemberInactive (the
    member was closed meanwhile)."""
    adjustment, account = _locked_pending(adjustment)
    if not approver or approver == adjustment.requested_by:
        raise SelfApproval(param="approver")
    _refuse_closed(account)
    adjustment.entry = _post(account, adjustment, actor=approver, now=now)
    adjustment.status, adjustment.decided_by, adjustment.decided_at = Adjustment.Status.POSTED, approver, now
    adjustment.save(update_fields=["entry", "status", "decided_by", "decided_at"])
    return AdjustmentResult(adjustment, account)


@transaction.atomic
def adjustment_reject(*, adjustment: Adjustment, rejecter: str, now: dt.datetime) -> AdjustmentResult:
    """Refuse a pending adjustment; nothing is written to the ledger. Anyone may, its requester too
    (withdrawing it).
    Raises AdjustmentNotPending, AdjustmentNotFound."""
    adjustment, account = _locked_pending(adjustment)
    adjustment.status, adjustment.decided_by, adjustment.decided_at = Adjustment.Status.REJECTED, rejecter, now
    adjustment.save(update_fields=["status", "decided_by", "decided_at"])
    return AdjustmentResult(adjustment, account)
