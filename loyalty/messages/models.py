from django.db import models
from django.utils import timezone

from members.models import Member


class Message(models.Model):
    """A mail to a member: the outbox row written in the same transaction as what caused it, then delivered
    (and retried) by `messages_deliver`. The unique `dedupe_key` is what keeps a retried request or a rerun job
    from sending twice.

    A mail carrying a secret (a sign-in link) holds it apart from its text, in `secret`, which the text names as
    `[[secret]]`: the secret is put in at delivery and emptied once the mail is sent or has failed, so the stored
    text never lets whoever reads it sign in as the member."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=32)
    dedupe_key = models.CharField(max_length=200, unique=True)
    to_email = models.EmailField(max_length=254)
    language = models.CharField(max_length=5)
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField(blank=True, default="")
    headers = models.JSONField(default=dict, blank=True)
    secret = models.TextField(blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="queued"), name="message_queued_due"),
            models.Index(fields=["member", "-created_at"], name="message_member_newest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "sent", "failed"]), name="message_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email} ({self.status})"
