"""The portal's test helpers: mails as a member receives them, and a signed-in browser-less client."""

import datetime as dt
import re

from django.core import mail
from django.test import Client
from django.utils import timezone

from loyalty.messages.jobs import deliver_messages
from members.models import Member
from members.portal.session import SESSION_MEMBER
from members.portal.signin import process_signin_requests

# Every page a signed-in member can open (with the demo's COFFEE reward loaded).
MEMBER_PAGES = [
    "/portal/", "/portal/history", "/portal/rewards", "/portal/rewards/COFFEE", "/portal/rewards/COFFEE/redeem",
    "/portal/vouchers", "/portal/subscription", "/portal/referral", "/portal/profile", "/portal/profile/export",
    "/portal/profile/close",
]  # fmt: skip

LINK = re.compile(r"https?://\S+/portal/login/(?P<token>[\w-]+)")


def mails_delivered(now: dt.datetime | None = None) -> list[mail.EmailMessage]:
    """Handle the sign-in requests and send every queued mail now (the tasks a worker runs after commit), and
    return the test outbox."""
    now = now or timezone.now() + dt.timedelta(seconds=1)
    process_signin_requests(now=now)
    deliver_messages(now=now)
    return mail.outbox


def mails_to(address: str) -> list[mail.EmailMessage]:
    return [message for message in mails_delivered() if address in message.to]


def signin_token(address: str) -> str:
    """The token of the newest sign-in link mailed to `address`."""
    bodies = [message.body for message in mails_to(address)]
    assert bodies, f"no mail to {address}"
    found = LINK.search(bodies[-1])
    assert found, f"no sign-in link in: {bodies[-1]}"
    return found["token"]


def signed_in(member: Member, client: Client | None = None) -> Client:
    """A client whose session belongs to `member` (what following a mailed link ends in)."""
    client = client or Client(HTTP_HOST="127.0.0.1")
    session = client.session
    session[SESSION_MEMBER] = member.pk
    session.save()
    return client
