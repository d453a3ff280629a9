"""Accounts and ledger entries in the admin, read-only: the ledger changes only through its services."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from loyalty.ledger.models import Account, LedgerEntry


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
    list_display = ["member", "available", "pending", "held", "tier", "tier_valid_until", "entries"]
    list_filter = ["tier"]
    list_select_related = ["member", "tier"]
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
