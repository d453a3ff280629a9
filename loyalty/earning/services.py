"""Earning at checkout: transactions and their refunds."""

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from loyalty.calendar import months_add, year_end_after
from loyalty.db import service_atomic
from loyalty.earning.errors import (
    BackdateTooOld,
    OccurredAtInFuture,
    RefundAmountOutOfRange,
    RefundExceedsRemaining,
    TooManyPoints,
    TotalMismatch,
)
from loyalty.earning.models import Refund, Transaction
from loyalty.earning.rules import Earning, Line, Multiplier, Purchase, earning_calculate
from loyalty.earning.selectors import campaigns_running, points_expired_on_arrival, qualifying_points
from loyalty.errors import MemberInactive, UnsupportedCurrency
from loyalty.idempotency.services import create_or_replay, replay
from loyalty.ledger.entries import MAX_POINTS, Cause, account_save
from loyalty.ledger.locking import account_lock, account_lock_for, member_id_of
from loyalty.ledger.models import Account, LedgerEntry, PointLot
from loyalty.ledger.selectors import account_of
from loyalty.ledger.services import account_credit, account_credit_expired, account_debit, account_pending_cancel
from loyalty.money import money_str
from loyalty.program.models import Program
from loyalty.program.selectors import program_get
from loyalty.shops.models import Shop
from loyalty.subscriptions.benefits import plan_benefits_of
from loyalty.tiers.selectors import tier_held, tiers_all
from loyalty.tiers.services import account_tier_after_purchase, tier_change_record, window_start
from members.models import Member
from members.public_ids import public_id_new


@dataclass(frozen=True)
class MemberRef:
    """A member as a request names it: by public id or by card number."""

    public_id: str | None = None
    card_number: str | None = None


def _account_of(member: "Member | MemberRef") -> Account:
    if isinstance(member, MemberRef):
        return account_lock_for(public_id=member.public_id, card_number=member.card_number)
    account = account_lock(member_id=member_id_of(member))
    account.member = member
    return account


@dataclass(frozen=True)
class PurchaseResult:
    """A recorded purchase and the member's account after it; `created` is False for a retry."""

    transaction: Transaction
    account: Account | None
    created: bool


@dataclass(frozen=True)
class RefundResult:
    """A recorded refund and the member's account after it; `created` is False for a retry."""

    refund: Refund
    account: Account | None
    created: bool


def lot_expires_at(program: Program, occurred_at: dt.datetime) -> dt.datetime | None:
    """When a lot earned at `occurred_at` expires under the program's policy (None: with the policy
    `never`, or `inactivity`, where the expiry job takes everything after N months without purchase)."""
    if program.expiry_policy == Program.ExpiryPolicy.ROLLING:
        return months_add(occurred_at, program.expiry_months)
    if program.expiry_policy == Program.ExpiryPolicy.END_OF_YEAR:
        return year_end_after(occurred_at, program.expiry_years)
    return None


def line_as_json(line: Line) -> dict:
    return {
        "sku": line.sku,
        "category": line.category,
        "quantity": line.quantity,
        "unit_price": str(line.unit_price),
    }


def purchase_lines(total: Decimal, lines: Sequence[Line] | None) -> list[Line]:
    """The lines of a purchase; a purchase reported without lines is one line of its total."""
    if not lines:
        return [Line(sku="", category="", quantity=1, unit_price=total)]
    if sum((line.total for line in lines), Decimal(0)) != total:
        raise TotalMismatch(param="lines")
    return list(lines)


def purchase_earning(
    *, program: Program, shop: Shop, account: Account | None, occurred_at: dt.datetime, total: Decimal,
    lines: Sequence[Line], now: dt.datetime,
) -> Earning:  # fmt: skip
    """What a purchase earns with the member's multipliers in force before it is recorded: the tier they
    hold and the plan whose benefits they enjoy now (a backdated purchase earns at today's status, as it
    does for tiers)."""
    tier = tier_held(account)
    plan = plan_benefits_of(account, now=now)
    purchase = Purchase(
        program=program,
        shop_code=shop.code,
        occurred_at=occurred_at,
        total=total,
        lines=lines,
        campaigns=campaigns_running(at=occurred_at),
        tier_code=tier.code if tier else None,
        tier=Multiplier(f"tier:{tier.code}", tier.multiplier) if tier else None,
        plan=Multiplier(f"plan:{plan.code}", plan.multiplier) if plan else None,
    )
    earning = earning_calculate(purchase)
    if earning.points > MAX_POINTS:
        raise TooManyPoints()
    return earning


