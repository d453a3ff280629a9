"""Members in the back office: search, the 360 page, adjusting points, suspending and reactivating.

The admin renders forms and calls services; every write carries `staff:<username>` and leaves a LogEntry."""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.timezone import localtime
from unfold.admin import ModelAdmin

from backoffice.member_360 import member_360_of
from loyalty.adjustments.models import Adjustment
from loyalty.adjustments.services import NOTE_MAX_LENGTH, points_adjust
from loyalty.ledger.entries import MAX_POINTS
from loyalty.shops.admin import ShopCustomerScopedAdmin, staff_shop_id
from members.cards import is_ascii_digits
from members.errors import DomainError
from members.models import Member
from members.services import (
    email_normalise,
    locale_normalise,
    member_enroll,
    member_set_status,
    member_update,
    phone_normalise,
)
from privacy.services import member_erase

ADJUST_PERMISSION = "loyalty.add_adjustment"
ERASE_PERMISSION = "members.erase_member"
PUBLIC_ID = re.compile(r"mem_[0-9a-z]+")


class MemberForm(forms.ModelForm):
    """Staff edits pass through the same normalisation as the API."""

    # As typed ("+49 (151) 234-5678"): the normaliser checks it and stores the 16 characters at most of E.164.
    phone = forms.CharField(max_length=32, required=False)

    class Meta:
        model = Member
        fields = ["email", "first_name", "last_name", "phone", "birth_date", "locale", "marketing_consent"]

    def _normalised(self, name: str, normalise) -> str:
        try:
            return normalise(self.cleaned_data[name])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_email(self) -> str:
        email = self._normalised("email", email_normalise)
        taken = Member.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("A member with this email already exists.")
        return email

    def clean_phone(self) -> str:
        return self._normalised("phone", phone_normalise)

    def clean_locale(self) -> str:
        return self._normalised("locale", locale_normalise)


class AdjustForm(forms.Form):
    """Points added (> 0) or taken (< 0) by hand, with a reason from the list and a note saying why."""

    points = forms.IntegerField(
        min_value=-MAX_POINTS, max_value=MAX_POINTS, help_text="positive adds points, negative takes them"
    )
    reason = forms.ChoiceField(choices=Adjustment.Reason.choices)
    note = forms.CharField(max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError("An adjustment adds or takes at least one point.")
        return points

    def clean_note(self) -> str:
        note = self.cleaned_data["note"]
        if not note.strip():
            raise forms.ValidationError("A note says why; it cannot be blank.")
        return note


def member_search(queryset: QuerySet[Member], term: str) -> QuerySet[Member]:
    """Members matching what staff typed: a public id exactly; digits as the start of a card number, or
    (when no card starts with them) anywhere in a phone number; `+` and digits as the start of a phone; an
    address (with @) anywhere in the email; words anywhere in the first name, last name or email (every word
    must match).

    A card prefix is also bounded as a range, so the card number's unique index serves it whatever the
    database's collation, and the scan of phones runs only when no card matched; emails are stored
    lower-case, so no UPPER() is needed on them."""
    term = term.strip()
    if not term:
        return queryset
    if PUBLIC_ID.fullmatch(term):
        return queryset.filter(public_id=term)
    digits = re.sub(r"[ ().-]", "", term)
    if is_ascii_digits(digits.removeprefix("+")):
        if digits.startswith("+"):
            return queryset.filter(phone__startswith=digits)
        cards = queryset.filter(_card_prefix(digits))
        return cards if cards.exists() else queryset.filter(phone__contains=digits)
    if "@" in term:
        return queryset.filter(email__contains=term.lower())
    for word in term.split():
        queryset = queryset.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__contains=word.lower())
        )
    return queryset


