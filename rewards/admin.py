from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldBooleanSwitchWidget

from loyalty.admin_base import ReadOnlyAdmin
from loyalty.errors import DomainError
from loyalty.shops.admin import ShopScopedAdmin
from rewards.eligibility import reward_available, reward_eligible_members
from rewards.errors import StockChanged
from rewards.models import Redemption, Reward, Voucher
from rewards.services import redemption_cancel, reward_stock_set


def _stock_parse(raw: str) -> int | None:
    return None if raw in ("", None) else int(raw)


class RewardForm(forms.ModelForm):
    """The reward with its stock as a new total of what is left. `stock_shown` carries the value the form
    showed, and the save applies the new total only if that is still what is left."""

    unlimited = forms.BooleanField(required=False, label="Unlimited stock", widget=UnfoldBooleanSwitchWidget)
    left = forms.IntegerField(
        required=False, min_value=0, max_value=10**9, label="Left to redeem", widget=UnfoldAdminIntegerFieldWidget,
        help_text="The new total left to redeem. If a redemption changes it while you edit, the save is refused "
        "and nothing is changed.",
    )  # fmt: skip
    stock_shown = forms.RegexField(regex=r"^\d*$", required=False, widget=forms.HiddenInput)
    refusal: StockChanged | None = None  # set by RewardAdmin when a save was refused

    class Meta:
        model = Reward
        fields = [
            "code", "name", "description", "image_url", "category", "kind", "points_cost", "value", "per_member_limit",
            "min_tier", "subscribers_only", "valid_from", "valid_until", "voucher_valid_days", "active", "sort_order",
        ]  # fmt: skip

    STOCK_FIELDS = ("unlimited", "left", "stock_shown")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            remaining = self.instance.stock_remaining
            self.initial.update(
                unlimited=remaining is None, left=remaining, stock_shown="" if remaining is None else str(remaining)
            )
        else:
            self.initial.setdefault("unlimited", True)

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.refusal is not None:
            raise forms.ValidationError(str(self.refusal))
        if not cleaned.get("unlimited") and cleaned.get("left") is None and "left" not in self.errors:
            self.add_error("left", "Say how many are left, or tick unlimited.")
        return cleaned

    def stock_wanted(self) -> int | None:
        return None if self.cleaned_data["unlimited"] else self.cleaned_data["left"]


@admin.register(Reward)
class RewardAdmin(ModelAdmin):
    form = RewardForm
    list_display = ["code", "name", "kind", "points_cost", "value", "stock_remaining", "stock", "active", "sort_order"]
    list_filter = ["kind", "active", "subscribers_only", "category"]
    list_editable = ["active", "sort_order"]
    search_fields = ["code", "name", "category"]
    readonly_fields = ["image_preview", "stock", "stock_remaining", "eligible_now"]
    fieldsets = [
        (None, {"fields": ["code", "name", "description", "kind", "points_cost", "value", "category"]}),
        ("Image", {"fields": ["image_url", "image_preview"]}),
        ("Stock", {"fields": ["unlimited", "left", "stock_shown", "stock"]}),
        ("Who may redeem", {"fields": ["min_tier", "subscribers_only", "per_member_limit", "eligible_now"]}),
        ("Availability", {"fields": ["active", "valid_from", "valid_until", "voucher_valid_days", "sort_order"]}),
    ]

    @admin.display(description="preview")
    def image_preview(self, reward: Reward) -> str:
        if not reward.image_url:
            return "no image"
        return format_html(
            '<img src="{}" alt="{}" style="max-width: 240px; max-height: 160px; border-radius: 6px;">',
            reward.image_url, reward.name,
        )  # fmt: skip

    @admin.display(description="eligible now")
    def eligible_now(self, reward: Reward) -> str:
        if reward.pk is None:
            return "shown once the reward is saved"
        now = timezone.now()
        eligible = reward_eligible_members(reward=reward, now=now)
        notes = []
        if not reward_available(reward, now):
            notes.append("the reward itself is not available now (inactive or outside its dates)")
        if reward.stock_remaining == 0:
            notes.append("out of stock")
        return format_html(
            "{} active members meet its tier, plan and per-member limit; {} of them have the {} points now{}",
            eligible.members, eligible.with_points, reward.points_cost, f" ({'; '.join(notes)})" if notes else "",
        )  # fmt: skip

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "stock_refusal", None)
        return type(form.__name__, (form,), {"refusal": refusal}) if refusal is not None else form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StockChanged as refusal:
            # The save's transaction rolled back whole; show the form again, as typed, against the stock now.
            request.stock_refusal = refusal
            request.POST = request.POST.copy()
            request.POST["stock_shown"] = "" if refusal.actual is None else str(refusal.actual)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj: Reward, form, change: bool) -> None:
        if change and "stock_shown" not in form.cleaned_data:  # the list's editable columns: no stock there
            if form.changed_data:
                obj.save(update_fields=form.changed_data)
            return
        wanted = form.stock_wanted()
        if not change:
            obj.stock = obj.stock_remaining = wanted
            super().save_model(request, obj, form, change)
            return
        shown = _stock_parse(form.cleaned_data["stock_shown"])
        if wanted != shown:  # raises StockChanged, rolling the whole save back, if what is left moved
            reward_stock_set(reward=obj, remaining=wanted, expected=shown)
        # Save the edited fields only, and only if there are any: a full save would write back the stock
        # this request read, undoing redemptions that committed since.
        edited = [name for name in form.changed_data if name not in RewardForm.STOCK_FIELDS]
        if edited:
            obj.save(update_fields=edited)


