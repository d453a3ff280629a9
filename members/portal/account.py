"""The member's plan, referral and profile, and leaving with their data: downloading it (GDPR Art. 15/20) and
closing the account (Art. 17)."""

import json
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from loyalty.errors import InvalidState
from loyalty.membership.selectors import referral_summary_of
from loyalty.subscriptions.selectors import plans_on_offer, subscription_live_of
from loyalty.subscriptions.services import subscription_cancel, subscription_resume
from members.errors import DomainError, InvalidLocale, InvalidName, InvalidPhone, PhoneExists
from members.portal.forms import ProfileForm
from members.portal.session import language_remember, member_required, member_sign_out
from members.services import member_update
from privacy.selectors import member_export
from privacy.services import member_erase

MEMBER = "member"  # the actor a member's own action is recorded as

# A status as a member reads it, and the badge class that goes with it (the word carries the meaning; the colour
# only repeats it).
STATUS_WORDS = {
    "incomplete": (gettext_lazy("Waiting for the first payment"), "warn"),
    "trialing": (gettext_lazy("Free trial"), "ok"),
    "active": (gettext_lazy("Active"), "ok"),
    "past_due": (gettext_lazy("Payment overdue"), "bad"),
}
# Statuses in which "cancel at period end" keeps the plan to the period's end; otherwise it ends at once.
ENDS_AT_PERIOD_END = ("trialing", "active")


def _perks(plan) -> list[str]:
    """A plan's perks as words: the program file names them as codes (`free_express_shipping`)."""
    return [str(perk).replace("_", " ").strip().capitalize() for perk in plan.perks or [] if str(perk).strip()]


def _multiplier(plan) -> Decimal:
    """The plan's multiplier without trailing zeros (2, 1.5, 1.25), for the template to localise."""
    return Decimal(f"{plan.multiplier.normalize():f}")


@member_required
@require_safe
def subscription(request: HttpRequest) -> HttpResponse:
    """The live plan (status, period end, perks, cancel or undo), or the plans on offer. (The context says `live`:
    base.html's nav names its link `subscription`.)"""
    live = subscription_live_of(request.member)
    context = {"member": request.member, "live": live}
    if live is not None:
        word, badge = STATUS_WORDS.get(live.status, (live.status, ""))
        context |= {"status_word": word, "status_badge": badge, "perks": _perks(live.plan),
                    "multiplier": _multiplier(live.plan),
                    "ends_at_period_end": live.status in ENDS_AT_PERIOD_END}  # fmt: skip
    else:
        context["plans"] = [(plan, _perks(plan), _multiplier(plan)) for plan in plans_on_offer()]
    return render(request, "portal/subscription.html", context)


@member_required
@require_http_methods(["GET", "HEAD", "POST"])
def subscription_cancel_view(request: HttpRequest) -> HttpResponse:
    """GET: what cancelling means, and a button to confirm; POST: cancel at the period's end (at once for a plan
    that was never paid or is overdue, which has no paid period to run to)."""
    live = subscription_live_of(request.member)
    if live is None:
        return redirect("portal:subscription")
    if request.method == "POST":
        try:
            subscription_cancel(subscription=live, at_period_end=True, now=timezone.now(), actor=MEMBER)
        except InvalidState:
            messages.error(request, _("This plan has already ended."))
        else:
            messages.success(request, _("Your plan is cancelled."))
        return redirect("portal:subscription")
    context = {"member": request.member, "live": live, "perks": _perks(live.plan),
               "ends_at_period_end": live.status in ENDS_AT_PERIOD_END}  # fmt: skip
    return render(request, "portal/subscription_cancel.html", context)


@member_required
@require_POST
def subscription_resume_view(request: HttpRequest) -> HttpResponse:
    """Take back a cancellation scheduled for the period's end."""
    live = subscription_live_of(request.member)
    try:
        if live is None:
            raise InvalidState
        subscription_resume(subscription=live, now=timezone.now(), actor=MEMBER)
    except InvalidState:
        messages.error(request, _("There is no cancellation to undo."))
    else:
        messages.success(request, _("Your plan continues: it renews as before."))
    return redirect("portal:subscription")


@member_required
@require_safe
def referral(request: HttpRequest) -> HttpResponse:
    member = request.member
    link = f"{settings.PUBLIC_BASE_URL}{reverse('portal:join')}?ref={member.referral_code}"
    context = {"member": member, "link": link, "summary": referral_summary_of(member)}
    return render(request, "portal/referral.html", context)


# What member_update refuses, in words a member understands, by the field it concerns.
PROFILE_ERRORS = {
    InvalidPhone: gettext_lazy("Please enter a phone number of 6 to 15 digits; it may start with +."),
    PhoneExists: gettext_lazy("This phone number belongs to another member. Please enter your own."),
    InvalidName: gettext_lazy("Please use at most 100 characters."),
    InvalidLocale: gettext_lazy("Please choose one of the languages offered."),
}


def _profile_initial(member) -> dict:
    return {"first_name": member.first_name, "last_name": member.last_name, "phone": member.phone,
            "locale": member.locale, "marketing_consent": member.marketing_consent}  # fmt: skip


@member_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The member's details and consent; changing them through member_update (nothing written on an error)."""
    member = request.member
    if request.method != "POST":
        form = ProfileForm(initial=_profile_initial(member))
        return render(request, "portal/profile.html", {"member": member, "form": form})
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            member_update(member=member, now=timezone.now(), **form.cleaned_data)
        except DomainError as exc:
            field = exc.param if exc.param in form.fields else None
            form.add_error(field, str(PROFILE_ERRORS.get(type(exc), _("Please check this value."))))
        else:
            messages.success(request, _("Your details are saved."))
            response = redirect("portal:profile")
            language_remember(response, member.locale)
            return response
    return render(request, "portal/profile.html", {"member": member, "form": form}, status=400)


@member_required
@require_safe
def profile_export(request: HttpRequest) -> HttpResponse:
    """Everything stored about the member, as a JSON file to download."""
    now = timezone.now()
    body = json.dumps(member_export(member=request.member, now=now), cls=DjangoJSONEncoder, indent=2,
                      ensure_ascii=False)  # fmt: skip
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"loyalty-data-{timezone.localdate(now).isoformat()}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@member_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile_close(request: HttpRequest) -> HttpResponse:
    """GET: what closing the account does, and a button to confirm. POST: the erasure (privacy's member_erase,
    the same the admin and the API call), the session ends, and a goodbye."""
    member = request.member
    if request.method != "POST":
        return render(request, "portal/close.html", {"member": member})
    member_erase(member=member, actor=MEMBER, now=timezone.now())
    member_sign_out(request)
    request.member = None
    return render(request, "portal/goodbye.html", {})