def _when(program: Program, occurred_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    occurred_at = occurred_at or now
    if occurred_at > now:
        raise OccurredAtInFuture(param="occurred_at")
    if occurred_at < now - dt.timedelta(days=program.max_backdate_days):
        raise BackdateTooOld(
            f"A purchase may be reported at most {program.max_backdate_days} days after it happened.",
            param="occurred_at",
        )
    return occurred_at


def _currency(program: Program, currency: str) -> None:
    if currency != program.currency:
        raise UnsupportedCurrency(f"The program runs in {program.currency}.", param="currency")


def transaction_preview(
    *, shop: Shop, member: Member | None, currency: str, total: Decimal, occurred_at: dt.datetime | None,
    lines: Sequence[Line] | None, now: dt.datetime,
) -> Earning:  # fmt: skip
    """What `transaction_create` would credit, writing nothing."""
    program = program_get()
    _currency(program, currency)
    occurred_at = _when(program, occurred_at, now)
    account = Account.objects.filter(member=member).first() if member is not None else None
    return purchase_earning(
        program=program, shop=shop, account=account, occurred_at=occurred_at, total=total,
        lines=purchase_lines(total, lines), now=now,
    )  # fmt: skip


def transaction_create(
    *, shop: Shop, member: "Member | MemberRef", external_id: str, currency: str, total: Decimal,
    occurred_at: dt.datetime | None, lines: Sequence[Line] | None, fingerprint: str, now: dt.datetime,
) -> PurchaseResult:  # fmt: skip
    """Record a purchase by `member` (a Member, or its public id or card number) and credit its points,
    with the member's account (balances, tier) after it.

    Idempotent on (shop, external_id): the same request again returns the original with created=False; a
    different request with that external_id raises IdempotencyConflict. Raises TotalMismatch,
    OccurredAtInFuture, TooManyPoints, UnsupportedCurrency, BackdateTooOld, MemberInactive, MemberNotFound."""
    return create_or_replay(
        lambda: _transaction_create(
            shop=shop, member=member, external_id=external_id, currency=currency, total=total,
            occurred_at=occurred_at, lines=lines, fingerprint=fingerprint, now=now,
        ),
        replayed=lambda txn: PurchaseResult(txn, account_of(txn.member), created=False),
        model=Transaction, shop=shop, external_id=external_id, fingerprint=fingerprint, what="transaction",
    )  # fmt: skip


@service_atomic
def _transaction_create(
    *, shop: Shop, member: "Member | MemberRef", external_id: str, currency: str, total: Decimal,
    occurred_at: dt.datetime | None, lines: Sequence[Line] | None, fingerprint: str, now: dt.datetime,
) -> PurchaseResult:  # fmt: skip
    program = program_get()
    account = _account_of(member)
    member = account.member
    existing = next(iter(Transaction.objects.filter(shop=shop, external_id=external_id)[:1]), None)
    if existing is not None:  # a retry: the account lock made it wait for the original to commit
        return PurchaseResult(replay(existing, fingerprint, what="transaction"), account, created=False)
    _currency(program, currency)
    occurred_at = _when(program, occurred_at, now)
    stored_lines = [line_as_json(line) for line in lines or ()]
    lines = purchase_lines(total, lines)
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive(param="member")
    earning = purchase_earning(
        program=program, shop=shop, account=account, occurred_at=occurred_at, total=total, lines=lines, now=now
    )
    available_at = max(occurred_at + dt.timedelta(days=program.pending_days), now)
    pending = available_at > now
    expires_at = lot_expires_at(program, occurred_at)
    # Reported after its points' expiry (or they would expire before becoming available): they are
    # credited and expired at once, never spendable.
    expired = bool(earning.points) and expires_at is not None and expires_at <= available_at
    if expired:
        points_status, pending, available_at = Transaction.PointsStatus.EXPIRED, False, now
    else:
        points_status = Transaction.PointsStatus.PENDING if pending else Transaction.PointsStatus.AVAILABLE
    txn = Transaction.objects.create(
        public_id=public_id_new("txn"), shop=shop, member=member, external_id=external_id,
        request_hash=fingerprint, occurred_at=occurred_at, currency=currency, total=total,
        eligible_amount=earning.eligible_amount, base_points=earning.base_points,
        qualifying_points=earning.base_points, points=earning.points, breakdown=earning.breakdown,
        points_status=points_status, available_at=available_at if pending else now, created_at=now, lines=stored_lines,
    )  # fmt: skip
    account.last_purchase_at = max(account.last_purchase_at or occurred_at, occurred_at)
    qualifying = qualifying_points(member_id=member.pk, since=window_start(program, now)) if tiers_all() else 0
    tier_move = account_tier_after_purchase(account, qualifying=qualifying, program=program, now=now)
    cause = Cause(shop=shop, transaction_id=txn.pk, reference=f"transaction:{txn.public_id}",
                  actor=f"shop:{shop.code}", description=f"purchase {external_id}")  # fmt: skip
    if expired:
        account_credit_expired(account, points=earning.points, now=now, expires_at=expires_at, cause=cause)
    elif earning.points:
        account_credit(
            account, points=earning.points, now=now, kind=LedgerEntry.Kind.EARN,
            available_at=available_at if pending else None, expires_at=expires_at, cause=cause,
        )  # fmt: skip
    else:
        account_save(account)
    if tier_move is not None:
        tier_change_record(account, tier_move, qualifying=qualifying, now=now)
    return PurchaseResult(txn, account, created=True)


def claw_back_target(*, points: int, total: Decimal, refunded: Decimal) -> int:
    """Points taken back after refunds totalling `refunded` of `total` (docs/API.md): exact, and all of them
    once everything is refunded."""
    if total <= 0:
        return 0
    return points - math.floor(points * (total - refunded) / total)


def refund_create(
    *, shop: Shop, txn: Transaction, external_id: str, amount: Decimal, fingerprint: str, now: dt.datetime
) -> RefundResult:
    """Refund `amount` of a transaction and claw back its share of the points, with the member's account
    after it.

    Pending points of the transaction are cancelled before available ones are taken. Without
    `allow_negative_balance`, what the balance cannot cover is forgiven. Idempotent on (shop, external_id).
    Raises RefundAmountOutOfRange, RefundExceedsRemaining, IdempotencyConflict."""
    return create_or_replay(
        lambda: _refund_create(
            shop=shop, txn=txn, external_id=external_id, amount=amount, fingerprint=fingerprint, now=now
        ),
        replayed=lambda refund: RefundResult(refund, account_of(txn.member), created=False),
        model=Refund, shop=shop, external_id=external_id, fingerprint=fingerprint, what="refund",
    )  # fmt: skip


@transaction.atomic
def _refund_create(
    *, shop: Shop, txn: Transaction, external_id: str, amount: Decimal, fingerprint: str, now: dt.datetime
) -> RefundResult:
    if not isinstance(amount, Decimal) or amount <= 0:
        raise RefundAmountOutOfRange(param="amount")
    program = program_get()
    account = account_lock(member_id=txn.member_id)
    existing = Refund.objects.filter(shop=shop, external_id=external_id).first()
    if existing is not None:
        return RefundResult(replay(existing, fingerprint, what="refund"), account, created=False)
    txn = Transaction.objects.select_for_update().get(pk=txn.pk)  # refunds of one purchase serialize
    if txn.refunded_amount + amount > txn.total:
        raise RefundExceedsRemaining(
            f"Only {money_str(txn.total - txn.refunded_amount, txn.currency)} of {money_str(txn.total, txn.currency)} "
            "is left to refund.",
            param="amount",
        )
    refunded = txn.refunded_amount + amount
    target = claw_back_target(points=txn.points, total=txn.total, refunded=refunded)
    if txn.points_status == Transaction.PointsStatus.EXPIRED:
        # Points that expired on arrival never reached the balance: only what settled a debt is taken back.
        target = min(target, txn.points - points_expired_on_arrival(txn=txn))
    due = target - (txn.points_clawed_back + txn.points_forgiven)
    refund = Refund(
        public_id=public_id_new("ref"), transaction=txn, shop=shop, external_id=external_id,
        request_hash=fingerprint, amount=amount, created_at=now,
    )  # fmt: skip
    cause = Cause(
        shop=shop, transaction_id=txn.pk, reference=f"refund:{refund.public_id}", actor=f"shop:{shop.code}",
        description=f"refund {external_id} of {txn.external_id}",
    )  # fmt: skip
    if due > 0:
        lot = PointLot.objects.filter(entry__transaction=txn, entry__kind=LedgerEntry.Kind.EARN, pending=True).first()
        from_pending = min(due, lot.remaining) if lot is not None else 0
        if from_pending:
            account_pending_cancel(account, lot=lot, points=from_pending, now=now, cause=cause)
        from_available = due - from_pending
        if from_available and not program.allow_negative_balance:
            refund.points_forgiven = from_available - min(from_available, max(account.available, 0))
            from_available -= refund.points_forgiven
        if from_available:
            account_debit(
                account, points=from_available, now=now, kind=LedgerEntry.Kind.CLAWBACK,
                allow_negative=program.allow_negative_balance, cause=cause,
            )  # fmt: skip
        refund.points_clawed_back = from_pending + from_available
    refund.save(force_insert=True)
    base_left = math.floor(txn.base_points * (txn.total - refunded) / txn.total) if txn.total else 0
    Transaction.objects.filter(pk=txn.pk).update(
        refunded_amount=refunded, points_clawed_back=txn.points_clawed_back + refund.points_clawed_back,
        points_forgiven=txn.points_forgiven + refund.points_forgiven, qualifying_points=base_left,
    )  # fmt: skip
    return RefundResult(refund, account, created=True)