class CancelConfirmForm(forms.Form):
    confirm = forms.BooleanField(widget=forms.HiddenInput, initial=True)


@admin.register(Redemption)
class RedemptionAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    list_display = ["public_id", "reward", "member", "shop", "points", "status", "created_at"]
    list_filter = ["status", "reward"]
    list_select_related = ["reward", "member", "shop"]
    search_fields = ["=public_id", "=member__card_number", "member__email"]
    show_full_result_count = False
    actions = ["cancel"]
    actions_detail = ["cancel_one"]

    def has_cancel_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("rewards.change_redemption")

    @admin.action(description="Cancel selected redemptions (points and stock come back)", permissions=["cancel"])
    def cancel(self, request, queryset) -> None:
        done = refused = 0
        for redemption in queryset.filter(status=Redemption.Status.ISSUED):
            try:
                redemption_cancel(redemption=redemption, now=timezone.now(), actor=f"staff:{request.user.username}")
            except DomainError:  # a used voucher refuses; report it and go on
                refused += 1
                continue
            done += 1
            self.log_change(request, redemption, f"Cancelled: {redemption.points} points and the stock given back.")
        self.message_user(request, f"{done} cancelled, {refused} refused (voucher already used).")

    @action(description="Cancel redemption", url_path="cancel", permissions=["cancel"])
    def cancel_one(self, request, object_id: str):
        redemption = get_object_or_404(  # the admin's queryset: a shop's staff reach only their shop's
            self.get_queryset(request).select_related("reward", "member", "voucher"), pk=unquote(object_id)
        )
        page = reverse("admin:rewards_redemption_change", args=[redemption.pk])
        voucher = getattr(redemption, "voucher", None)
        refusal = None
        if redemption.status == Redemption.Status.CANCELLED:
            refusal = "This redemption is already cancelled."
        elif voucher is not None and voucher.status == Voucher.Status.USED:
            refusal = "Its voucher was used: the reward was handed over, so this redemption cannot be cancelled."
        if request.method == "POST" and refusal is None:
            try:
                redemption_cancel(redemption=redemption, now=timezone.now(), actor=f"staff:{request.user.username}")
            except DomainError as error:  # the voucher was used after the page was shown
                self.message_user(request, f"Not cancelled: {error.message}", messages.ERROR)
                return redirect(page)
            self.log_change(request, redemption, f"Cancelled: {redemption.points} points and the stock given back.")
            self.message_user(request, f"Redemption {redemption.public_id} cancelled.", messages.SUCCESS)
            return redirect(page)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "title": f"Cancel redemption {redemption.public_id}?", "redemption": redemption,
            "voucher": voucher, "refusal": refusal, "page": page,
            "stock_back": redemption.reward.stock_remaining is not None,
        }  # fmt: skip
        return TemplateResponse(request, "admin/rewards/redemption/cancel_confirmation.html", context)


@admin.register(Voucher)
class VoucherAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    shop_field = ("redemption__shop", "used_by")  # redeemed at the shop, or taken there
    list_display = ["code", "reward", "member", "value", "status", "expires_at", "used_at", "used_by"]
    list_filter = ["status", "reward"]
    list_select_related = ["reward", "member", "used_by"]
    search_fields = ["=code", "=member__card_number"]
    show_full_result_count = False
