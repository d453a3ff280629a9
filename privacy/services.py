"""Erasure (GDPR Art. 17): a member's personal data goes, the ledger's amounts stay.

What names the person is rewritten in place: the member row, the stored `Idempotency-Key` responses that
showed them, the free-text notes staff wrote about them, the admin's log of changes to their records and the
mails sent to them; their sign-in links (and requests for one) are deleted. What only points at them by id
(ledger entries, transactions, holds, redemptions) keeps the id, which after erasure leads to nobody.
"""

import datetime as dt
import hashlib
import json
import re

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from loyalty.adjustments.models import Adjustment
from loyalty.earning.models import Refund, Transaction
from loyalty.holds.models import Hold
from loyalty.holds.services import hold_release_open
from loyalty.idempotency.models import IdempotentRequest
from loyalty.ledger.locking import account_lock, member_id_of
from loyalty.messages.models import Message
from loyalty.subscriptions.models import LIVE_STATUSES, Subscription, SubscriptionEvent
from loyalty.subscriptions.services import subscription_cancel
from members.models import Member, SignInLink, SignInRequest
from members.services import consent_apply
from rewards.models import Redemption, Voucher
from rewards.services import redemption_cancel

ERASED_EMAIL_DOMAIN = "erased.invalid"  # RFC 2606: `.invalid` never resolves, so nothing is ever delivered
ERASED = "[erased]"
PERSONAL_FIELDS = ("email", "first_name", "last_name", "phone", "birth_date", "card_number")


def erased_email(member: Member) -> str:
    return f"erased-{member.public_id.lower()}@{ERASED_EMAIL_DOMAIN}"


def erased_card_number(member: Member) -> str:
    """Unique (by the row's id), never empty, at most the column's 19 characters, and never a real card
    number (those are digits only)."""
    number = f"erased-{member.pk}"
    return number if len(number) <= 19 else f"E{member.pk:x}"


def card_number_sha256(card_number: str) -> str:
    return hashlib.sha256(card_number.encode()).hexdigest()


@transaction.atomic
def member_erase(*, member: Member, actor: str, now: dt.datetime) -> Member:
    """Erase the member's personal data, in one transaction: the member is `closed`; name, phone and birth
    date emptied; email an unroutable placeholder; card number a placeholder (only its SHA-256 kept);
    marketing consent withdrawn; open holds given back; issued vouchers cancelled (their redemptions undone:
    the points return to the account and the stock to the reward); a live subscription canceled now. Stored
    API responses, staff notes and the admin's log lose what named the person; mails sent to them keep only
    their kind, status and dates (a mail still queued is never sent); their sign-in links (and requests for one)
    are deleted.
    `erased_at` and `erased_by` (`actor`) say who.

    The ledger's amounts stay. Erasing an erased member changes nothing and returns it. Raises MemberNotFound."""
    account_lock(member_id=member_id_of(member))  # the ledger's lock order: the account first, then the rest
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.erased_at is not None:
        return member
    identifiers = _identifiers(member)

    for hold in Hold.objects.filter(member=member, status=Hold.Status.HELD).order_by("id"):
        hold_release_open(hold=hold, now=now, actor=actor)
    # Issued and still usable: those past their expiry are worthless already and the expiry job closes them
    # (without returning points, as for everyone).
    for redemption in Redemption.objects.filter(
        member=member,
        status=Redemption.Status.ISSUED,
        voucher__status=Voucher.Status.ISSUED,
        voucher__expires_at__gt=now,
    ).order_by("id"):
        redemption_cancel(redemption=redemption, now=now, actor=actor)
    live = Subscription.objects.filter(member=member, status__in=LIVE_STATUSES).first()
    if live is not None:
        subscription_cancel(subscription=live, at_period_end=False, now=now, actor=actor)

    consent_apply(member, consent=False, now=now)
    member.card_number_sha256 = card_number_sha256(member.card_number)
    member.card_number = erased_card_number(member)
    member.email = erased_email(member)
    member.first_name = member.last_name = member.phone = ""
    member.birth_date = None
    member.status = Member.Status.CLOSED
    member.erased_at, member.erased_by = now, actor
    member.save()

    _scrub_stored_responses(member, identifiers)
    _scrub_notes(member, identifiers)
    _scrub_admin_log(member, identifiers)
    _scrub_messages(member, identifiers)
    SignInLink.objects.filter(member=member).delete()
    SignInRequest.objects.filter(email=identifiers["email"]).delete()  # asked for, not yet handled
    return member


def _identifiers(member: Member) -> dict[str, str]:
    """The person's values as they may appear in text, before erasure."""
    values = {
        "email": member.email,
        "card_number": member.card_number,
        "phone": member.phone,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "birth_date": member.birth_date.isoformat() if member.birth_date else "",
    }
    return {name: value for name, value in values.items() if value}


def _redact(text: str, identifiers: dict[str, str]) -> str:
    """`text` with every identifier of the person replaced; names only as whole words, any case."""
    for name, value in identifiers.items():
        if name in ("first_name", "last_name"):
            text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", ERASED, text, flags=re.IGNORECASE)
        else:
            text = re.sub(re.escape(value), ERASED, text, flags=re.IGNORECASE)
    return text


