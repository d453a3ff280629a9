from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Program(models.Model):
    """The program's settings: one row (pk 1), every field of docs/API.md's `program` block."""

    class ExpiryPolicy(models.TextChoices):
        ROLLING = "rolling", _("rolling: N months after each lot was earned")
        END_OF_YEAR = "end_of_year", _("end of year: 31 December of the N-th year after earning")
        INACTIVITY = "inactivity", _("inactivity: everything, N months after the last purchase")
        NEVER = "never", _("never")

    SINGLETON_PK = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_PK, editable=False)
    name = models.CharField(max_length=100, default="Loyalty program")
    currency = models.CharField(max_length=3, default="EUR")
    points_per_currency_unit = models.DecimalField(
        max_digits=12, decimal_places=4, default=Decimal("1"), validators=[MinValueValidator(Decimal("0"))]
    )
    point_value = models.DecimalField(
        max_digits=12, decimal_places=4, default=Decimal("0.01"), validators=[MinValueValidator(Decimal("0"))]
    )
    pending_days = models.PositiveIntegerField(default=0)
    expiry_policy = models.CharField(max_length=12, choices=ExpiryPolicy.choices, default=ExpiryPolicy.NEVER)
    expiry_months = models.PositiveSmallIntegerField(null=True, blank=True)
    expiry_years = models.PositiveSmallIntegerField(null=True, blank=True)
    max_backdate_days = models.PositiveIntegerField(default=30)
    allow_negative_balance = models.BooleanField(default=False)
    tier_window_days = models.PositiveIntegerField(default=365)
    hold_ttl_minutes = models.PositiveIntegerField(default=15)
    subscription_grace_days = models.PositiveIntegerField(default=7)
    excluded_categories = models.JSONField(default=list, blank=True)
    adjustment_approval_points = models.PositiveIntegerField(
        null=True, blank=True, default=5000,
        help_text="a manual adjustment of more points than this waits for a second person's approval; empty: never",
    )  # fmt: skip
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "program settings"
        verbose_name_plural = "program settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="program_is_singleton"),
            models.CheckConstraint(
                condition=models.Q(points_per_currency_unit__gte=0, point_value__gte=0),
                name="program_rates_not_negative",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(expiry_policy__in=["rolling", "inactivity"], expiry_months__gte=1, expiry_years=None)
                    | models.Q(expiry_policy="end_of_year", expiry_years__isnull=False, expiry_months=None)
                    | models.Q(expiry_policy="never", expiry_months=None, expiry_years=None)
                ),
                name="program_expiry_policy_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.name
