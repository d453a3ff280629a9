"""How the API shows a member's tier."""

from rest_framework import serializers

from loyalty.tiers.selectors import tier_held


class TierOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    multiplier = serializers.DecimalField(max_digits=8, decimal_places=4)
    valid_until = serializers.DateTimeField(allow_null=True)


def tier_out(account) -> dict | None:
    """The tier the member holds (the base tier at least); `valid_until` only once the account records it."""
    tier = tier_held(account)
    if tier is None:
        return None
    recorded = account is not None and account.tier_id == tier.pk
    return {
        "code": tier.code,
        "name": tier.name,
        "multiplier": tier.multiplier,
        "valid_until": account.tier_valid_until if recorded else None,
    }
