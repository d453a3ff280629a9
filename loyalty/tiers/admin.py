"""Tiers and the tier change history in the admin."""

from django.contrib import admin
from unfold.admin import ModelAdmin

from loyalty.admin_base import ReadOnlyAdmin
from loyalty.program.selectors import settings_cache_clear
from loyalty.tiers.models import Tier, TierChange


@admin.register(Tier)
class TierAdmin(ModelAdmin):
    list_display = ["rank", "code", "name", "threshold", "multiplier"]
    ordering = ["rank"]
    search_fields = ["code", "name"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        settings_cache_clear()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "from_tier", "to_tier", "reason", "qualifying_points", "valid_until"]
    list_filter = ["reason", "to_tier"]
    list_select_related = ["account__member", "from_tier", "to_tier"]
    search_fields = ["=account__member__card_number", "account__member__email"]
    show_full_result_count = False
    date_hierarchy = "created_at"
