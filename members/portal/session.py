"""Who is signed in to the portal: a member's id in the Django session (members are not Django users)."""

import datetime as dt
import functools

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers

from members.models import Member

SESSION_MEMBER = "portal_member"
SESSION_SEEN = "portal_seen"  # the day the session's expiry was last pushed back
LANGUAGE_COOKIE_DAYS = 365


def member_sign_in(request: HttpRequest, member: Member) -> None:
    """Start a fresh session (a new key, nothing carried over from before) for `member`."""
    request.session.flush()
    request.session[SESSION_MEMBER] = member.pk
    _keep_alive(request)


def member_sign_out(request: HttpRequest) -> None:
    request.session.flush()


def language_remember(response: HttpResponse, code: str) -> None:
    """The language the portal speaks to this browser from now on (LocaleMiddleware reads the cookie before
    Accept-Language): a year, and as secure as the session's cookie (Secure behind TLS, not on plain HTTP)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, code, max_age=LANGUAGE_COOKIE_DAYS * 24 * 3600, samesite="Lax",
        httponly=True, secure=settings.SESSION_COOKIE_SECURE,
    )  # fmt: skip


def _keep_alive(request: HttpRequest) -> None:
    """Sessions end after PORTAL_SESSION_DAYS without a visit: the expiry is pushed back at most once a day,
    so a page view does not write the session every time."""
    today = timezone.localdate().isoformat()
    if request.session.get(SESSION_SEEN) != today:
        request.session[SESSION_SEEN] = today
        request.session.set_expiry(dt.timedelta(days=settings.PORTAL_SESSION_DAYS))


def signed_in_member(request: HttpRequest) -> Member | None:
    """The active member this session belongs to; a suspended or closed one is signed out."""
    member_pk = request.session.get(SESSION_MEMBER)
    if member_pk is None:
        return None
    member = Member.objects.filter(pk=member_pk).first()
    if member is None or member.status != Member.Status.ACTIVE:
        member_sign_out(request)
        return None
    return member


def member_required(view):
    """Pages for a signed-in member: `request.member` is set and the page speaks the member's language;
    without a session, the sign-in page (coming back here afterwards is not offered: no open redirect). What they
    answer is never stored by a browser or a proxy (`no-store`): after signing out on a shared phone, Back does not
    bring the balance or a voucher back."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        member = signed_in_member(request)
        if member is None:
            return redirect("portal:login")
        _keep_alive(request)
        request.member = member
        translation.activate(member.locale)
        request.LANGUAGE_CODE = member.locale
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return wrapper
