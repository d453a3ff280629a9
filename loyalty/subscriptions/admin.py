"""Paid plans and subscriptions in the admin."""

from django.contrib import admin
from unfold.admin import ModelAdmin, TabularInline

from loyalty.ledger.admin import ReadOnlyAdmin
from loyalty.program.selectors import settings_cache_clear
from loyalty.shops.admin import ShopScopedAdmin
from loyalty.subscriptions.models import Plan, Subscription, SubscriptionEvent, SubscriptionPayment


@admin.register(Plan)
class PlanAdmin(ModelAdmin):
    list_display = [
        "code",
        "name",
        "price",
        "currency",
        "interval",
        "trial_days",
        "multiplier",
        "renewal_bonus",
        "active",
    ]
    list_filter = ["interval", "active"]
    search_fields = ["code", "name"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        settings_cache_clear()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SubscriptionEventInline(TabularInline):
    model = SubscriptionEvent
    fields = ["created_at", "from_status", "to_status", "cause"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Subscription)
class SubscriptionAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    list_display = ["public_id", "member", "plan", "status", "current_period_end", "cancel_at_period_end", "shop"]
    list_filter = ["status", "plan", "cancel_at_period_end"]
    list_select_related = ["member", "plan", "shop"]
    search_fields = ["=public_id", "=member__card_number", "member__email"]
    show_full_result_count = False
    inlines = [SubscriptionEventInline]


@admin.register(SubscriptionPayment)
class SubscriptionPaymentAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    list_display = [
        "public_id",
        "subscription",
        "external_id",
        "amount",
        "currency",
        "status",
        "period_start",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["subscription"]
    search_fields = ["=public_id", "=external_id", "=subscription__public_id"]
    show_full_result_count = False
