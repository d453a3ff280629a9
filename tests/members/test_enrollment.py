"""Enrollment (members.services.member_enroll) and status changes (member_set_status)."""

import datetime as dt
import string

import pytest
from django.db import IntegrityError, transaction

from members.cards import luhn_check_digit, luhn_valid
from members.errors import Conflict, InvalidRequest, MemberExists
from members.models import Member
from members.services import REFERRAL_ALPHABET, REFERRAL_LENGTH, member_enroll, member_set_status
from tests.factories import MemberFactory


def members_table() -> list[tuple]:
    """Every member row, to compare before and after a refused call."""
    return list(
        Member.objects.order_by("pk").values_list(
            "pk", "public_id", "email", "card_number", "phone", "status", "referral_code", "referred_by"
        )
    )


def with_check_digit(payload: str) -> str:
    return payload + luhn_check_digit(payload)


# --- what a successful enrollment stores -----------------------------------------------------------


def test_enroll_stores_the_normalised_member(db, now):
    member = member_enroll(
        email="  Ada.Lovelace@Example.COM ",
        first_name="  Ada ",
        last_name="Lovelace",
        phone="+49 (170) 123-4567",
        birth_date=dt.date(1990, 12, 10),
        locale="de-DE",
        marketing_consent=True,
        now=now,
    )

    stored = Member.objects.get(pk=member.pk)
    assert stored.email == "ada.lovelace@example.com"
    assert stored.first_name == "Ada"
    assert stored.last_name == "Lovelace"
    assert stored.phone == "+491701234567"
    assert stored.birth_date == dt.date(1990, 12, 10)
    assert stored.locale == "de"
    assert stored.marketing_consent is True
    assert stored.status == Member.Status.ACTIVE
    assert stored.enrolled_at == now
    assert stored.referred_by is None


def test_enroll_generates_public_id_card_number_and_referral_code(db, now):
    member = member_enroll(email="ada@example.com", now=now)

    stored = Member.objects.get(pk=member.pk)
    assert stored.public_id.startswith("mem_") and len(stored.public_id) == len("mem_") + 20
    assert len(stored.card_number) == 16 and stored.card_number.isdigit()
    assert stored.card_number.startswith("9") and luhn_valid(stored.card_number)
    assert len(stored.referral_code) == REFERRAL_LENGTH
    assert set(stored.referral_code) <= set(REFERRAL_ALPHABET)


def test_two_enrollments_get_different_ids_cards_and_referral_codes(db, now):
    first = member_enroll(email="ada@example.com", now=now)
    second = member_enroll(email="grace@example.com", now=now)

    assert first.public_id != second.public_id
    assert first.card_number != second.card_number
    assert first.referral_code != second.referral_code


@pytest.mark.parametrize(
    ("given", "stored"),
    [("de-DE", "de"), ("de_AT", "de"), ("DE", "de"), ("en-GB", "en"), ("", "en")],
)
def test_locale_is_reduced_to_the_language(db, now, given, stored):
    member = member_enroll(email="ada@example.com", locale=given, now=now)

    assert Member.objects.get(pk=member.pk).locale == stored


@pytest.mark.parametrize("given", ["de_9u3n*", "de-", "de-AT-x", "de-toolongtag", "fr", "dé", "de\n"])
def test_locale_outside_the_published_pattern_is_refused(db, now, given):
    with pytest.raises(InvalidRequest) as refused:
        member_enroll(email="ada@example.com", locale=given, now=now)

    assert refused.value.code == "invalid_locale"
    assert not Member.objects.exists()


def test_supplied_card_number_is_stored_without_spaces_and_dashes(db, now):
    member = member_enroll(email="ada@example.com", card_number=" 7992 7398-713 ", now=now)

    assert Member.objects.get(pk=member.pk).card_number == "79927398713"


@pytest.mark.parametrize("length", [8, 19])
def test_supplied_card_number_may_have_8_to_19_digits(db, now, length):
    number = with_check_digit("1" * (length - 1))

    member = member_enroll(email="ada@example.com", card_number=number, now=now)

    assert Member.objects.get(pk=member.pk).card_number == number


