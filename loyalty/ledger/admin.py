"""Accounts and ledger entries in the admin, read-only: the ledger changes only through its services."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timezone import localtime

from loyalty.admin_base import ReadOnlyAdmin
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.shops.admin import ShopScopedAdmin


@admin.register(Account)
class AccountAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    member_field = "member"  # accounts have no shop: a shop's staff sees its customers'
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
class LedgerEntryAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    """The ledger as staff read it: who, what, how much, why, where; one query for the page's rows."""

    list_display = ["when", "member", "kind", "points", "pending", "held", "balance", "description",
                    "shop_code", "purchase", "actor"]  # fmt: skip
    list_filter = ["kind"]
    list_select_related = ["account__member", "shop", "transaction"]
    search_fields = ["=public_id", "=account__member__card_number", "reference"]
    show_full_result_count = False
    date_hierarchy = "created_at"

    class Media:
        css = {"all": ["loyalty/admin-lists.css"]}

    @admin.display(description="when", ordering="created_at")
    def when(self, entry: LedgerEntry) -> str:
        return localtime(entry.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="pending", ordering="pending_points")
    def pending(self, entry: LedgerEntry) -> int:
        return entry.pending_points

    @admin.display(description="held", ordering="held_points")
    def held(self, entry: LedgerEntry) -> int:
        return entry.held_points

    @admin.display(description="balance", ordering="balance_after")
    def balance(self, entry: LedgerEntry) -> int:
        return entry.balance_after

    @admin.display(description="shop", ordering="shop__code")
    def shop_code(self, entry: LedgerEntry) -> str:
        return entry.shop.code if entry.shop else "–"

    @admin.display(description="member", ordering="account__member__card_number")
    def member(self, entry: LedgerEntry) -> str:
        member = entry.account.member
        url = reverse("admin:members_member_change", args=[member.pk])
        return format_html('<a href="{}">{}</a>', url, member.card_number)

    @admin.display(description="transaction")
    def purchase(self, entry: LedgerEntry) -> str:
        if entry.transaction is None:
            return "–"
        url = reverse("admin:loyalty_transaction_change", args=[entry.transaction_id])
        return format_html('<a href="{}">{}</a>', url, entry.transaction.public_id)
