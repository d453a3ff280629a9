from django.db import models
from django.db.models import F, Q

from members.models import Member


class Account(models.Model):
    """One per member: the cached balances. Every ledger write locks this row first."""

    member = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="account")
    available = models.BigIntegerField(default=0)
    pending = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    tier = models.ForeignKey("loyalty.Tier", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    tier_valid_until = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    # Kept by the subscription services under this row's lock, so checkout reads the plan multiplier from
    # the row it locks anyway: the plan's benefits hold while `plan_benefits_until` is in the future.
    plan = models.ForeignKey("loyalty.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    plan_benefits_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tier_valid_until"], name="account_tier_valid_until"),
            models.Index(fields=["last_purchase_at"], name="account_last_purchase"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(pending__gte=0), name="account_pending_not_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="account_held_not_negative"),
        ]

    def __str__(self) -> str:
        return f"account of member {self.member_id}"


class LedgerEntry(models.Model):
    """An append-only movement of points. On PostgreSQL a trigger refuses UPDATE and DELETE."""

    class Kind(models.TextChoices):
        EARN = "earn"
        BONUS = "bonus"
        ADJUST = "adjust"
        REDEEM = "redeem"
        REVERSAL = "reversal"
        HOLD = "hold"
        CAPTURE = "capture"
        RELEASE = "release"
        EXPIRE = "expire"
        CLAWBACK = "clawback"
        ACTIVATE = "activate"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    points = models.BigIntegerField(help_text="effect on available")
    pending_points = models.BigIntegerField(default=0, help_text="effect on pending")
    held_points = models.BigIntegerField(default=0, help_text="effect on held")
    balance_after = models.BigIntegerField(help_text="available after this entry")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal")
    shop = models.ForeignKey("loyalty.Shop", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    transaction = models.ForeignKey(
        "loyalty.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    reference = models.CharField(max_length=64, blank=True, default="", help_text="what caused it")
    actor = models.CharField(max_length=100, blank=True, default="", help_text="who did it")
    description = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["account", "-id"], name="entry_account_newest"),
            # A member's entries of one kind, newest first (the portal's history filtered by kind): without it
            # PostgreSQL reads all of the member's entries to keep the few of that kind.
            models.Index(fields=["account", "kind", "-id"], name="entry_account_kind_newest"),
            models.Index(fields=["created_at"], name="entry_created_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0, pending_points=0, held_points=0), name="entry_moves_points"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"


class PointLot(models.Model):
    """The points of one credit. Debits draw from lots soonest-expiring first; `remaining` is what is
    left. A pending lot counts towards `pending` until `available_at`."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot")
    amount = models.BigIntegerField()
    remaining = models.BigIntegerField()
    pending = models.BooleanField(default=False)
    available_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="empty: never expires")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The order debits draw in (PostgreSQL sorts NULL, "never expires", last in an ascending
            # index), restricted to lots that still hold points.
            models.Index(
                fields=["account", "expires_at", "id"],
                condition=Q(remaining__gt=0, pending=False),
                name="lot_draw_order",
            ),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="lot_expiring"),
            models.Index(fields=["available_at"], condition=Q(pending=True), name="lot_pending"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="lot_amount_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0, remaining__lte=F("amount")), name="lot_remaining_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.remaining}/{self.amount}"


class LotAllocation(models.Model):
    """How much an entry took from (positive) or gave back to (negative) a lot. Append-only."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="allocations")
    lot = models.ForeignKey(PointLot, on_delete=models.PROTECT, related_name="allocations")
    points = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["lot"], name="allocation_lot")]
        constraints = [models.CheckConstraint(condition=~Q(points=0), name="allocation_not_zero")]

    def __str__(self) -> str:
        return f"entry {self.entry_id} lot {self.lot_id}: {self.points:+d}"