def test_referral_code_links_the_referrer(db, now):
    referrer = MemberFactory()

    member = member_enroll(email="friend@example.com", referral_code=f" {referrer.referral_code.lower()} ", now=now)

    assert Member.objects.get(pk=member.pk).referred_by_id == referrer.pk
    assert list(referrer.referrals.values_list("pk", flat=True)) == [member.pk]


def test_birth_date_today_is_accepted(db, now):
    member = member_enroll(email="ada@example.com", birth_date=now.date(), now=now)

    assert Member.objects.get(pk=member.pk).birth_date == dt.date(2026, 3, 15)


# --- duplicates ------------------------------------------------------------------------------------


def test_same_email_in_other_case_is_member_exists_and_writes_nothing(db, now):
    existing = member_enroll(email="ada@example.com", first_name="Ada", now=now)
    before = members_table()

    with pytest.raises(MemberExists) as refused:
        member_enroll(email="  ADA@Example.com", first_name="Other", now=now + dt.timedelta(days=1))

    assert refused.value.code == "member_exists"
    assert refused.value.status == 409
    assert refused.value.type == "conflict"
    assert refused.value.param == "email"
    assert members_table() == before
    assert Member.objects.get(pk=existing.pk).first_name == "Ada"


def test_database_refuses_a_case_variant_email_written_around_the_service(db, now):
    existing = member_enroll(email="ada@example.com", now=now)
    before = members_table()

    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.create(
            public_id="mem_aroundtheservice0000",
            card_number=with_check_digit("912345678901234"),
            email="ADA@EXAMPLE.COM",
            referral_code="AROUND23",
        )

    assert members_table() == before
    assert Member.objects.filter(email__iexact="ada@example.com").get().pk == existing.pk


def test_taken_card_number_is_a_conflict_and_writes_nothing(db, now):
    member_enroll(email="ada@example.com", card_number="79927398713", now=now)
    before = members_table()

    with pytest.raises(Conflict) as refused:
        member_enroll(email="grace@example.com", card_number="7992-7398-713", now=now)

    assert (refused.value.code, refused.value.param, refused.value.status) == (
        "card_number_exists",
        "card_number",
        409,
    )
    assert members_table() == before


def test_taken_phone_is_a_conflict_and_writes_nothing(db, now):
    member_enroll(email="ada@example.com", phone="+491701234567", now=now)
    before = members_table()

    with pytest.raises(Conflict) as refused:
        member_enroll(email="grace@example.com", phone="+49 170 123 4567", now=now)

    assert (refused.value.code, refused.value.param, refused.value.status) == ("phone_exists", "phone", 409)
    assert members_table() == before


def test_members_without_phone_do_not_collide(db, now):
    first = member_enroll(email="ada@example.com", now=now)
    second = member_enroll(email="grace@example.com", phone="", now=now)

    assert Member.objects.filter(pk__in=[first.pk, second.pk], phone="").count() == 2


# --- invalid input ---------------------------------------------------------------------------------

FUTURE = dt.date(2026, 3, 16)  # the day after the `now` fixture


