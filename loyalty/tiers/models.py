from decimal import Decimal

from django.db import models
from django.db.models import Q


class Tier(models.Model):
    """A status level. A member holds the highest tier whose `threshold` their qualifying points reach:
    base points of purchases in the last `tier_window_days`, net of refunds."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="higher is better")
    threshold = models.BigIntegerField(help_text="qualifying points needed")
    multiplier = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal(1))
    benefits = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="tier_threshold_not_negative"),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="tier_multiplier_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class TierChange(models.Model):
    """A member's move between tiers, and why."""

    class Reason(models.TextChoices):
        UPGRADE = "upgrade", "qualified for a higher tier"
        DOWNGRADE = "downgrade", "no longer qualified once the tier's validity ended"

    account = models.ForeignKey("loyalty.Account", on_delete=models.PROTECT, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    qualifying_points = models.BigIntegerField()
    valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "-id"], name="tier_change_account_newest")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_tier_id} → {self.to_tier_id} ({self.reason})"
