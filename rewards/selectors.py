"""Reads of the catalogue and of vouchers."""

import datetime as dt

from rewards import errors
from rewards.models import Reward, Voucher


def voucher_status_of(voucher: Voucher, *, now: dt.datetime) -> str:
    """The status people are told: an issued voucher past its expiry is expired, whether or not the expiry job
    has run yet."""
    if voucher.status == Voucher.Status.ISSUED and voucher.expires_at <= now:
        return Voucher.Status.EXPIRED
    return voucher.status


def voucher_code_normalise(raw: str) -> str:
    """What people type: any case, with or without dashes and spaces."""
    compact = "".join(ch for ch in (raw or "").upper() if ch.isalnum())
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def reward_by_code(code: str) -> Reward:
    """The reward with this code. Raises RewardNotFound."""
    reward = Reward.objects.filter(code=code).first() if isinstance(code, str) else None
    if reward is None:
        raise errors.RewardNotFound(param="reward")
    return reward


def voucher_get(*, code: str) -> Voucher:
    """The voucher with this code, whichever shop issued it (vouchers are program-wide), with its reward,
    member, issuing shop and using shop loaded in the same query. Raises VoucherNotFound."""
    voucher = (
        Voucher.objects.select_related("reward", "member", "used_by", "redemption__shop")
        .filter(code=voucher_code_normalise(code))
        .first()
    )
    if voucher is None:
        raise errors.VoucherNotFound(param="code")
    return voucher
