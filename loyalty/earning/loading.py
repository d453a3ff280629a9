"""The `campaigns` section of the program file."""

from decimal import Decimal

from rest_framework import serializers

from loyalty.earning.models import Campaign
from loyalty.program.loading import (
    ProgramFileError,
    Section,
    SectionReport,
    StrictSerializer,
    coded_list,
    save_if_changed,
)
from loyalty.shops.models import Shop


class CampaignIn(StrictSerializer):
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Campaign.Kind.values)
    multiplier = serializers.DecimalField(max_digits=8, decimal_places=4, min_value=Decimal("0.0001"), required=False)
    points = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    min_total = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal(0), required=False)
    categories = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    skus = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    shops = serializers.ListField(child=serializers.SlugField(max_length=64), required=False, default=list)
    tiers = serializers.ListField(child=serializers.SlugField(max_length=64), required=False, default=list)
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    active = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs: dict) -> dict:
        needs, refuses = ("multiplier", "points") if attrs["kind"] == "multiplier" else ("points", "multiplier")
        if needs not in attrs:
            raise serializers.ValidationError({needs: [f"required by a {attrs['kind']} campaign"]})
        if refuses in attrs:
            raise serializers.ValidationError({refuses: [f"not used by a {attrs['kind']} campaign"]})
        if attrs["kind"] == "multiplier" and "min_total" in attrs:
            raise serializers.ValidationError({"min_total": ["only a fixed_bonus campaign has a minimum total"]})
        if attrs["starts_at"] and attrs["ends_at"] and attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["must be after starts_at"]})
        attrs.setdefault("multiplier", None)
        attrs.setdefault("points", None)
        attrs.setdefault("min_total", None)
        return attrs


def _campaigns_apply(data: list[dict], report: SectionReport) -> None:
    known_shops = set(Shop.objects.values_list("code", flat=True))
    for index, item in enumerate(data):
        unknown = sorted(set(item["shops"]) - known_shops)
        if unknown:
            raise ProgramFileError([(f"campaigns[{index}].shops", f"unknown shop(s): {', '.join(unknown)}")])
    existing = Campaign.objects.select_for_update().in_bulk([item["code"] for item in data], field_name="code")
    for item in data:
        save_if_changed(existing.get(item["code"]) or Campaign(), item, report)


CAMPAIGNS_SECTION = Section("campaigns", coded_list(CampaignIn), _campaigns_apply)
