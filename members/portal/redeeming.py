"""Redeeming from the portal: the same `reward_redeem` a shop's checkout calls (no shop), made once per form."""

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from members.models import Member, RedeemRequest
from rewards.models import Redemption, Reward
from rewards.services import reward_redeem

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def redeem_token_new() -> str:
    """The one-time token a redeem form carries (a new one each time the confirmation is shown)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class PortalRedemption:
    redemption: Redemption
    created: bool  # False: this form had redeemed already, and this is what it made


@transaction.atomic
def portal_redeem(*, member: Member, reward: Reward, token: str, now: dt.datetime) -> PortalRedemption:
    """Redeem `reward` for `member` once per `token`. The token's row goes in first, in the redemption's
    transaction: a second submit of the same form waits on the unique index until the first commits, then
    finds its redemption; if the first was refused, nothing of it stays and the second is decided afresh.
    Raises what `reward_redeem` raises, writing nothing then (the token's row neither)."""
    try:
        with transaction.atomic():
            request = RedeemRequest.objects.create(member=member, token=token, created_at=now)
    except IntegrityError:
        public_id = RedeemRequest.objects.filter(member=member, token=token).values_list("redemption", flat=True).get()
        return PortalRedemption(Redemption.objects.select_related("reward").get(public_id=public_id), created=False)
    redemption = reward_redeem(member=member, reward=reward, shop=None, now=now).redemption
    RedeemRequest.objects.filter(pk=request.pk).update(redemption=redemption.public_id)
    return PortalRedemption(redemption, created=True)
