from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from loyalty.shops.models import Shop
from members.models import Member

# The statuses of a subscription that is not over: a member has at most one (the constraint below), and only
# these may be paid or canceled. Strings, because the constraint needs them before Subscription.Status exists.
LIVE_STATUSES = ("incomplete", "trialing", "active", "past_due")


class Plan(models.Model):
    """A paid membership: a price per month or year, an optional trial, and what it gives."""

    class Interval(models.TextChoices):
        MONTH = "month"
        YEAR = "year"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=5, choices=Interval.choices)
    trial_days = models.PositiveIntegerField(default=0)
    multiplier = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal(1))
    renewal_bonus = models.PositiveIntegerField(default=0, help_text="points credited for each paid period")
    perks = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["price", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="plan_price_positive"),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="plan_multiplier_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def months(self) -> int:
        return 12 if self.interval == self.Interval.YEAR else 1


class Subscription(models.Model):
    """A member's paid membership. Its status only changes along `TRANSITIONS` (services.py), each change
    recorded as a SubscriptionEvent. Periods are counted from `anchor`, so month ends never drift."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete"
        TRIALING = "trialing"
        ACTIVE = "active"
        PAST_DUE = "past_due"
        CANCELED = "canceled"
        EXPIRED = "expired"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=Status.choices)
    anchor = models.DateTimeField(null=True, blank=True, help_text="start of the first paid period")
    periods_paid = models.PositiveIntegerField(default=0)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    cancel_at_period_end = models.BooleanField(default=False)
    past_due_since = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "current_period_end"], name="subscription_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(status__in=LIVE_STATUSES), name="subscription_one_live_per_member"
            ),
            models.CheckConstraint(
                condition=Q(current_period_end__gte=F("current_period_start")), name="subscription_period_ordered"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["canceled", "expired"], ended_at__isnull=False)
                | (~Q(status__in=["canceled", "expired"]) & Q(ended_at=None)),
                name="subscription_ended_when_final",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"


class SubscriptionEvent(models.Model):
    """One move of a subscription's status, and what caused it."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=10, blank=True, default="")
    to_status = models.CharField(max_length=10)
    cause = models.CharField(max_length=64)
    # Who moved it: empty for the system (payments, the renewal job), `staff:<username>` for the back office.
    actor = models.CharField(max_length=160, blank=True, default="")
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status} ({self.cause})"


class SubscriptionPayment(models.Model):
    """A payment the shop's billing system reports. Idempotent on (shop, external_id); a succeeded one
    pays for one period, and each period's renewal bonus is credited once (unique per period)."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="payments")
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices)
    period_start = models.DateTimeField(null=True, blank=True, help_text="the period a succeeded payment paid")
    period_end = models.DateTimeField(null=True, blank=True)
    bonus_entry = models.OneToOneField(
        "loyalty.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="subscription_payment_external_id_per_shop"),
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                condition=Q(status="succeeded"),
                name="subscription_payment_once_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.status}"
