"""The `rewards` section of `load_program`."""

from decimal import Decimal

from django.db.models import F
from rest_framework import serializers

from loyalty.program.loading import (
    ProgramFileError,
    Section,
    SectionReport,
    StrictSerializer,
    coded_list,
    save_if_changed,
)
from loyalty.tiers.models import Tier
from rewards.models import Reward


class RewardIn(StrictSerializer):
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    image_url = serializers.URLField(required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=Reward.Kind.values)
    points_cost = serializers.IntegerField(min_value=1, max_value=1_000_000_000)
    value = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0), required=False,
                                     default=Decimal(0))  # fmt: skip
    stock = serializers.IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True, default=None)
    per_member_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    min_tier = serializers.SlugField(required=False, allow_null=True, default=None)
    subscribers_only = serializers.BooleanField(required=False, default=False)
    voucher_valid_days = serializers.IntegerField(min_value=1, max_value=3650, required=False, default=30)
    valid_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    active = serializers.BooleanField(required=False, default=True)
    sort_order = serializers.IntegerField(required=False, default=0)

    def validate(self, attrs: dict) -> dict:
        if attrs["kind"] == Reward.Kind.VOUCHER_PERCENT and attrs["value"] > 100:
            raise serializers.ValidationError({"value": ["a percentage is at most 100"]})
        if attrs["valid_from"] and attrs["valid_until"] and attrs["valid_until"] <= attrs["valid_from"]:
            raise serializers.ValidationError({"valid_until": ["must be after valid_from"]})
        return attrs


def rewards_apply(data: list[dict], report: SectionReport) -> None:
    tiers = Tier.objects.in_bulk(field_name="code")
    for index, item in enumerate(data):
        if item["min_tier"] is not None and item["min_tier"] not in tiers:
            raise ProgramFileError([(f"rewards[{index}].min_tier", f"unknown tier {item['min_tier']!r}")])
    existing = Reward.objects.select_for_update().in_bulk([item["code"] for item in data], field_name="code")
    for index, item in enumerate(data):
        values = {**item, "min_tier": tiers.get(item["min_tier"])}
        reward = existing.get(item["code"])
        if reward is None:
            save_if_changed(Reward(stock_remaining=item["stock"]), values, report)
            continue
        new_stock = values.pop("stock")
        outcome = report.unchanged
        save_if_changed(reward, values, report)
        if reward.stock != new_stock:
            _stock_change(reward, new_stock, path=f"rewards[{index}].stock")
            if report.unchanged > outcome:  # only the stock changed
                report.unchanged -= 1
                report.updated += 1


def _stock_change(reward: Reward, new_stock: int | None, *, path: str) -> None:
    """Change the allotment in one UPDATE of both columns; what was redeemed stays redeemed."""
    rows = Reward.objects.filter(pk=reward.pk)
    if new_stock is None or reward.stock is None:
        rows.update(stock=new_stock, stock_remaining=new_stock)
        return
    delta = new_stock - reward.stock
    if not rows.filter(stock_remaining__gte=-delta).update(
        stock=new_stock, stock_remaining=F("stock_remaining") + delta
    ):
        raise ProgramFileError([(path, f"{reward.code}: {new_stock} is less than was already redeemed")])


REWARDS_SECTION = Section("rewards", coded_list(RewardIn), rewards_apply)
