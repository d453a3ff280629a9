"""Passwordless sign-in: a one-time link by mail, good once and for PORTAL_SIGNIN_LINK_MINUTES.

Asking for a link answers the same whatever the address: whether a member has it shows only in their inbox.
Only the SHA-256 of a token is stored, and the link's mail holds it only until it is sent (loyalty.messages)."""

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from loyalty.jobs.runner import JobRun
from loyalty.messages.services import SECRET_MARK, message_queue
from loyalty.queueing import task_enqueue
from members.errors import DomainError
from members.models import Member, SignInLink, SignInRequest
from members.services import email_normalise

logger = logging.getLogger("members.portal")

KIND_SIGN_IN = "sign_in"
KIND_WELCOME = "welcome"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=settings.PORTAL_SIGNIN_LINK_MINUTES)


def client_over_limit(client: str) -> bool:
    """Count one request for a link from `client` (its address) in the current window; True past the limit.
    A cache that is down lets the request through (logged): the per-address limit is a brake, the per-email
    one (counted in the database) still holds."""
    key = f"portal:signin:{hashlib.sha256(client.encode()).hexdigest()[:32]}"
    try:
        cache.add(key, 0, timeout=int(_window().total_seconds()))
        return cache.incr(key) > settings.PORTAL_SIGNIN_LIMIT
    except Exception as exc:  # noqa: BLE001 - the cache being down must not stop members signing in
        logger.error("sign-in rate limit not applied: the cache is unreachable (%s: %s)", type(exc).__name__, exc)
        return False


def signin_requested(*, email: str, client: str, now: dt.datetime) -> None:
    """Someone asked for a sign-in link for `email`: unless the client is over its limit, record the request and
    have it handled after commit. The same statements run whoever asks: no lookup of the address here."""
    if not client_over_limit(client):
        signin_request_record(email=email, now=now)


def signin_request_record(*, email: str, now: dt.datetime) -> None:
    """Record a request for a sign-in link to `email`, handled after commit (`process_signin_requests`): a link
    if an active member has the address, nothing otherwise."""
    try:
        email = email_normalise(email)
    except DomainError:  # an address no member can have: nothing to send, and nothing that took longer
        email = ""
    with transaction.atomic():
        SignInRequest.objects.create(email=email, created_at=now)
        from members.portal.tasks import process_signin_requests_task  # noqa: PLC0415 - tasks import this module

        task_enqueue(process_signin_requests_task)


def process_signin_requests(*, now: dt.datetime, chunk_size: int = 100) -> JobRun:
    """Handle the recorded requests: a link to each active member among the addresses (within their limit),
    nothing to the others; the requests are deleted. Chunks claimed with SKIP LOCKED, so workers share them."""
    run = JobRun("process_signin_requests", unit="requests")
    while True:
        with transaction.atomic():
            batch = list(SignInRequest.objects.select_for_update(skip_locked=True).order_by("pk")[:chunk_size])
            if not batch:
                return run
            addresses = {request.email for request in batch if request.email}
            members = {m.email: m for m in Member.objects.filter(email__in=addresses, status=Member.Status.ACTIVE)}
            for request in batch:
                member = members.get(request.email)
                if member is not None and signin_link_send(member=member, now=now):
                    run.add(links_sent=1)
            SignInRequest.objects.filter(pk__in=[request.pk for request in batch]).delete()
            run.chunks += 1
            run.accounts += len(batch)


@transaction.atomic
def signin_link_send(*, member: Member, now: dt.datetime, kind: str = KIND_SIGN_IN) -> bool:
    """Mail `member` a new sign-in link (`kind` welcome: with a welcome), unless PORTAL_SIGNIN_LIMIT links went
    to them in the current window already. True if a mail was queued."""
    Member.objects.select_for_update().filter(pk=member.pk).first()  # counts and inserts one at a time
    recent = SignInLink.objects.filter(member=member, created_at__gt=now - _window()).count()
    if recent >= settings.PORTAL_SIGNIN_LIMIT:
        return False
    token = secrets.token_urlsafe(32)
    link = SignInLink.objects.create(
        member=member, token_sha256=token_hash(token), created_at=now, expires_at=now + _window()
    )
    url = settings.PUBLIC_BASE_URL + reverse("portal:signin", args=[token])
    context = {"member": member, "link": SECRET_MARK, "minutes": settings.PORTAL_SIGNIN_LINK_MINUTES, "kind": kind}
    with translation.override(member.locale):
        subject = render_to_string("portal/mail/signin_subject.txt", context).strip()
        text = render_to_string("portal/mail/signin.txt", context)
    message_queue(
        member=member, kind=kind, dedupe_key=f"{kind}:{link.pk}", subject=subject, text=text, secret=url, now=now
    )
    return True


def signin_link_use(*, token: str, now: dt.datetime) -> Member | None:
    """Spend the link `token` (once, before it expires) and return its member if still active; None otherwise.
    Two clicks at once: the conditional update lets exactly one through."""
    with transaction.atomic():
        link = SignInLink.objects.filter(token_sha256=token_hash(token), used_at=None, expires_at__gt=now).first()
        if link is None or not SignInLink.objects.filter(pk=link.pk, used_at=None).update(used_at=now):
            return None
        member = Member.objects.get(pk=link.member_id)
    return member if member.status == Member.Status.ACTIVE else None


def signin_link_valid(*, token: str, now: dt.datetime) -> bool:
    """Whether the link would still sign in (shown before the button that spends it)."""
    return SignInLink.objects.filter(token_sha256=token_hash(token), used_at=None, expires_at__gt=now).exists()
