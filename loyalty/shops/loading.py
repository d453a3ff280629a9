"""The `shops` section of the program file."""

from rest_framework import serializers

from loyalty.program.loading import Section, SectionReport, StrictSerializer, coded_list, save_if_changed
from loyalty.shops.models import Shop


class ShopIn(StrictSerializer):
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    active = serializers.BooleanField(required=False, default=True)


def _shops_apply(data: list[dict], report: SectionReport) -> None:
    existing = Shop.objects.select_for_update().in_bulk([item["code"] for item in data], field_name="code")
    for item in data:
        save_if_changed(existing.get(item["code"]) or Shop(), item, report)


SHOPS_SECTION = Section("shops", coded_list(ShopIn), _shops_apply)
