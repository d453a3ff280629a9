from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from loyalty.earning.models import Campaign, Transaction
from loyalty.holds.models import Hold
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.program.models import Program
from loyalty.program.selectors import settings_cache_clear
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create, api_key_revoke
from loyalty.subscriptions.models import Plan, Subscription, SubscriptionEvent, SubscriptionPayment
from loyalty.tiers.models import Tier, TierChange


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


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ApiKey.SCOPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked means all scopes.",
    )

    class Meta:
        model = ApiKey
        fields = ["shop", "name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Creating a key shows it once; afterwards only its prefix is known. Revoking is one action."""

    list_display = ["prefix", "shop", "name", "scope_list", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["shop", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "shop__code"]
    readonly_fields = ["prefix", "shop", "scopes", "created_at", "last_used_at", "revoked_at"]
    fields = ["prefix", "shop", "name", "scopes", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["shop", "name", "scopes"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw_key = api_key_create(
            shop=form.cleaned_data["shop"], scopes=form.cleaned_data["scopes"], name=form.cleaned_data["name"]
        )
        obj.pk = key.pk
        self.message_user(
            request,
            format_html("API key created. Copy it now, it is not shown again: <code>{}</code>", raw_key),
            messages.WARNING,
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset) -> None:
        now = timezone.now()
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key, now=now)
        # Each process trusts a key it verified for API_KEY_CACHE_SECONDS: staff must know revoking is not instant.
        self.message_user(
            request,
            f"Revoked. Requests with those keys get 401 within {settings.API_KEY_CACHE_SECONDS:g} seconds: each server "
            "process may keep trusting a key it has already checked for that long (API_KEY_CACHE_SECONDS).",
            messages.SUCCESS,
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "multiplier", "points", "starts_at", "ends_at", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        settings_cache_clear()


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "shop", "external_id", "member", "total", "currency", "points", "refunded_amount",
                    "occurred_at"]  # fmt: skip
    list_filter = ["shop", "points_status"]
    list_select_related = ["shop", "member"]
    search_fields = ["=public_id", "=external_id", "=member__card_number"]
    show_full_result_count = False
    date_hierarchy = "occurred_at"


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "shop", "external_id", "member", "points", "captured_points", "status", "expires_at"]
    list_filter = ["status", "shop"]
    list_select_related = ["shop", "member"]
    search_fields = ["=public_id", "=external_id", "=member__card_number"]
    show_full_result_count = False


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
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


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
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


class SubscriptionEventInline(admin.TabularInline):
    model = SubscriptionEvent
    fields = ["created_at", "from_status", "to_status", "cause"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "member", "plan", "status", "current_period_end", "cancel_at_period_end", "shop"]
    list_filter = ["status", "plan", "cancel_at_period_end"]
    list_select_related = ["member", "plan", "shop"]
    search_fields = ["=public_id", "=member__card_number", "member__email"]
    show_full_result_count = False
    inlines = [SubscriptionEventInline]


@admin.register(SubscriptionPayment)
class SubscriptionPaymentAdmin(ReadOnlyAdmin):
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
