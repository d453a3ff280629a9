from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from loyalty.ledger.models import Account, LedgerEntry
from loyalty.program.models import Program
from loyalty.program.selectors import settings_cache_clear
from loyalty.shops.models import Shop


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "points_per_currency_unit", "point_value", "expiry_policy"]
    fieldsets = [
        (None, {"fields": ["name", "currency", "points_per_currency_unit", "point_value"]}),
        ("Earning", {"fields": ["pending_days", "max_backdate_days", "excluded_categories"]}),
        ("Expiry", {"fields": ["expiry_policy", "expiry_months", "expiry_years"]}),
        ("Balances", {"fields": ["allow_negative_balance", "hold_ttl_minutes"]}),
        ("Tiers and subscriptions", {"fields": ["tier_window_days", "subscription_grace_days"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return not Program.objects.exists()

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        settings_cache_clear()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is changed through services only; the admin shows it."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["member", "available", "pending", "held", "updated_at", "entries"]
    list_select_related = ["member"]
    search_fields = ["=member__card_number", "member__email", "=member__public_id"]
    show_full_result_count = False

    @admin.display(description="history")
    def entries(self, account: Account) -> str:
        url = reverse("admin:loyalty_ledgerentry_changelist") + f"?account__id__exact={account.pk}"
        return format_html('<a href="{}">entries</a>', url)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "kind",
        "points",
        "pending_points",
        "held_points",
        "balance_after",
        "actor",
    ]
    list_filter = ["kind"]
    list_select_related = ["account__member"]
    search_fields = ["=public_id", "=account__member__card_number", "reference"]
    show_full_result_count = False
    date_hierarchy = "created_at"