def _card_prefix(digits: str) -> Q:
    """card_number LIKE 'digits%', as the index range [digits, next prefix) too."""
    prefix = Q(card_number__startswith=digits, card_number__gte=digits)
    stem = digits.rstrip("9")
    if stem:  # '1239' -> below '124'; all nines have no upper bound
        prefix &= Q(card_number__lt=stem[:-1] + str(int(stem[-1]) + 1))
    return prefix


def consent_dates(member: Member) -> list[tuple[str, object]]:
    """The member's consent dates, for whichever the model records (named `*consent*`, dates or times)."""
    return [
        (
            str(field.verbose_name).replace("marketing consent", "consent").removesuffix(" at"),
            getattr(member, field.name),
        )
        for field in Member._meta.concrete_fields
        if "consent" in field.name and field.get_internal_type() in ("DateTimeField", "DateField")
    ]


@admin.register(Member)
class MemberAdmin(ShopCustomerScopedAdmin, ModelAdmin):
    form = MemberForm
    change_form_template = "backoffice/member_change_form.html"
    list_display = ["card_number", "email", "first_name", "last_name", "phone", "status", "enrolled_at"]
    list_filter = ["status", "locale", "marketing_consent"]
    # The search is member_search's; a field here makes the admin show the search box.
    search_fields = ["email"]
    search_help_text = "Email or name (part), phone (digits), card number (first digits) or member id (mem_…)."
    show_full_result_count = False  # COUNT(*) over millions of members on every page is not free
    actions = None  # no bulk delete, nor any other bulk change

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": MemberForm.Meta.fields})]
        consent = ["marketing_consent", *(field for field in self._consent_fields())]
        return [
            ("Identity and contact", {"fields": ["email", ("first_name", "last_name"), "phone", "birth_date",
                                                 "locale"]}),
            ("Status and consent", {"fields": ["status", *consent]}),
            ("Card", {"fields": ["card_number", "public_id", "referral_code", "referred_by", "enrolled_at",
                                 "updated_at"]}),
            *([("Erasure", {"fields": ["erased_at", "erased_by"]})] if obj.erased_at else []),
        ]  # fmt: skip

    @staticmethod
    def _consent_fields() -> list[str]:
        return [
            field.name
            for field in Member._meta.concrete_fields
            if "consent" in field.name and field.get_internal_type() in ("DateTimeField", "DateField")
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.erased_at is not None:  # what erasure emptied stays empty
            return [*MemberForm.Meta.fields, "status", "card_number", "public_id", "referral_code", "referred_by",
                    "enrolled_at", "updated_at", "erased_at", "erased_by", *self._consent_fields()]  # fmt: skip
        return ["status", "card_number", "public_id", "referral_code", "referred_by", "enrolled_at", "updated_at",
                "erased_at", "erased_by", *self._consent_fields()]  # fmt: skip

    def get_search_results(self, request, queryset, search_term):
        return member_search(queryset, search_term), False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a member is erased (their data), never deleted (their ledger stays)

    def save_model(self, request, obj: Member, form, change: bool) -> None:
        if change:  # through the service the API and the portal use: normalised, consent dated, erased refused
            edited = {name: form.cleaned_data[name] for name in form.changed_data if name in MemberForm.Meta.fields}
            member_update(member=obj, now=timezone.now(), **edited)
            return
        enrolled = member_enroll(**{name: form.cleaned_data[name] for name in MemberForm.Meta.fields})
        obj.pk, obj.public_id, obj.card_number = enrolled.pk, enrolled.public_id, enrolled.card_number

    # -- the 360 page ------------------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        member = self.get_object(request, object_id)
        if member is not None and self.has_view_or_change_permission(request, member):
            extra_context.update(self._context_360(request, member, adjust_form=AdjustForm()))
        return super().change_view(request, object_id, form_url, extra_context)

    def _context_360(self, request: HttpRequest, member: Member, *, adjust_form: AdjustForm) -> dict:
        view = member_360_of(member=member, now=timezone.now(), shop_id=staff_shop_id(request))
        by_member = f"?member__id__exact={member.pk}"
        links = [
            ("Transactions", reverse("admin:loyalty_transaction_changelist") + by_member),
            ("Redemptions", reverse("admin:rewards_redemption_changelist") + by_member),
            ("Vouchers", reverse("admin:rewards_voucher_changelist") + by_member),
            ("Holds", reverse("admin:loyalty_hold_changelist") + by_member),
            ("Subscriptions", reverse("admin:loyalty_subscription_changelist") + by_member),
            ("Adjustments", reverse("admin:loyalty_adjustment_changelist") + by_member),
        ]
        if view.account is not None:
            by_account = f"?account__id__exact={view.account.pk}"
            links.insert(0, ("Full ledger", reverse("admin:loyalty_ledgerentry_changelist") + by_account))
            links.append(("Tier changes", reverse("admin:loyalty_tierchange_changelist") + by_account))
        can_change = self.has_change_permission(request, member)
        return {
            "m360": view,
            "m360_links": links,
            "consent_dates": consent_dates(member),
            "adjust_form": adjust_form if request.user.has_perm(ADJUST_PERMISSION) else None,
            "adjust_url": reverse("admin:members_member_adjust", args=[member.pk]),
            "can_suspend": can_change and member.status == Member.Status.ACTIVE,
            "can_reactivate": can_change and member.status == Member.Status.SUSPENDED,
            "suspend_url": reverse("admin:members_member_status", args=[member.pk, "suspend"]),
            "reactivate_url": reverse("admin:members_member_status", args=[member.pk, "reactivate"]),
            "erase_url": reverse("admin:members_member_erase", args=[member.pk])
            if request.user.has_perm(ERASE_PERMISSION) and member.erased_at is None
            else None,
        }

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:member_id>/adjust/", wrap(self.adjust_view), name="members_member_adjust"),
            path("<int:member_id>/status/<str:action>/", wrap(self.status_view), name="members_member_status"),
            path("<int:member_id>/erase/", wrap(self.erase_view), name="members_member_erase"),
            *super().get_urls(),
        ]

    def _member_or_404(self, request: HttpRequest, member_id: int) -> Member:
        member = get_object_or_404(self.get_queryset(request), pk=member_id)
        if not self.has_view_or_change_permission(request, member):
            raise PermissionDenied
        return member

    def _change_url(self, member: Member) -> str:
        return reverse("admin:members_member_change", args=[member.pk])

    def adjust_view(self, request: HttpRequest, member_id: int) -> HttpResponse:
        """POST only: add or take points through points_adjust, as `staff:<username>`."""
        member = self._member_or_404(request, member_id)
        if not request.user.has_perm(ADJUST_PERMISSION):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(member))
        form = AdjustForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                messages.error(request, f"Points not adjusted: {field}: {' '.join(errors)}")
            return HttpResponseRedirect(self._change_url(member) + "#adjust")
        data = form.cleaned_data
        try:
            result = points_adjust(
                member=member, points=data["points"], reason=data["reason"], note=data["note"],
                actor=f"staff:{request.user.get_username()}", now=timezone.now(),
            )  # fmt: skip
        except DomainError as exc:
            messages.error(request, f"Points not adjusted: {exc.message}")
            return HttpResponseRedirect(self._change_url(member) + "#adjust")
        adjustment = result.adjustment
        what = f"{adjustment.points:+d} points ({adjustment.reason}), {adjustment.status}"
        self.log_change(request, member, f"Adjustment {adjustment.public_id}: {what}")
        if adjustment.status == Adjustment.Status.POSTED:
            messages.success(
                request,
                f"{adjustment.points:+,d} points posted ({adjustment.reason}); available now "
                f"{result.account.available:,d}.",
            )
        else:
            messages.warning(
                request,
                f"{adjustment.points:+,d} points wait for approval by a second person (adjustment "
                f"{adjustment.public_id}): nothing is posted until then.",
            )
        return HttpResponseRedirect(self._change_url(member) + "#ledger")

    STATUS_ACTIONS = {
        "suspend": (Member.Status.ACTIVE, Member.Status.SUSPENDED, "Suspend",
                    "The member can no longer earn or spend points, at the tills or in the API, until reactivated. "
                    "Their points, tier and history are kept."),
        "reactivate": (Member.Status.SUSPENDED, Member.Status.ACTIVE, "Reactivate",
                       "The member can earn and spend points again."),
    }  # fmt: skip

    def status_view(self, request: HttpRequest, member_id: int, action: str) -> HttpResponse:
        """Suspend or reactivate: a confirmation page (GET), then member_set_status (POST)."""
        if action not in self.STATUS_ACTIONS:
            raise PermissionDenied
        member = self._member_or_404(request, member_id)
        if not self.has_change_permission(request, member):
            raise PermissionDenied
        from_status, to_status, verb, consequence = self.STATUS_ACTIONS[action]
        if member.status != from_status:
            messages.error(request, f"{verb}: the member is {member.status}, not {from_status}.")
            return HttpResponseRedirect(self._change_url(member))
        if request.method == "POST":
            member_set_status(member=member, status=to_status)
            self.log_change(request, member, f"Status: {from_status} → {to_status}")
            messages.success(request, f"The member is {to_status}.")
            return HttpResponseRedirect(self._change_url(member))
        return confirmation(
            request, self, member, title=f"{verb} {member.card_number}?", consequence=consequence, verb=verb,
            cancel_url=self._change_url(member),
        )  # fmt: skip

    ERASE_DETAILS = [
        "The member is closed: they can no longer earn, spend or log in.",
        "Name, phone and birth date are emptied; the email becomes an unroutable placeholder.",
        "The card number is replaced; only its SHA-256 is kept, so an erased card can still be recognised.",
        "Marketing consent is withdrawn.",
        "Open holds are released, issued vouchers cancelled (their points return to the account), a live "
        "subscription is canceled now.",
        "Stored API answers and staff notes lose what named the person.",
        "The ledger's amounts stay, linked to an id that leads to nobody. This cannot be undone.",
    ]

    def erase_view(self, request: HttpRequest, member_id: int) -> HttpResponse:
        """GDPR erasure: a confirmation page stating what happens (GET), then privacy's member_erase (POST)."""
        member = self._member_or_404(request, member_id)
        if not request.user.has_perm(ERASE_PERMISSION):
            raise PermissionDenied
        if member.erased_at is not None:
            messages.info(request, f"This member was erased on {localtime(member.erased_at):%Y-%m-%d %H:%M}.")
            return HttpResponseRedirect(self._change_url(member))
        if request.method == "POST":
            card_number = member.card_number
            erased = member_erase(member=member, actor=f"staff:{request.user.get_username()}", now=timezone.now())
            self.log_change(request, erased, "Erased (GDPR): personal data removed")
            messages.success(request, f"Member {card_number} erased: their personal data is gone, their ledger kept.")
            return HttpResponseRedirect(self._change_url(erased))
        return confirmation(
            request, self, member, title=f"Erase {member.card_number} ({member.email})?", verb="Erase",
            consequence="Erasure (GDPR Art. 17) removes this person's data from the program, at once:",
            details=self.ERASE_DETAILS, cancel_url=self._change_url(member), danger=True,
        )  # fmt: skip


def confirmation(request, model_admin, obj, *, title: str, consequence: str, verb: str, cancel_url: str,
                 danger: bool = False, details: list[str] | None = None) -> TemplateResponse:  # fmt: skip
    """A page stating what an action will do, with a button that POSTs it and a way back."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "object": obj,
        "title": title,
        "consequence": consequence,
        "details": details or [],
        "verb": verb,
        "cancel_url": cancel_url,
        "danger": danger,
    }
    return TemplateResponse(request, "loyalty/admin/confirm.html", context)
