from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from loyalty.shops.models import Shop
from members.models import Member


class Hold(models.Model):
    """Points set aside as payment: `held` until captured (spent), voided or expired (given back)."""

    class Status(models.TextChoices):
        HELD = "held"
        CAPTURED = "captured"
        VOIDED = "voided"
        EXPIRED = "expired"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="holds")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="holds")
    external_id = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    points = models.BigIntegerField()
    captured_points = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    entry = models.OneToOneField("loyalty.LedgerEntry", on_delete=models.PROTECT, related_name="hold")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["expires_at"], condition=Q(status="held"), name="hold_expiring")]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="hold_external_id_per_shop"),
            models.CheckConstraint(condition=Q(points__gt=0), name="hold_points_positive"),
            models.CheckConstraint(
                condition=Q(captured_points__gte=0, captured_points__lte=F("points")),
                name="hold_capture_within_points",
            ),
            models.CheckConstraint(
                condition=Q(status="held", resolved_at=None) | (~Q(status="held") & Q(resolved_at__isnull=False)),
                name="hold_resolved_when_final",
            ),
        ]

    def __str__(self) -> str:
        return f"hold {self.external_id}: {self.points} {self.status}"
