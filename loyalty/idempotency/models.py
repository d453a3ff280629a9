from django.db import models
from django.utils import timezone

from loyalty.shops.models import ApiKey


class IdempotentRequest(models.Model):
    """The first response to a POST carrying an `Idempotency-Key`, replayed for retries (Stripe's rules).

    The row is inserted in the same transaction as the request's effect, so a concurrent duplicate waits
    on the unique index and then replays the committed response instead of running twice."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, help_text="empty while the request runs")
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="idempotent_request_age")]
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_per_api_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"
