from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from loyalty.shops.models import Shop
from members.models import Member

MONEY = {"max_digits": 14, "decimal_places": 4}  # amounts are checked against the currency's minor units


class Campaign(models.Model):
    """A promotion the earning pipeline applies: a points multiplier on matching lines, or a fixed bonus
    once per matching transaction. Empty filters match everything."""

    class Kind(models.TextChoices):
        MULTIPLIER = "multiplier"
        FIXED_BONUS = "fixed_bonus"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    multiplier = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    points = models.PositiveIntegerField(null=True, blank=True, help_text="fixed bonus points")
    min_total = models.DecimalField(**MONEY, null=True, blank=True, help_text="fixed bonus only above this total")
    categories = models.JSONField(default=list, blank=True)
    skus = models.JSONField(default=list, blank=True)
    tiers = models.JSONField(default=list, blank=True, help_text="tier codes")
    shops = models.JSONField(default=list, blank=True, help_text="shop codes")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="multiplier", multiplier__gt=0, points=None)
                    | Q(kind="fixed_bonus", points__gt=0, multiplier=None)
                ),
                name="campaign_kind_complete",
            ),
            models.CheckConstraint(
                condition=Q(starts_at=None) | Q(ends_at=None) | Q(ends_at__gt=F("starts_at")),
                name="campaign_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Transaction(models.Model):
    """A purchase reported by a shop's checkout, and the points it earned."""

    class PointsStatus(models.TextChoices):
        AVAILABLE = "available"
        PENDING = "pending"
        EXPIRED = "expired", "expired on arrival: reported after the points' expiry"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="transactions")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="transactions")
    external_id = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical request")
    occurred_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    total = models.DecimalField(**MONEY)
    eligible_amount = models.DecimalField(**MONEY)
    lines = models.JSONField(default=list, blank=True)
    base_points = models.BigIntegerField()
    qualifying_points = models.BigIntegerField(help_text="base points still counting towards tiers")
    points = models.BigIntegerField()
    breakdown = models.JSONField(default=list)
    points_status = models.CharField(max_length=10, choices=PointsStatus.choices)
    available_at = models.DateTimeField()
    refunded_amount = models.DecimalField(**MONEY, default=Decimal(0))
    points_clawed_back = models.BigIntegerField(default=0)
    points_forgiven = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["shop", "-id"], name="transaction_shop_newest"),
            # Covers the qualifying-points sums of tiers (on PostgreSQL an index-only scan per member).
            models.Index(
                fields=["member", "occurred_at"], include=["qualifying_points"], name="transaction_member_qualifying"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="transaction_external_id_per_shop"),
            models.CheckConstraint(condition=Q(total__gte=0), name="transaction_total_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("total")),
                name="transaction_refunds_within_total",
            ),
            models.CheckConstraint(
                condition=Q(points__gte=0, points_clawed_back__gte=0, points_forgiven__gte=0)
                & Q(points__gte=F("points_clawed_back") + F("points_forgiven")),
                name="transaction_claw_back_within_points",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id}:{self.external_id}"


class Refund(models.Model):
    """Money returned on a transaction, and the points that came back out of the member's balance."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="refunds")
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="refunds")
    external_id = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY)
    points_clawed_back = models.BigIntegerField(default=0)
    points_forgiven = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="refund_external_id_per_shop"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.external_id} of {self.transaction_id}"
