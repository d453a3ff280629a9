from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from unfold.admin import ModelAdmin

from loyalty.errors import DomainError
from loyalty.ledger.admin import ReadOnlyAdmin
from loyalty.shops.admin import ShopScopedAdmin
from rewards.models import Redemption, Reward, Voucher
from rewards.services import redemption_cancel


class RewardForm(forms.ModelForm):
    stock_change = forms.IntegerField(
        required=False,
        help_text="Add (or, negative, take away) this many to the stock. Applied to the live count, so "
        "redemptions happening meanwhile are never overwritten.",
    )

    class Meta:
        model = Reward
        fields = [
            "code", "name", "description", "image_url", "category", "kind", "points_cost", "value", "per_member_limit",
            "min_tier", "subscribers_only", "valid_from", "valid_until", "voucher_valid_days", "active", "sort_order",
        ]  # fmt: skip


@admin.register(Reward)
class RewardAdmin(ModelAdmin):
    form = RewardForm
    list_display = ["code", "name", "kind", "points_cost", "value", "stock_remaining", "stock", "active", "sort_order"]
    list_filter = ["kind", "active", "subscribers_only", "category"]
    list_editable = ["active", "sort_order"]
    search_fields = ["code", "name", "category"]
    readonly_fields = ["stock", "stock_remaining"]

    @transaction.atomic
    def save_model(self, request, obj: Reward, form, change: bool) -> None:
        change_by = form.cleaned_data.get("stock_change") or 0
        if not change:
            obj.stock = obj.stock_remaining = (
                max(change_by, 0) if form.cleaned_data.get("stock_change") is not None else None
            )
            super().save_model(request, obj, form, change)
            return
        # Save the edited fields only, and only if there are any: a full save would write back the stock
        # this request read, undoing redemptions that committed since.
        edited = [name for name in form.changed_data if name != "stock_change"]
        if edited:
            obj.save(update_fields=edited)
        if change_by:
            limited = Reward.objects.filter(pk=obj.pk, stock_remaining__isnull=False)
            if change_by < 0:
                limited = limited.filter(stock_remaining__gte=-change_by)
            if not limited.update(stock=F("stock") + change_by, stock_remaining=F("stock_remaining") + change_by):
                messages.error(request, "Stock not changed: unlimited, or fewer left than you took away.")


@admin.register(Redemption)
class RedemptionAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    list_display = ["public_id", "reward", "member", "shop", "points", "status", "created_at"]
    list_filter = ["status", "reward"]
    list_select_related = ["reward", "member", "shop"]
    search_fields = ["=public_id", "=member__card_number", "member__email"]
    show_full_result_count = False
    actions = ["cancel"]

    def has_cancel_permission(self, request) -> bool:
        # The page is read-only for everyone; cancelling is the one change, for those allowed to change redemptions.
        return request.user.has_perm("rewards.change_redemption")

    @admin.action(description="Cancel selected redemptions (points and stock come back)", permissions=["cancel"])
    def cancel(self, request, queryset) -> None:
        done = refused = 0
        for redemption in queryset.filter(status=Redemption.Status.ISSUED):
            try:
                redemption_cancel(redemption=redemption, now=timezone.now(), actor=f"staff:{request.user.username}")
                self.log_change(request, redemption, "Cancelled: points and stock came back.")
                done += 1
            except DomainError:  # a used voucher refuses; report it and go on
                refused += 1
        self.message_user(request, f"{done} cancelled, {refused} refused (voucher already used).")


@admin.register(Voucher)
class VoucherAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    shop_field = ("redemption__shop", "used_by")  # redeemed at the shop, or taken there
    list_display = ["code", "reward", "member", "value", "status", "expires_at", "used_at", "used_by"]
    list_filter = ["status", "reward"]
    list_select_related = ["reward", "member", "used_by"]
    search_fields = ["=code", "=member__card_number"]
    show_full_result_count = False
