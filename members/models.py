from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Member(models.Model):
    """A customer of the program: identity, card, contact, locale, consent and status."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        CLOSED = "closed", _("closed")

    class Locale(models.TextChoices):
        EN = "en", "English"
        DE = "de", "Deutsch"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    card_number = models.CharField(max_length=19, unique=True)
    # Stored normalised (trimmed, lower-case); uniqueness is also enforced on lower(email) below so a
    # row written around the service still cannot duplicate an address.
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    phone = models.CharField(max_length=16, blank=True, default="")
    birth_date = models.DateField(null=True, blank=True)
    locale = models.CharField(max_length=5, choices=Locale.choices, default=Locale.EN)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    referral_code = models.CharField(max_length=12, unique=True, editable=False)
    referred_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals")
    marketing_consent = models.BooleanField(default=False)
    # When consent was last given and last withdrawn (members.services.consent_apply keeps them): with
    # the flag they answer "since when, and was it ever withdrawn". Empty: never given / never withdrawn.
    marketing_consent_given_at = models.DateTimeField(null=True, blank=True)
    marketing_consent_withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Erasure (GDPR Art. 17, privacy.services.member_erase): the card number is replaced, only its SHA-256
    # is kept, so staff can still answer "was this card erased?" without holding the number.
    card_number_sha256 = models.CharField(max_length=64, blank=True, default="", editable=False)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    erased_by = models.CharField(
        max_length=160, blank=True, default="", editable=False, help_text="`staff:<username>`, `shop:<code>`"
    )
    enrolled_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        # Erasure cannot be undone: it is its own permission, not a kind of change.
        permissions = [("erase_member", "Can erase a member's personal data (GDPR)")]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="member_email_ci_unique"),
            models.UniqueConstraint(fields=["phone"], condition=~models.Q(phone=""), name="member_phone_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended", "closed"]), name="member_status_valid"
            ),
            models.CheckConstraint(condition=~models.Q(card_number=""), name="member_card_number_present"),
            models.CheckConstraint(
                condition=models.Q(erased_at=None) | models.Q(status="closed"), name="member_erased_is_closed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_number} {self.email}"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class SignInLink(models.Model):
    """A one-time sign-in link mailed to a member (the portal's passwordless sign-in). Only the SHA-256 of its
    token is stored; it works once (`used_at`), until `expires_at`."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="signin_link_expiry")]

    def __str__(self) -> str:
        return f"sign-in link for member {self.member_id}"


class RedeemRequest(models.Model):
    """A redeem form the portal sent, by its one-time token: the row is inserted in the redemption's own
    transaction, so the database lets one submit of the form redeem and a second (a double tap, a resent
    form, a concurrent request) find the redemption the first made (`redemption`, its public id: members
    sit below rewards and name it without a foreign key)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64)
    redemption = models.CharField(max_length=32, blank=True, default="", help_text="the redemption's public id")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "token"], name="redeem_request_once")]

    def __str__(self) -> str:
        return f"redeem request of member {self.member_id}"


class SignInRequest(models.Model):
    """Someone asked for a sign-in link for `email`. The login page writes only this row, the same for every
    address, and answers; the address is looked up and the link mailed afterwards (`signin_requests_process`),
    so how long the answer takes tells nothing about whether the address is a member's. Deleted once handled."""

    email = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"sign-in request {self.pk}"
