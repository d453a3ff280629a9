"""Mails to members: queue one in the caller's transaction, deliver it after commit, retry what failed."""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction

from loyalty.messages.models import Message
from members.models import Member

logger = logging.getLogger("loyalty.messages")

SECRET_MARK = "[[secret]]"  # noqa: S105 - a placeholder in a mail's text, not a secret
# Attempts after the first, and how long to wait before each: about an hour and a half in all, then `failed`.
RETRY_DELAYS = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=1))


def message_queue(
    *, member: Member, kind: str, dedupe_key: str, subject: str, text: str, html: str = "", secret: str = "",
    headers: dict[str, str] | None = None, now: dt.datetime,
) -> Message | None:  # fmt: skip
    """Queue a mail to `member` in the current transaction and have it delivered once that commits. Returns None,
    writing nothing, when `dedupe_key` was queued before (a retry or a rerun): a cause sends one mail only.
    `text` and `html` name `secret` (a sign-in link) as SECRET_MARK; it is stored apart and emptied once sent."""
    message = Message(
        member=member, kind=kind, dedupe_key=dedupe_key, to_email=member.email, language=member.locale,
        subject=subject, body_text=text, body_html=html, secret=secret, headers=headers or {}, created_at=now,
        next_attempt_at=now,
    )  # fmt: skip
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        if Message.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    from loyalty.messages.tasks import deliver_message  # noqa: PLC0415 - tasks import this module
    from loyalty.queueing import task_enqueue  # noqa: PLC0415

    task_enqueue(deliver_message, args=(message.pk,))
    return message


def message_deliver(*, message_id: int, now: dt.datetime) -> str | None:
    """Send one queued message that is due, if no other worker is sending it; its status afterwards (None when
    there was nothing to do). A failure is recorded with when to try again, or `failed` after the last retry."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=Message.Status.QUEUED, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return None
        try:
            _send(message)
        except Exception as exc:  # noqa: BLE001 - any transport error is a failed attempt, retried later
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if message.attempts > len(RETRY_DELAYS):
                message.status = Message.Status.FAILED
                message.secret = ""
            else:
                message.next_attempt_at = now + RETRY_DELAYS[message.attempts - 1]
            logger.warning("mail %s (%s) not sent, attempt %s: %s", message.pk, message.kind, message.attempts,
                           message.last_error)  # fmt: skip
        else:
            message.attempts += 1
            message.status, message.sent_at, message.secret, message.last_error = Message.Status.SENT, now, "", ""
        message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at", "secret", "sent_at"])
        return message.status


def _send(message: Message) -> None:
    mail = EmailMultiAlternatives(
        subject=message.subject, body=message.body_text.replace(SECRET_MARK, message.secret),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[message.to_email], headers=message.headers or None,
    )  # fmt: skip
    if message.body_html:
        mail.attach_alternative(message.body_html.replace(SECRET_MARK, message.secret), "text/html")
    mail.send()


def messages_due(*, now: dt.datetime, limit: int) -> list[int]:
    return list(
        Message.objects.filter(status=Message.Status.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
