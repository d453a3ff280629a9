"""Writes to members. Each service is one transaction and raises a DomainError, writing nothing, on bad
input."""

import datetime as dt
import re
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from members.cards import card_number_generate, card_number_normalise, is_ascii_digits, luhn_valid
from members.errors import (
    CardNumberExists,
    InvalidBirthDate,
    InvalidCardNumber,
    InvalidEmail,
    InvalidLocale,
    InvalidName,
    InvalidPhone,
    InvalidReferralCode,
    InvalidStatus,
    MemberExists,
    PhoneExists,
)
from members.models import Member
from members.public_ids import public_id_new

REFERRAL_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L look-alikes
REFERRAL_LENGTH = 8
PHONE_RE = re.compile(r"^\+?[1-9][0-9]{5,14}$")
# What a client may send: those digits with spaces, dashes, dots and brackets between them. The API schema
# publishes this pattern, so it is exactly what is taken.
PHONE_INPUT_PATTERN = r"^[ ().-]*(?:\+[ ().-]*)?[1-9](?:[ ().-]*[0-9]){5,14}[ ().-]*$"
NAME_MAX = 100
EMAIL_MAX = 254  # RFC 5321's limit on a forward path, and the column's length
GENERATE_ATTEMPTS = 5


def email_normalise(raw: object) -> str:
    """Trimmed and lower-cased, or InvalidEmail."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidEmail(param="email")
    email = raw.strip().lower()
    if len(email) > EMAIL_MAX:
        raise InvalidEmail(f"An email address has at most {EMAIL_MAX} characters.", param="email")
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidEmail(f"{raw!r} is not a valid email address.", param="email") from None
    return email


def phone_normalise(raw: str) -> str:
    """Digits with an optional leading +, as E.164 allows; '' when none is given."""
    if not raw:
        return ""
    phone = re.sub(r"[ ().-]", "", raw)
    if not re.fullmatch(PHONE_INPUT_PATTERN, raw) or not PHONE_RE.match(phone):
        raise InvalidPhone(param="phone")
    return phone


def card_number_validate(raw: str) -> str:
    number = card_number_normalise(raw)
    if not (is_ascii_digits(number) and 8 <= len(number) <= 19):
        raise InvalidCardNumber(param="card_number")
    if not luhn_valid(number):
        raise InvalidCardNumber("The card number's check digit is wrong.", param="card_number")
    return number


LOCALE_TAG_RE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})?$")


def locale_normalise(raw: str) -> str:
    """A language the program speaks, maybe with one region or script subtag (`de-AT`), reduced to the language."""
    match = LOCALE_TAG_RE.fullmatch(raw or "en")
    locale = match.group(1).lower() if match else ""
    if locale not in Member.Locale.values:
        raise InvalidLocale(f"Locale must be one of {', '.join(Member.Locale.values)}.", param="locale")
    return locale


def _name(raw: str, param: str) -> str:
    name = (raw or "").strip()
    if len(name) > NAME_MAX:
        raise InvalidName(f"{param} is longer than {NAME_MAX} characters.", param=param)
    return name


def _birth_date(value: dt.date | None, today: dt.date) -> dt.date | None:
    if value is not None and not (dt.date(1900, 1, 1) <= value <= today):
        raise InvalidBirthDate(param="birth_date")
    return value


def referral_code_generate() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_LENGTH))


def member_enroll(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    birth_date: dt.date | None = None,
    locale: str = "en",
    card_number: str | None = None,
    referral_code: str | None = None,
    marketing_consent: bool = False,
    now: dt.datetime | None = None,
) -> Member:
    """Enroll a member. `referral_code` is the code of the member who referred them.

    Raises InvalidEmail, InvalidName, InvalidCardNumber, InvalidPhone, InvalidLocale, InvalidBirthDate,
    InvalidReferralCode, MemberExists for a taken email, CardNumberExists or PhoneExists for a taken card
    or phone. Writes nothing when it raises.
    """
    now = now or timezone.now()
    fields = {
        "email": email_normalise(email),
        "first_name": _name(first_name, "first_name"),
        "last_name": _name(last_name, "last_name"),
        "phone": phone_normalise(phone),
        "birth_date": _birth_date(birth_date, timezone.localdate(now)),
        "locale": locale_normalise(locale),
        "enrolled_at": now,
    }
    supplied_card = card_number_validate(card_number) if card_number else None
    if referral_code:
        # A closed (or erased) member refers no one: their code is refused like one that never existed.
        referrer = (
            Member.objects.filter(referral_code=referral_code.strip().upper())
            .exclude(status=Member.Status.CLOSED)
            .first()
        )
        if referrer is None:
            raise InvalidReferralCode(param="referral_code")
        fields["referred_by"] = referrer

    for _attempt in range(GENERATE_ATTEMPTS):
        member = Member(
            public_id=public_id_new("mem"),
            card_number=supplied_card or card_number_generate(),
            referral_code=referral_code_generate(),
            **fields,
        )
        consent_apply(member, consent=bool(marketing_consent), now=now)
        try:
            with transaction.atomic():
                member.save(force_insert=True)
            return member
        except IntegrityError as exc:
            _raise_if_taken(member, exc, card_supplied=supplied_card is not None)
            # Otherwise a generated card number or referral code collided: draw again.
    raise RuntimeError("could not generate a unique card number and referral code")  # pragma: no cover


def _raise_if_taken(member: Member, exc: IntegrityError, *, card_supplied: bool) -> None:
    """Turn a unique-constraint violation on a value the caller chose into its API error."""
    others = Member.objects.exclude(pk=member.pk) if member.pk else Member.objects.all()
    if others.filter(email__iexact=member.email).exists():
        raise MemberExists(param="email") from exc
    if member.phone and others.filter(phone=member.phone).exists():
        raise PhoneExists(param="phone") from exc
    if card_supplied and others.filter(card_number=member.card_number).exists():
        raise CardNumberExists(param="card_number") from exc


def consent_apply(member: Member, *, consent: bool, now: dt.datetime) -> list[str]:
    """Set the marketing consent in memory, dating a change (given or withdrawn); the fields that changed.

    The one place a consent date is decided: `member_enroll` applies it to a new member, `member_update`
    to a stored one."""
    if member.marketing_consent == consent:
        return []
    member.marketing_consent = consent
    if consent:
        member.marketing_consent_given_at = now
        return ["marketing_consent", "marketing_consent_given_at"]
    member.marketing_consent_withdrawn_at = now
    return ["marketing_consent", "marketing_consent_withdrawn_at"]


PROFILE_FIELDS = ("email", "first_name", "last_name", "phone", "birth_date", "locale")


def member_update(*, member: Member, now: dt.datetime, **changes) -> Member:
    """Change a member's profile: any of PROFILE_FIELDS, normalised as at enrollment, and `marketing_consent`
    (dated by consent_apply). One transaction on the locked row; only what changed is written.

    Raises what member_enroll raises for the same values (MemberExists, PhoneExists, Invalid...), and
    InvalidStatus for an erased member, whose data stays erased. Writes nothing when it raises."""
    unknown = set(changes) - {*PROFILE_FIELDS, "marketing_consent"}
    if unknown:
        raise TypeError(f"member_update() got unexpected fields {sorted(unknown)}")
    normalise = {
        "email": email_normalise,
        "first_name": lambda value: _name(value, "first_name"),
        "last_name": lambda value: _name(value, "last_name"),
        "phone": phone_normalise,
        "birth_date": lambda value: _birth_date(value, timezone.localdate(now)),
        "locale": locale_normalise,
    }
    values = {name: normalise[name](value) for name, value in changes.items() if name in normalise}
    try:
        with transaction.atomic():
            locked = Member.objects.select_for_update().get(pk=member.pk)
            if locked.erased_at is not None:
                raise InvalidStatus("An erased member's data stays erased.", param="status")
            changed = [name for name, value in values.items() if getattr(locked, name) != value]
            for name in changed:
                setattr(locked, name, values[name])
            if "marketing_consent" in changes:
                changed += consent_apply(locked, consent=bool(changes["marketing_consent"]), now=now)
            if changed:
                locked.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        _raise_if_taken(locked, exc, card_supplied=False)
        raise
    for name in Member._meta.concrete_fields:
        setattr(member, name.attname, getattr(locked, name.attname))
    return member


@transaction.atomic
def member_set_status(*, member: Member, status: str) -> Member:
    """Suspend, close or reactivate a member. Raises InvalidStatus."""
    if status not in Member.Status.values:
        raise InvalidStatus(f"Status must be one of {', '.join(Member.Status.values)}.", param="status")
    if status != Member.Status.CLOSED and Member.objects.filter(pk=member.pk, erased_at__isnull=False).exists():
        raise InvalidStatus("An erased member stays closed.", param="status")
    Member.objects.filter(pk=member.pk).update(status=status, updated_at=timezone.now())
    member.status = status
    return member
