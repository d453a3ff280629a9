"""Paid plans and subscriptions in the admin. Staff cancel (now or at period end) and extend a subscription
from its page: a button, a confirmation page, one service call as `staff:<username>`, and a LogEntry."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldAdminTextInputWidget

from loyalty.admin_base import ReadOnlyAdmin
from loyalty.program.selectors import settings_cache_clear
from loyalty.shops.admin import ShopScopedAdmin
from loyalty.subscriptions.models import Plan, Subscription, SubscriptionEvent, SubscriptionPayment
from loyalty.subscriptions.services import EXTEND_DAYS_MAX, subscription_cancel, subscription_extend
from members.errors import DomainError

# Who may act on subscriptions: Django's own change permission of the model (the admin's form stays read-only).
ACT_PERMISSION = "loyalty.change_subscription"


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
    fields = ["created_at", "from_status", "to_status", "cause", "actor", "note"]
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
    actions_detail = ["cancel_now", "cancel_at_period_end", "extend"]

    @action(description="Cancel now", url_path="cancel-now", permissions=["act"])
    def cancel_now(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirmed(
            request, object_id, ConfirmForm, title="Cancel now",
            explanation="The subscription becomes canceled at once and its benefits end now.",
            run=lambda subscription, data, actor: subscription_cancel(
                subscription=subscription, at_period_end=False, now=timezone.now(), actor=actor
            ),
            logged=lambda data: "Canceled now.",
        )  # fmt: skip

    @action(description="Cancel at period end", url_path="cancel-at-period-end", permissions=["act"])
    def cancel_at_period_end(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirmed(
            request, object_id, ConfirmForm, title="Cancel at period end",
            explanation="A trialing or active subscription keeps its benefits until its period ends, then becomes "
            "canceled; an incomplete or past-due one is canceled now.",
            run=lambda subscription, data, actor: subscription_cancel(
                subscription=subscription, at_period_end=True, now=timezone.now(), actor=actor
            ),
            logged=lambda data: "Canceled at period end.",
        )  # fmt: skip

    @action(description="Extend", url_path="extend", permissions=["act"])
    def extend(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirmed(
            request, object_id, ExtendForm, title="Extend the current period",
            explanation="Goodwill: the current period, and the plan's benefits, end this many days later. "
            "Billing still counts its periods from where it did.",
            run=lambda subscription, data, actor: subscription_extend(
                subscription=subscription, days=data["days"], note=data["note"], now=timezone.now(), actor=actor
            ),
            logged=lambda data: f"Extended by {data['days']} days: {data['note']}",
        )  # fmt: skip

    def has_act_permission(self, request: HttpRequest, object_id: str | None = None) -> bool:
        # A method, not the dotted name in @action: unfold's system check would query the permissions table.
        return request.user.has_perm(ACT_PERMISSION)

    def _confirmed(self, request, object_id, form_class, *, title, explanation, run, logged) -> HttpResponse:
        """GET: the confirmation page. POST: the service, then a LogEntry and the subscription's page; a refusal
        is shown on the confirmation page and nothing is written."""
        if not self.has_act_permission(request):
            raise PermissionDenied
        # Through the admin's queryset, so a shop's staff could never act on another shop's subscription.
        subscription = self.get_queryset(request).select_related("member", "plan").filter(pk=object_id).first()
        if subscription is None:
            raise Http404("No such subscription.")
        form = form_class(request.POST if request.method == "POST" else None)
        status = 200
        if form.is_bound and form.is_valid():
            try:
                run(subscription, form.cleaned_data, f"staff:{request.user.get_username()}")
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = 422
            else:
                self.log_change(request, subscription, logged(form.cleaned_data))
                self.message_user(request, f"{title}: done for {subscription.public_id}.", messages.SUCCESS)
                return redirect(reverse("admin:loyalty_subscription_change", args=[subscription.pk]))
        elif form.is_bound:
            status = 400
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": subscription,
            "title": title, "explanation": explanation, "form": form,
            "back": reverse("admin:loyalty_subscription_change", args=[subscription.pk]),
        }  # fmt: skip
        return TemplateResponse(request, "admin/loyalty/subscription/confirm_action.html", context, status=status)


class ConfirmForm(forms.Form):
    """Nothing to fill in: posting it is the confirmation."""


class ExtendForm(forms.Form):
    days = forms.IntegerField(
        min_value=1, max_value=EXTEND_DAYS_MAX, widget=UnfoldAdminIntegerFieldWidget, help_text="1 to 366 whole days"
    )
    note = forms.CharField(max_length=500, widget=UnfoldAdminTextInputWidget, help_text="why, for the record")


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
