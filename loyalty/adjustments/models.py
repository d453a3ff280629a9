from django.db import models
from django.db.models import Q

from loyalty.shops.models import Shop
from members.models import Member


class Adjustment(models.Model):
    """Points a member of staff (or a shop, through the API) adds or takes by hand, with a reason and a note.

    Above the program's `adjustment_approval_points` it waits (`pending_approval`) for a second person to
    approve it; it is written to the ledger (`entry`, kind `adjust`) once, when it is `posted`."""

    class Reason(models.TextChoices):
        GOODWILL = "goodwill"
        CORRECTION = "correction"
        MIGRATION = "migration"
        FRAUD = "fraud"
        OTHER = "other"

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval"
        POSTED = "posted"
        REJECTED = "rejected"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="adjustments")
    points = models.BigIntegerField(help_text="signed: a credit is positive, a debit negative")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    note = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices)
    requested_by = models.CharField(max_length=100, help_text="`staff:<username>` or `shop:<code>`")
    decided_by = models.CharField(max_length=100, blank=True, default="", help_text="who approved or rejected it")
    entry = models.OneToOneField(
        "loyalty.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustment"
    )
    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments")
    external_id = models.CharField(max_length=128, blank=True, default="")
    request_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        # Staff with it may approve (or reject) an adjustment waiting for approval, never their own.
        permissions = [("approve_adjustment", "Can approve another person's adjustment")]
        indexes = [models.Index(fields=["status"], condition=Q(status="pending_approval"), name="adjustment_pending")]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="adjustment_external_id_per_shop"),
            models.CheckConstraint(condition=~Q(points=0), name="adjustment_points_not_zero"),
            models.CheckConstraint(
                condition=Q(reason__in=["goodwill", "correction", "migration", "fraud", "other"]),
                name="adjustment_reason_known",
            ),
            models.CheckConstraint(
                condition=Q(status="posted", entry__isnull=False)
                | Q(status__in=["pending_approval", "rejected"], entry=None),
                name="adjustment_entry_when_posted",
            ),
            models.CheckConstraint(
                condition=Q(status="pending_approval", decided_at=None) | Q(status__in=["posted", "rejected"]),
                name="adjustment_pending_undecided",
            ),
        ]

    def __str__(self) -> str:
        return f"adjustment {self.public_id}: {self.points:+d} ({self.get_status_display().lower()})"