@pytest.mark.parametrize(
    ("overrides", "code", "param"),
    [
        ({"email": "not-an-email"}, "invalid_email", "email"),
        ({"email": "ada@"}, "invalid_email", "email"),
        ({"email": "   "}, "invalid_email", "email"),
        ({"email": ""}, "invalid_email", "email"),
        ({"email": None}, "invalid_email", "email"),
        ({"card_number": "79927398714"}, "invalid_card_number", "card_number"),  # check digit off by one
        ({"card_number": "7992 7398 710"}, "invalid_card_number", "card_number"),
        ({"card_number": with_check_digit("123456")}, "invalid_card_number", "card_number"),  # 7 digits
        ({"card_number": with_check_digit("1" * 19)}, "invalid_card_number", "card_number"),  # 20 digits
        ({"card_number": "7992739871x"}, "invalid_card_number", "card_number"),
        ({"card_number": "   "}, "invalid_card_number", "card_number"),
        ({"phone": "12345"}, "invalid_phone", "phone"),  # 5 digits
        ({"phone": "+0123456789"}, "invalid_phone", "phone"),  # no leading 0 after +
        ({"phone": "1" * 16}, "invalid_phone", "phone"),  # 16 digits
        ({"phone": "+49 170 CALL ME"}, "invalid_phone", "phone"),
        ({"locale": "fr"}, "invalid_locale", "locale"),
        ({"locale": "fr-DE"}, "invalid_locale", "locale"),
        ({"birth_date": FUTURE}, "invalid_birth_date", "birth_date"),
        ({"birth_date": dt.date(1899, 12, 31)}, "invalid_birth_date", "birth_date"),
        ({"referral_code": "NOPE2345"}, "invalid_referral_code", "referral_code"),
        ({"first_name": "A" * 101}, "invalid_name", "first_name"),
        ({"last_name": "L" * 101}, "invalid_name", "last_name"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_invalid_input_is_refused_with_its_code_and_writes_nothing(db, now, overrides, code, param):
    MemberFactory(email="existing@example.com")  # so "nothing written" is not trivially an empty table
    before = members_table()
    request = {"email": "ada@example.com", "now": now} | overrides

    with pytest.raises(InvalidRequest) as refused:
        member_enroll(**request)

    assert (refused.value.code, refused.value.param) == (code, param)
    assert (refused.value.type, refused.value.status) == ("invalid_request", 400)
    assert refused.value.as_dict()["error"]["code"] == code
    assert members_table() == before


def test_invalid_email_wins_over_a_taken_card_and_writes_nothing(db, now):
    member_enroll(email="ada@example.com", card_number="79927398713", now=now)
    before = members_table()

    with pytest.raises(InvalidRequest) as refused:
        member_enroll(email="nope", card_number="79927398713", now=now)

    assert refused.value.code == "invalid_email"
    assert members_table() == before


def test_email_longer_than_the_column_is_invalid_email_and_writes_nothing(db, now):
    # 64 + 1 + 3 * 64 + 3 = 260 characters: Django's validate_email accepts it (it allows up to 320),
    # but Member.email is max_length=254.
    email = "a" * 64 + "@" + ("b" * 63 + ".") * 3 + "com"
    assert len(email) == 260
    before = members_table()

    with pytest.raises(InvalidRequest) as refused:
        member_enroll(email=email, now=now)

    assert (refused.value.code, refused.value.param) == ("invalid_email", "email")
    assert members_table() == before


@pytest.mark.parametrize(
    "card_number",
    [
        # 7992739871 in Arabic-Indic / full-width digits, then the ASCII check digit 3
        "\u0667\u0669\u0669\u0662\u0667\u0663\u0669\u0668\u0667\u0661" + "3",
        "\uff17\uff19\uff19\uff12\uff17\uff13\uff19\uff18\uff17\uff11" + "3",
        "\u00b2" + "79927398713",  # a superscript two in front
    ],
    ids=["arabic-indic-digits", "fullwidth-digits", "superscript-digit"],
)
def test_card_number_with_non_ascii_digits_is_invalid_card_number(db, now, card_number):
    # str.isdigit() is true for these; a card number is ASCII 0-9 only.
    before = members_table()

    with pytest.raises(InvalidRequest) as refused:
        member_enroll(email="ada@example.com", card_number=card_number, now=now)

    assert (refused.value.code, refused.value.param) == ("invalid_card_number", "card_number")
    assert members_table() == before


# --- status ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["suspended", "closed", "active"])
def test_set_status_stores_a_known_status(db, status):
    member = MemberFactory()

    returned = member_set_status(member=member, status=status)

    assert returned.status == status
    assert Member.objects.get(pk=member.pk).status == status


@pytest.mark.parametrize("status", ["deleted", "ACTIVE", "", None])
def test_set_status_refuses_an_unknown_status_and_writes_nothing(db, status):
    member = MemberFactory()
    before = members_table()

    with pytest.raises(InvalidRequest) as refused:
        member_set_status(member=member, status=status)

    assert (refused.value.code, refused.value.param) == ("invalid_status", "status")
    assert members_table() == before
    assert member.status == "active"


def test_referral_alphabet_has_no_look_alikes():
    assert not set(REFERRAL_ALPHABET) & set("01ILO")
    assert set(REFERRAL_ALPHABET) <= set(string.ascii_uppercase + string.digits)
