"""The program's settings in the admin."""

from django.contrib import admin
from unfold.admin import ModelAdmin

from loyalty.program.models import Program
from loyalty.program.selectors import settings_cache_clear


@admin.register(Program)
class ProgramAdmin(ModelAdmin):
    list_display = ["name", "currency", "points_per_currency_unit", "point_value", "expiry_policy"]
    fieldsets = [
        (None, {"fields": ["name", "currency", "points_per_currency_unit", "point_value"]}),
        ("Earning", {"fields": ["pending_days", "max_backdate_days", "excluded_categories"]}),
        ("Expiry", {"fields": ["expiry_policy", "expiry_months", "expiry_years"]}),
        ("Balances", {"fields": ["allow_negative_balance", "hold_ttl_minutes", "adjustment_approval_points"]}),
        ("Tiers and subscriptions", {"fields": ["tier_window_days", "subscription_grace_days"]}),
    ]

    def has_add_permission(self, request) -> bool:
        # One program only; and only for staff who may add it (without the permission check, any staff could).
        return super().has_add_permission(request) and not Program.objects.exists()

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        settings_cache_clear()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
