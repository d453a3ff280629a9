"""Signing in and out, joining, and the language switch."""

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from loyalty.membership.services import member_enroll_with_account
from members.errors import DomainError, InvalidReferralCode, MemberExists
from members.portal.forms import JoinForm, LanguageForm, LoginForm
from members.portal.session import language_remember, member_sign_in, member_sign_out, signed_in_member
from members.portal.signin import (
    KIND_WELCOME,
    client_over_limit,
    signin_link_send,
    signin_link_use,
    signin_link_valid,
    signin_request_record,
    signin_requested,
)  # fmt: skip
from members.services import member_update


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


@require_http_methods(["GET", "HEAD", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """One field, and one answer whoever asks: "if this address belongs to a member, we sent a link"."""
    if request.method != "POST":
        if signed_in_member(request) is not None:
            return redirect("portal:home")
        return render(request, "portal/login.html", {"form": LoginForm()})
    form = LoginForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/login.html", {"form": form}, status=400)
    signin_requested(email=form.cleaned_data["email"], client=_client(request), now=timezone.now())
    return render(request, "portal/login.html", {"form": LoginForm(), "sent": True})


@never_cache  # the page of a link that signs in: kept by no browser or proxy
@require_http_methods(["GET", "HEAD", "POST"])
def signin(request: HttpRequest, token: str) -> HttpResponse:
    """The mailed link: a GET only shows a button (mail scanners that open links do not spend them); its POST
    signs in."""
    now = timezone.now()
    if request.method != "POST":
        return render(request, "portal/signin.html", {"valid": signin_link_valid(token=token, now=now)})
    member = signin_link_use(token=token, now=now)
    if member is None:
        return render(request, "portal/signin.html", {"valid": False}, status=400)
    member_sign_in(request, member)
    response = redirect("portal:home")
    language_remember(response, member.locale)
    return response


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    member_sign_out(request)
    return redirect("portal:login")


@require_http_methods(["GET", "HEAD", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    """Enroll with email, first name, language and an unticked consent box, then a sign-in link by mail. An
    address already enrolled gets the same answer, and a sign-in link instead."""
    if request.method != "POST":
        initial = {"ref": request.GET.get("ref", "")[:12], "locale": translation.get_language()}
        return render(request, "portal/join.html", {"form": JoinForm(initial=initial)})
    form = JoinForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/join.html", {"form": form}, status=400)
    data, now = form.cleaned_data, timezone.now()
    if client_over_limit(_client(request)):
        return render(request, "portal/join.html", {"form": form, "sent": True})
    try:
        with transaction.atomic():
            member = member_enroll_with_account(
                email=data["email"], first_name=data["first_name"], locale=data["locale"],
                marketing_consent=data["marketing_consent"], referral_code=data["ref"] or None, now=now,
            )  # fmt: skip
            signin_link_send(member=member, now=now, kind=KIND_WELCOME)
    except MemberExists:  # the same answer, and a sign-in link if the member is active, as the login page sends
        signin_request_record(email=data["email"], now=now)
    except InvalidReferralCode:
        form.add_error(None, _("This invitation link is not valid any more. You can join without it."))
        form.data = form.data.copy()
        form.data["ref"] = ""
        return render(request, "portal/join.html", {"form": form}, status=400)
    except DomainError as exc:
        field = exc.param if exc.param in form.fields else None
        form.add_error(field, _("Please check this value."))
        return render(request, "portal/join.html", {"form": form}, status=400)
    return render(request, "portal/join.html", {"form": form, "sent": True})


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Switch the language: the cookie for a visitor, and the member's `locale` too when signed in."""
    form = LanguageForm(request.POST)
    target = request.POST.get("next", "")
    if not (target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )):  # fmt: skip
        target = resolve_url("portal:home")
    response = HttpResponseRedirect(target)
    if not form.is_valid():
        return response
    code = form.cleaned_data["language"]
    member = signed_in_member(request)
    if member is not None and member.locale != code:
        member_update(member=member, locale=code, now=timezone.now())
    language_remember(response, code)
    return response
