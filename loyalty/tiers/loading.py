"""The `tiers` section of the program file."""

from decimal import Decimal

from django.db.models import F
from rest_framework import serializers

from loyalty.program.loading import (
    CodedListSerializer,
    ProgramFileError,
    Section,
    SectionReport,
    StrictSerializer,
    refuse_repeats,
    save_if_changed,
)
from loyalty.tiers.models import Tier


class TierIn(StrictSerializer):
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=100)
    threshold = serializers.IntegerField(min_value=0, max_value=10**12)
    multiplier = serializers.DecimalField(max_digits=8, decimal_places=4, min_value=Decimal("0.0001"))
    rank = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    benefits = serializers.CharField(required=False, allow_blank=True, default="")


class TierListSerializer(CodedListSerializer):
    """Each threshold and rank once; ranks default to the order of thresholds and must follow it, since
    a member holds the highest-ranked tier whose threshold they reach."""

    def validate(self, attrs: list) -> list:
        attrs = super().validate(attrs)
        refuse_repeats(attrs, "threshold", "two tiers have this threshold")
        by_threshold = sorted(attrs, key=lambda item: item["threshold"])
        for position, item in enumerate(by_threshold):
            item.setdefault("rank", position)
        refuse_repeats(attrs, "rank", "two tiers have this rank")
        for lower, higher in zip(by_threshold, by_threshold[1:], strict=False):
            if higher["rank"] < lower["rank"]:
                errors = [{} for _ in attrs]
                errors[attrs.index(higher)] = {"rank": [f"ranks below {lower['code']} though its threshold is higher"]}
                raise serializers.ValidationError(errors)
        return attrs


def _tiers_apply(data: list[dict], report: SectionReport) -> None:
    existing = Tier.objects.select_for_update().in_bulk(field_name="code")
    wanted = {item["code"]: item for item in data}
    held = {tier.rank: tier for tier in existing.values() if tier.code not in wanted}
    clash = next((item for item in data if item["rank"] in held), None)
    if clash is not None:
        holder = held[clash["rank"]].code
        raise ProgramFileError([("tiers", f"rank {clash['rank']} is held by tier {holder}, not in the file")])
    moving = [code for code, item in wanted.items() if code in existing and existing[code].rank != item["rank"]]
    if moving:
        # Ranks are unique: the tiers that change rank step aside first; the others keep theirs.
        Tier.objects.filter(code__in=moving).update(rank=F("rank") + RANK_SHIFT)
        for code in moving:
            existing[code].rank += RANK_SHIFT
    for item in data:
        save_if_changed(existing.get(item["code"]) or Tier(), item, report)


RANK_SHIFT = 10_000


TIERS_SECTION = Section("tiers", lambda: TierListSerializer(child=TierIn(), max_length=100), _tiers_apply)
