from django.conf import settings
from django.db import models
from django.utils import timezone


class Shop(models.Model):
    """A shop of the program; it calls the API with its own keys and sees only its own objects."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ApiKey(models.Model):
    """A shop's API key. Only a SHA-256 of the secret is stored; `prefix` is what people see."""

    SCOPES = (
        "members:read",
        "members:write",
        "transactions:write",
        "points:redeem",
        "subscriptions:write",
        "points:adjust",
    )
    # Given only when named: a key created without scopes (and every key made before a scope existed) lacks
    # them. `points:adjust` writes points by hand, a back-office power a checkout's key should not carry.
    OPT_IN_SCOPES = ("points:adjust",)
    DEFAULT_SCOPES = tuple(sorted(set(SCOPES) - set(OPT_IN_SCOPES), key=SCOPES.index))

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.shop.code})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ShopStaff(models.Model):
    """A member of staff who works for one shop: the admin shows them that shop's rows and no other's."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_staff")
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="staff")

    class Meta:
        verbose_name_plural = "shop staff"

    def __str__(self) -> str:
        return f"{self.user} at {self.shop.code}"
