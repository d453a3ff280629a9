from decimal import Decimal

from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from loyalty.ledger.models import LedgerEntry
from loyalty.shops.models import Shop
from loyalty.tiers.models import Tier
from members.models import Member


class Reward(models.Model):
    """Something points buy. `stock_remaining` empty means unlimited; it only ever changes by a
    conditional UPDATE, never by writing back a value read earlier."""

    class Kind(models.TextChoices):
        VOUCHER_AMOUNT = "voucher_amount", "voucher for an amount off"
        VOUCHER_PERCENT = "voucher_percent", "voucher for a percentage off"
        FREE_PRODUCT = "free_product", "free product"
        EXPERIENCE = "experience", "experience"
        DONATION = "donation", "donation (no voucher; the gift is recorded)"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    image_url = models.CharField(max_length=500, blank=True, default="", validators=[URLValidator()])
    category = models.CharField(max_length=64, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    points_cost = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    stock = models.PositiveIntegerField(null=True, blank=True, help_text="allotted in all; empty: unlimited")
    stock_remaining = models.PositiveIntegerField(null=True, blank=True, help_text="left to redeem")
    per_member_limit = models.PositiveIntegerField(null=True, blank=True, help_text="empty: no limit")
    min_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    subscribers_only = models.BooleanField(default=False)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    voucher_valid_days = models.PositiveIntegerField(default=30)
    active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "points_cost", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_costs_points"),
            models.CheckConstraint(
                condition=Q(stock=None, stock_remaining=None) | Q(stock__isnull=False, stock_remaining__isnull=False),
                name="reward_stock_limited_or_not",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="reward_value_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="voucher_percent") | Q(value__lte=100), name="reward_percent_at_most_100"
            ),
            models.CheckConstraint(
                condition=Q(valid_from=None) | Q(valid_until=None) | Q(valid_until__gt=F("valid_from")),
                name="reward_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Redemption(models.Model):
    """Points spent on a reward. Cancelling gives the points back to the lots they came from."""

    class Status(models.TextChoices):
        ISSUED = "issued"
        CANCELLED = "cancelled"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="redemptions")
    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="redemption")
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["member", "reward"], name="redemption_member_reward")]

    def __str__(self) -> str:
        return f"{self.reward_id} for {self.member_id} ({self.status})"


class Voucher(models.Model):
    """What a redemption hands over; any shop of the program can look it up and take it, once."""

    class Status(models.TextChoices):
        ISSUED = "issued"
        USED = "used"
        EXPIRED = "expired"
        CANCELLED = "cancelled"

    code = models.CharField(max_length=32, unique=True)
    redemption = models.OneToOneField(Redemption, on_delete=models.PROTECT, related_name="voucher")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="vouchers")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="vouchers")
    value = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    use_external_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["expires_at"], condition=Q(status="issued"), name="voucher_expiring")]
        constraints = [
            models.UniqueConstraint(
                fields=["used_by", "use_external_id"],
                condition=Q(status="used"),
                name="voucher_use_external_id_per_shop",
            ),
            models.CheckConstraint(
                condition=Q(status="used", used_at__isnull=False, used_by__isnull=False)
                | (~Q(status="used") & Q(used_at=None)),
                name="voucher_used_has_use",
            ),
        ]

    def __str__(self) -> str:
        return self.code
