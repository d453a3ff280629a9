"""Campaigns and transactions in the admin."""

from django.contrib import admin
from unfold.admin import ModelAdmin

from loyalty.admin_base import ReadOnlyAdmin
from loyalty.earning.models import Campaign, Transaction
from loyalty.money import money_str
from loyalty.program.selectors import settings_cache_clear
from loyalty.shops.admin import ShopScopedAdmin


@admin.register(Campaign)
class CampaignAdmin(ModelAdmin):
    list_display = ["code", "name", "kind", "multiplier", "points", "starts_at", "ends_at", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        settings_cache_clear()


@admin.register(Transaction)
class TransactionAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    list_display = ["public_id", "shop", "external_id", "member", "amount", "points", "refunded", "occurred_at"]
    list_filter = ["shop", "points_status"]
    list_select_related = ["shop", "member"]
    search_fields = ["=public_id", "=external_id", "=member__card_number"]
    show_full_result_count = False
    date_hierarchy = "occurred_at"

    @admin.display(description="total", ordering="total")
    def amount(self, txn: Transaction) -> str:
        return f"{money_str(txn.total, txn.currency)} {txn.currency}"  # the currency's minor units, not the column's

    @admin.display(description="refunded", ordering="refunded_amount")
    def refunded(self, txn: Transaction) -> str:
        return money_str(txn.refunded_amount, txn.currency)