def _scrubbed(value, member: Member, identifiers: dict[str, str]):
    """A stored JSON response with the member's own shape set to the erased values and every other
    mention of the person redacted."""
    if isinstance(value, dict):
        out = {key: _scrubbed(item, member, identifiers) for key, item in value.items()}
        if out.get("id") == member.public_id:
            out.update(
                {name: _erased_value(member, name) for name in PERSONAL_FIELDS if name in out}
                | ({"status": member.status} if "status" in out else {})
            )
        return out
    if isinstance(value, list):
        return [_scrubbed(item, member, identifiers) for item in value]
    if isinstance(value, str):
        return _redact(value, identifiers)
    return value


def _erased_value(member: Member, name: str):
    value = getattr(member, name)
    return value.isoformat() if isinstance(value, dt.date) else value


def _scrub_stored_responses(member: Member, identifiers: dict[str, str]) -> None:
    """Idempotency-Key responses replay for up to IDEMPOTENCY_KEY_TTL_HOURS: those that showed the member
    (an enrollment's answer holds the email, name and card number) are rewritten to show the erased member.
    Kept rather than deleted, so a late retry of an enrollment replays the erased member instead of enrolling
    the person again."""
    needles = [member.public_id, *(identifiers[name] for name in ("email", "card_number") if name in identifiers)]
    text = Cast("body", TextField())
    mentioning = Q()
    for needle in needles:
        mentioning |= Q(body_text__contains=json.dumps(needle)[1:-1])
    rows = IdempotentRequest.objects.annotate(body_text=text).filter(mentioning).select_for_update()
    for row in rows.only("pk", "body"):
        body = _scrubbed(row.body, member, identifiers)
        if body != row.body:
            IdempotentRequest.objects.filter(pk=row.pk).update(body=body)


def _scrub_notes(member: Member, identifiers: dict[str, str]) -> None:
    """Staff notes on the member's adjustments and subscription events, redacted where they name them.

    A posted adjustment's note is also copied into its ledger entry's description, which is append-only
    (a database trigger refuses the UPDATE); that copy is beyond this service."""
    for model, scope in (
        (Adjustment, Q(member=member)),
        (SubscriptionEvent, Q(subscription__member=member)),
    ):
        for pk, note in model.objects.filter(scope).exclude(note="").values_list("pk", "note"):
            redacted = _redact(note, identifiers)
            if redacted != note:
                model.objects.filter(pk=pk).update(note=redacted)


# The member's records the admin may have logged a change of (by content type and id): the log's text (the
# object's name then, and a change message that may quote a staff note) is redacted like the notes.
LOGGED_RECORDS = (
    (Adjustment, "member"), (Subscription, "member"), (Redemption, "member"), (Voucher, "member"),
    (Hold, "member"), (Transaction, "member"), (Refund, "transaction__member"), (Message, "member"),
)  # fmt: skip


def _scrub_admin_log(member: Member, identifiers: dict[str, str]) -> None:
    """The admin's log (the audit log): entries about the member name them as the member was then; entries
    about their other records may quote what staff wrote. Both redacted; an entry about the member itself
    shows the erased member."""
    content_types = ContentType.objects.get_for_models(Member, *(model for model, _ in LOGGED_RECORDS))
    about = Q(content_type=content_types[Member], object_id=str(member.pk))
    for model, owner in LOGGED_RECORDS:
        ids = [str(pk) for pk in model.objects.filter(**{owner: member}).values_list("pk", flat=True)]
        if ids:
            about |= Q(content_type=content_types[model], object_id__in=ids)
    member_type = content_types[Member].pk
    for entry in LogEntry.objects.filter(about).only("pk", "content_type_id", "object_id", "object_repr",
                                                     "change_message"):  # fmt: skip
        is_member = entry.content_type_id == member_type and entry.object_id == str(member.pk)
        object_repr = str(member)[:200] if is_member else _redact(entry.object_repr, identifiers)
        change_message = _redact(entry.change_message, identifiers)
        if (object_repr, change_message) != (entry.object_repr, entry.change_message):
            LogEntry.objects.filter(pk=entry.pk).update(object_repr=object_repr, change_message=change_message)


ERASED_BEFORE_DELIVERY = "not sent: the member was erased"


def _scrub_messages(member: Member, identifiers: dict[str, str]) -> None:
    """Mails to the member keep their kind, status and dates: the address becomes the erased placeholder, the
    subject is redacted, the text, headers and errors (which may quote the address) are emptied. A mail still
    queued is marked failed, so it is never sent."""
    mails = Message.objects.filter(member=member)
    mails.filter(status=Message.Status.QUEUED).update(status=Message.Status.FAILED, last_error=ERASED_BEFORE_DELIVERY)
    mails.exclude(last_error=ERASED_BEFORE_DELIVERY).update(last_error="")
    mails.update(to_email=member.email, body_text="", body_html="", headers={}, secret="")
    for subject in mails.order_by().values_list("subject", flat=True).distinct():
        redacted = _redact(subject, identifiers)
        if redacted != subject:
            mails.filter(subject=subject).update(subject=redacted)
