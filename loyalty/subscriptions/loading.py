"""The `plans` section of the program file."""

from decimal import Decimal

from rest_framework import serializers

from loyalty.money import CURRENCY_MINOR_UNITS
from loyalty.program.loading import Section, SectionReport, StrictSerializer, coded_list, save_if_changed
from loyalty.program.models import Program
from loyalty.subscriptions.models import Plan


class PlanIn(StrictSerializer):
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=100)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    currency = serializers.ChoiceField(choices=sorted(CURRENCY_MINOR_UNITS), required=False)
    interval = serializers.ChoiceField(choices=Plan.Interval.values)
    trial_days = serializers.IntegerField(min_value=0, max_value=365, required=False, default=0)
    multiplier = serializers.DecimalField(max_digits=8, decimal_places=4, min_value=Decimal("0.0001"), required=False,
                                          default=Decimal(1))  # fmt: skip
    renewal_bonus = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)
    perks = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    active = serializers.BooleanField(required=False, default=True)


def _plans_apply(data: list[dict], report: SectionReport) -> None:
    currency = (Program.objects.filter(pk=Program.SINGLETON_PK).values_list("currency", flat=True).first()) or "EUR"
    existing = Plan.objects.select_for_update().in_bulk([item["code"] for item in data], field_name="code")
    for item in data:
        save_if_changed(existing.get(item["code"]) or Plan(), {"currency": currency, **item}, report)


PLANS_SECTION = Section("plans", coded_list(PlanIn), _plans_apply)
