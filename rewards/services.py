"""Redeeming rewards, cancelling redemptions, using vouchers, and setting a reward's stock."""

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from loyalty.errors import InvalidState
from loyalty.idempotency.errors import IdempotencyConflict
from loyalty.ledger.entries import Cause
from loyalty.ledger.locking import account_lock, member_id_of, member_locked
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.ledger.services import account_debit, debit_cancel
from loyalty.shops.models import Shop
from loyalty.subscriptions.benefits import plan_benefits_hold
from members.models import Member
from members.public_ids import public_id_new
from rewards import errors
from rewards.eligibility import redeemed_counts, refusal_of
from rewards.models import Redemption, Reward, Voucher
from rewards.selectors import voucher_code_normalise

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B: codes are read aloud and typed from paper.
VOUCHER_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
VOUCHER_LENGTH = 14  # 14 × log2(25) ≈ 65 bits from `secrets`


def voucher_code_new() -> str:
    raw = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))  # XXXX-XXXX-XXXX-XX


@transaction.atomic
def reward_stock_set(*, reward: Reward, remaining: int | None, expected: int | None) -> Reward:
    """Make `remaining` left to redeem (None: unlimited), provided what is left is still `expected` (None:
    unlimited), the value the caller showed: one conditional UPDATE, so a redemption or a cancellation that
    committed in between is never overwritten. `stock` (allotted in all) moves by the same amount, so what
    was redeemed stays redeemed; going limited starts a new allotment of `remaining`, as the program file
    does. Raises StockChanged, and writes nothing, when what is left is no longer `expected`."""
    if remaining is not None and remaining < 0:
        raise ValueError("remaining must not be negative")
    rows = Reward.objects.filter(pk=reward.pk)
    rows = rows.filter(stock_remaining__isnull=True) if expected is None else rows.filter(stock_remaining=expected)
    if remaining is None:
        changed = rows.update(stock=None, stock_remaining=None)
    elif expected is None:
        changed = rows.update(stock=remaining, stock_remaining=remaining)
    else:
        # A cancellation of a redemption made while unlimited can leave more left than allotted: never below it.
        changed = rows.update(
            stock=Greatest(F("stock") + (remaining - expected), Value(remaining)), stock_remaining=remaining
        )
    if not changed:
        actual = Reward.objects.filter(pk=reward.pk).values_list("stock_remaining", flat=True).get()
        raise errors.StockChanged(expected=expected, actual=actual)
    reward.refresh_from_db(fields=["stock", "stock_remaining"])
    return reward


@dataclass(frozen=True)
class RedemptionResult:
    """A redemption and the member's account after the step (the redemption or its cancellation)."""

    redemption: Redemption
    account: Account


@transaction.atomic
def reward_redeem(*, member: Member, reward: Reward, shop: Shop | None, now: dt.datetime) -> RedemptionResult:
    """Spend the member's points on `reward`: eligibility, then stock and points taken together, then a
    voucher (none for a donation). Raises RewardUnavailable, MemberInactive, TierRequired,
    SubscriptionRequired, MemberLimitReached, OutOfStock, InsufficientPoints; writes nothing then."""
    account = account_lock(member_id=member_id_of(member))  # serializes one member's redemptions
    member = member_locked(member_id=member.pk)  # its status as committed now, not as the caller loaded it
    reward = Reward.objects.get(pk=reward.pk)
    redeemed = redeemed_counts(member_id=member.pk, reward_ids=[reward.pk]).get(reward.pk, 0)
    subscribed = reward.subscribers_only and plan_benefits_hold(account, now=now)
    refusal = refusal_of(reward, member=member, account=account, redeemed=redeemed, subscribed=subscribed, now=now)
    if refusal is not None:
        raise refusal
    if reward.stock_remaining is not None:
        # The database decides who gets the last one: a conditional decrement, never read-then-write.
        taken = Reward.objects.filter(pk=reward.pk, stock_remaining__gt=0).update(
            stock_remaining=F("stock_remaining") - 1
        )
        if not taken:
            raise errors.OutOfStock(param="reward")
    public_id = public_id_new("red")
    entry = account_debit(
        account, points=reward.points_cost, now=now, kind=LedgerEntry.Kind.REDEEM,
        cause=Cause(shop=shop, reference=f"redemption:{public_id}", actor=f"shop:{shop.code}" if shop else "member",
                    description=f"redeemed {reward.name}"),
    )  # fmt: skip
    redemption = Redemption.objects.create(
        public_id=public_id, reward=reward, member=member, shop=shop, points=reward.points_cost, entry=entry,
        created_at=now,
    )  # fmt: skip
    if reward.kind != Reward.Kind.DONATION:
        _voucher_issue(redemption, now=now)
    return RedemptionResult(redemption, account)


