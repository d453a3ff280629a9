"""Adjustments in the admin: read-only rows, those waiting for approval first; approve or reject with a
confirmation page, through the adjustment services, as `staff:<username>` (four-eyes: never one's own)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from unfold.admin import ModelAdmin

from loyalty.adjustments.models import Adjustment
from loyalty.adjustments.services import adjustment_approve, adjustment_reject
from loyalty.errors import DomainError

APPROVE_PERMISSION = "loyalty.approve_adjustment"


def staff_actor(request: HttpRequest) -> str:
    return f"staff:{request.user.get_username()}"


@admin.register(Adjustment)
class AdjustmentAdmin(ModelAdmin):
    list_display = ["created", "member_card", "signed_points", "why", "status", "decided", "decide"]
    list_filter = ["status", "reason"]
    list_select_related = ["member"]
    search_fields = ["=public_id", "=member__card_number", "requested_by"]
    show_full_result_count = False
    actions = None
    fields = ["public_id", "member_card", "signed_points", "why", "status", "requested_by", "created_at",
              "decided_by", "decided_at", "ledger_entry", "shop", "external_id"]  # fmt: skip
    readonly_fields = fields
    # Those waiting for a decision first, then the newest.
    ordering = [Case(When(status=Adjustment.Status.PENDING_APPROVAL, then=Value(0)), default=Value(1),
                     output_field=IntegerField()).asc(), "-id"]  # fmt: skip
    change_form_template = "loyalty/admin/adjustment_change_form.html"

    class Media:
        css = {"all": ["loyalty/admin-lists.css", "loyalty/admin-adjustments.css"]}

    def get_queryset(self, request):
        # Whether the viewer asked for it: nobody is offered to approve their own.
        mine = Case(
            When(requested_by=f"staff:{request.user.get_username()}", then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
        return super().get_queryset(request).annotate(asked_by_viewer=mine)

    def has_add_permission(self, request) -> bool:
        return False  # adjustments are asked for on the member's page (or through the API)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="asked", ordering="created_at")
    def created(self, adjustment: Adjustment) -> str:
        """When, and by whom (`staff:<username>` or `shop:<code>`)."""
        when = localtime(adjustment.created_at).strftime("%Y-%m-%d %H:%M")
        return format_html('{}<br><span class="adjustment-who">{}</span>', when, adjustment.requested_by)

    @admin.display(description="approved / rejected", ordering="decided_at")
    def decided(self, adjustment: Adjustment) -> str:
        """Who decided and when; an adjustment posted at once (under the limit) needed no one."""
        if adjustment.decided_at is None:
            return "–"
        when = localtime(adjustment.decided_at).strftime("%Y-%m-%d %H:%M")
        who = adjustment.decided_by or "under the limit"
        return format_html('{}<br><span class="adjustment-when">{}</span>', who, when)

    @admin.display(description="member", ordering="member__card_number")
    def member_card(self, adjustment: Adjustment) -> str:
        url = reverse("admin:members_member_change", args=[adjustment.member_id])
        return format_html('<a href="{}">{}</a>', url, adjustment.member.card_number)

    @admin.display(description="points", ordering="points")
    def signed_points(self, adjustment: Adjustment) -> str:
        return f"{adjustment.points:+,d}"

    @admin.display(description="reason and note", ordering="reason")
    def why(self, adjustment: Adjustment) -> str:
        """What the approver decides on: the reason, and the requester's note under it."""
        return format_html("<strong>{}</strong><br>{}", adjustment.get_reason_display(), adjustment.note)

    @admin.display(description="ledger entry")
    def ledger_entry(self, adjustment: Adjustment) -> str:
        if adjustment.entry_id is None:
            return "–"
        url = reverse("admin:loyalty_ledgerentry_change", args=[adjustment.entry_id])
        return format_html('<a href="{}">open</a>', url)

    @admin.display(description="")
    def decide(self, adjustment: Adjustment) -> str:
        if adjustment.status != Adjustment.Status.PENDING_APPROVAL:
            return ""
        if getattr(adjustment, "asked_by_viewer", False):
            return mark_safe('<span class="adjustment-yours">yours: another person decides</span>')  # noqa: S308 (a constant)
        return format_html(
            '<a class="adjustment-approve" href="{}">Approve</a><a class="adjustment-reject" href="{}">Reject</a>',
            reverse("admin:loyalty_adjustment_approve", args=[adjustment.pk]),
            reverse("admin:loyalty_adjustment_reject", args=[adjustment.pk]),
        )

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if request.user.has_perm(APPROVE_PERMISSION) else [name for name in shown if name != "decide"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_decide": request.user.has_perm(APPROVE_PERMISSION)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:adjustment_id>/approve/", wrap(self.approve_view), name="loyalty_adjustment_approve"),
            path("<int:adjustment_id>/reject/", wrap(self.reject_view), name="loyalty_adjustment_reject"),
            *super().get_urls(),
        ]

    def approve_view(self, request: HttpRequest, adjustment_id: int) -> HttpResponse:
        return self._decide(
            request, adjustment_id, verb="Approve", service=lambda adjustment, actor, now: adjustment_approve(
                adjustment=adjustment, approver=actor, now=now),
            consequence="{points} points are written to the member's ledger now, as {actor}. A debit is refused if "
            "the balance no longer covers it.",
        )  # fmt: skip

    def reject_view(self, request: HttpRequest, adjustment_id: int) -> HttpResponse:
        return self._decide(
            request, adjustment_id, verb="Reject", service=lambda adjustment, actor, now: adjustment_reject(
                adjustment=adjustment, rejecter=actor, now=now),
            consequence="The adjustment of {points} points is refused, as {actor}; nothing is written to the "
            "ledger.",
        )  # fmt: skip

    def _decide(self, request, adjustment_id: int, *, verb: str, service, consequence: str) -> HttpResponse:
        """GET: a confirmation page; POST: the service, its refusal as a message, and a LogEntry."""
        if not request.user.has_perm(APPROVE_PERMISSION):
            raise PermissionDenied
        adjustment = get_object_or_404(self.get_queryset(request).select_related("member"), pk=adjustment_id)
        change_url = reverse("admin:loyalty_adjustment_change", args=[adjustment.pk])
        actor = staff_actor(request)
        if request.method == "POST":
            try:
                service(adjustment, actor, timezone.now())
            except DomainError as exc:
                messages.error(request, f"Not done: {exc.message}")
                return HttpResponseRedirect(change_url)
            adjustment.refresh_from_db()
            done = {"Approve": "Approved", "Reject": "Rejected"}[verb]
            self.log_change(request, adjustment, f"{done} adjustment {adjustment.public_id} ({adjustment.points:+d})")
            messages.success(request, f"Adjustment {adjustment.points:+,d} points for {adjustment.member.card_number}: "
                                      f"{adjustment.status}.")  # fmt: skip
            return HttpResponseRedirect(reverse("admin:loyalty_adjustment_changelist"))
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "object": adjustment,
            "title": f"{verb} {adjustment.points:+,d} points for {adjustment.member.card_number}?",
            "consequence": consequence.format(points=f"{adjustment.points:+,d}", actor=actor),
            "details": [f"Reason: {adjustment.reason}", f"Note: {adjustment.note}",
                        f"Asked by {adjustment.requested_by} on {localtime(adjustment.created_at):%Y-%m-%d %H:%M}"],
            "verb": verb, "cancel_url": change_url, "danger": verb == "Reject",
        }  # fmt: skip
        if verb == "Approve" and adjustment.requested_by == actor:
            context["details"].append("You asked for this adjustment: someone else must approve it.")
        return TemplateResponse(request, "loyalty/admin/confirm.html", context)