def _voucher_issue(redemption: Redemption, *, now: dt.datetime) -> Voucher:
    reward = redemption.reward
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Voucher.objects.create(
                    code=voucher_code_new(), redemption=redemption, reward=reward, member=redemption.member,
                    value=reward.value, expires_at=now + dt.timedelta(days=reward.voucher_valid_days), created_at=now,
                )  # fmt: skip
        except IntegrityError:  # a 65-bit code collided: draw again
            continue
    raise RuntimeError("could not draw a unique voucher code")  # pragma: no cover


@transaction.atomic
def redemption_cancel(*, redemption: Redemption, now: dt.datetime, actor: str = "") -> RedemptionResult:
    """Undo a redemption: the points go back to the lots they came from and the stock comes back.
    Raises VoucherAlreadyUsed once the voucher is used, InvalidState if already cancelled."""
    account = account_lock(member_id=redemption.member_id)
    redemption = Redemption.objects.select_related("reward", "entry").get(pk=redemption.pk)
    if redemption.status == Redemption.Status.CANCELLED:
        raise InvalidState("This redemption is already cancelled.", param="redemption")
    voucher = Voucher.objects.select_for_update().filter(redemption=redemption).first()
    if voucher is not None and voucher.status == Voucher.Status.USED:
        raise errors.VoucherAlreadyUsed(param="redemption")
    debit_cancel(entry=redemption.entry, now=now, actor=actor, description=f"cancelled {redemption.public_id}")
    if redemption.reward.stock_remaining is not None:
        Reward.objects.filter(pk=redemption.reward_id).update(stock_remaining=F("stock_remaining") + 1)
    if voucher is not None:
        Voucher.objects.filter(pk=voucher.pk).update(status=Voucher.Status.CANCELLED)
    Redemption.objects.filter(pk=redemption.pk).update(status=Redemption.Status.CANCELLED, cancelled_at=now)
    redemption.status, redemption.cancelled_at = Redemption.Status.CANCELLED, now
    account.refresh_from_db(fields=["available", "pending", "held"])
    return RedemptionResult(redemption, account)


@transaction.atomic
def voucher_use(*, code: str, shop: Shop, external_id: str, now: dt.datetime) -> tuple[Voucher, bool]:
    """Take a voucher at checkout; `(voucher, used_now)`. The same shop and external_id again returns it
    unchanged. Raises VoucherNotFound, VoucherAlreadyUsed, VoucherExpired, VoucherCancelled."""
    voucher = Voucher.objects.select_for_update().filter(code=voucher_code_normalise(code)).first()
    if voucher is None:
        raise errors.VoucherNotFound(param="code")
    if voucher.status == Voucher.Status.USED:
        if voucher.used_by_id == shop.pk and voucher.use_external_id == external_id:
            return voucher, False
        raise errors.VoucherAlreadyUsed(param="code")
    if voucher.status == Voucher.Status.CANCELLED:
        raise errors.VoucherCancelled(param="code")
    if voucher.status == Voucher.Status.EXPIRED or voucher.expires_at <= now:
        raise errors.VoucherExpired(param="code")
    if Voucher.objects.filter(used_by=shop, use_external_id=external_id, status=Voucher.Status.USED).exists():
        raise IdempotencyConflict("This external_id already took another voucher.", param="external_id")
    Voucher.objects.filter(pk=voucher.pk).update(
        status=Voucher.Status.USED, used_at=now, used_by=shop, use_external_id=external_id
    )
    voucher.status, voucher.used_at, voucher.used_by, voucher.use_external_id = (
        Voucher.Status.USED, now, shop, external_id,
    )  # fmt: skip
    return voucher, True
