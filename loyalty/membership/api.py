"""Members: enroll, look up, show, and their ledger history (docs/API.md, Members)."""

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api.base import ShopApi, filtered
from loyalty.api.fields import AwareDateTimeFilter, JsonInput
from loyalty.api.idempotency import idempotent
from loyalty.api.schema import errors, page_of
from loyalty.ledger.api import BalanceOut
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.selectors import account_of, balance_of, next_expiry_of
from loyalty.membership.services import member_enroll_with_account
from loyalty.program.selectors import program_get
from loyalty.subscriptions.benefits import plan_benefits_of
from loyalty.subscriptions.models import LIVE_STATUSES, Subscription
from loyalty.tiers.api import TierOut, tier_out
from members.models import Member
from members.selectors import member_get, member_lookup
from members.services import EMAIL_MAX, PHONE_INPUT_PATTERN


class NextExpiryOut(serializers.Serializer):
    points = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class SubscriptionSummaryOut(serializers.Serializer):
    id = serializers.CharField()
    plan = serializers.CharField()
    status = serializers.CharField()
    current_period_end = serializers.DateTimeField()


class MemberOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    card_number = serializers.CharField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    phone = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    locale = serializers.CharField()
    status = serializers.ChoiceField(choices=Member.Status.values)
    enrolled_at = serializers.DateTimeField()
    referral_code = serializers.CharField()
    tier = TierOut(
        allow_null=True,
        help_text="the highest tier the member qualifies for, the base tier from enrollment on; null only when "
        "no tier has threshold 0 and none is reached",
    )
    balance = BalanceOut()
    next_expiry = NextExpiryOut(allow_null=True)
    subscription = SubscriptionSummaryOut(allow_null=True, help_text="the live subscription, if any")
    perks = serializers.ListField(child=serializers.CharField(), help_text="the paid plan's perks while they hold")


def subscription_summary(member: Member) -> dict | None:
    live = Subscription.objects.filter(member=member, status__in=LIVE_STATUSES).select_related("plan").first()
    if live is None:
        return None
    return {"id": live.public_id, "plan": live.plan.code, "status": live.status,
            "current_period_end": live.current_period_end}  # fmt: skip


def member_out(member: Member) -> dict:
    account = account_of(member)
    expiry = next_expiry_of(account, program=program_get())
    plan = plan_benefits_of(account, now=timezone.now())
    return MemberOut(
        {
            **{
                field: getattr(member, field)
                for field in (
                    "public_id",
                    "card_number",
                    "email",
                    "first_name",
                    "last_name",
                    "phone",
                    "birth_date",
                    "locale",
                    "status",
                    "enrolled_at",
                    "referral_code",
                )
            },  # fmt: skip
            "tier": tier_out(account),
            "balance": balance_of(account).as_dict(),
            "next_expiry": {"points": expiry.points, "expires_at": expiry.expires_at} if expiry else None,
            "subscription": subscription_summary(member),
            "perks": list(plan.perks) if plan else [],
        }
    ).data


@extend_schema_field({"type": "string", "format": "email", "maxLength": EMAIL_MAX})
class EmailIn(serializers.CharField):
    """Checked by the enrollment service (400 `invalid_email`); the schema says what it takes."""


@extend_schema_field({"type": "string", "maxLength": 32, "pattern": PHONE_INPUT_PATTERN})
class PhoneIn(serializers.CharField):
    """6 to 15 digits, maybe after a +, with spaces, dashes, dots or brackets between them (400 `invalid_phone`)."""


LOCALE_PATTERN = "^(?:{})(?:[-_][A-Za-z0-9]{{1,8}})?$".format(
    "|".join("".join(f"[{c.lower()}{c.upper()}]" for c in code) for code in Member.Locale.values)
)


@extend_schema_field({"type": "string", "maxLength": 10, "pattern": LOCALE_PATTERN, "default": "en"})
class LocaleIn(serializers.CharField):
    """A language the program speaks, optionally with a region (`de-AT`); 400 `invalid_locale` otherwise."""


class MemberEnrollIn(JsonInput):
    email = EmailIn(max_length=EMAIL_MAX)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = PhoneIn(max_length=32, required=False, allow_blank=True, default="", trim_whitespace=False)
    birth_date = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="1900-01-01 to today (400 `invalid_birth_date`)"
    )
    locale = LocaleIn(max_length=10, required=False, default="en", trim_whitespace=False)
    card_number = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)
    referral_code = serializers.CharField(
        max_length=32,
        required=False,
        allow_null=True,
        default=None,
        help_text="the referring member's code",
    )
    marketing_consent = serializers.BooleanField(required=False, default=False)


class MemberEnrollApi(ShopApi):
    required_scope = "members:write"

    @extend_schema(
        operation_id="members_enroll", request=MemberEnrollIn,
        responses={201: MemberOut, **errors(400, 401, 403, 409, 429)},
        summary="Enroll a member",
        description="Email is case-insensitive and unique (409 `member_exists`). A card number with a Luhn "
        "check digit is generated when none is given; a given one is checked. `referral_code` is the code "
        "of the member who referred this one.",
    )  # fmt: skip
    @idempotent
    def post(self, request):
        member = member_enroll_with_account(**self.validated(MemberEnrollIn, request))
        return Response(member_out(member), status=201)


IDENTIFIER = {"type": "string", "minLength": 1}


LOOKUP_MAX_LENGTHS = {"card_number": 64, "email": 320, "phone": 64}


class MemberLookupIn(JsonInput):
    card_number = serializers.CharField(max_length=LOOKUP_MAX_LENGTHS["card_number"], required=False)
    email = serializers.CharField(max_length=LOOKUP_MAX_LENGTHS["email"], required=False)
    phone = serializers.CharField(max_length=LOOKUP_MAX_LENGTHS["phone"], required=False)


LOOKUP_IDENTIFIERS = {
    name: {"type": "string", "minLength": 1, "maxLength": LOOKUP_MAX_LENGTHS[name], "description": description}
    for name, description in [
        ("card_number", "spaces and dashes ignored"),
        ("email", "case-insensitive"),
        ("phone", "only digits and + count"),
    ]
}
LOOKUP_BODY = {
    "type": "object",
    "properties": LOOKUP_IDENTIFIERS,
    # exactly one identifier: with two, two of these match and oneOf fails
    "oneOf": [{"required": [name]} for name in LOOKUP_IDENTIFIERS],
    "example": {"email": "grace@example.com"},
}


class MemberLookupApi(ShopApi):
    required_scope = "members:read"

    @extend_schema(
        operation_id="members_lookup",
        parameters=[
            OpenApiParameter("card_number", IDENTIFIER, description="exactly one of card_number, email, phone"),
            OpenApiParameter("email", IDENTIFIER),
            OpenApiParameter("phone", IDENTIFIER),
        ],
        responses={200: MemberOut, **errors(400, 401, 403, 404, 429)},
        summary="Find a member by card number, email or phone (in the URL: less private)",
        description="Kept for compatibility. The identifier travels in the URL, so proxies and servers write it "
        "to their access logs: prefer `POST /api/v1/members/lookup`, which takes it in the body. Exactly one "
        "of card_number, email, phone (400 `invalid_lookup`); nobody has it: 404 `member_not_found`.",
    )
    def get(self, request):
        params = {name: request.query_params.get(name) for name in ("card_number", "email", "phone")}
        return Response(member_out(member_lookup(**params)))

    @extend_schema(
        operation_id="members_lookup_private",
        request={"application/json": LOOKUP_BODY},
        responses={200: MemberOut, **errors(400, 401, 403, 404, 429)},
        summary="Find a member by card number, email or phone (in the body: private)",
        description="The private way to look a member up: the identifier travels in the body, so nothing "
        "personal appears in URLs or access logs. Exactly one of card_number, email, phone (400 "
        "`invalid_lookup`); nobody has it: 404 `member_not_found`. A read: it writes nothing, needs only "
        "`members:read`, and an `Idempotency-Key` is accepted and ignored.",
    )
    def post(self, request):
        data = self.validated(MemberLookupIn, request)
        return Response(member_out(member_lookup(**data)))


class MemberDetailApi(ShopApi):
    required_scope = "members:read"

    @extend_schema(operation_id="members_retrieve", responses={200: MemberOut, **errors(401, 403, 404, 429)})
    def get(self, request, member_id: str):
        return Response(member_out(member_get(public_id=member_id)))


class EntryOut(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    transaction = serializers.SerializerMethodField(help_text="the calling shop's transaction, else null")

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "points", "pending_points", "held_points", "balance_after", "created_at",
                  "description", "transaction"]  # fmt: skip

    def get_transaction(self, entry: LedgerEntry) -> str | None:
        if entry.transaction_id is None or entry.transaction.shop_id != self.context["shop"].pk:
            return None
        return entry.transaction.public_id


class EntryFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=LedgerEntry.Kind.choices)
    created_after = AwareDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = AwareDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = LedgerEntry
        fields = ["kind", "created_after", "created_before"]


class MemberEntriesApi(ShopApi):
    required_scope = "members:read"

    @extend_schema(
        operation_id="members_entries",
        parameters=[
            OpenApiParameter("kind", str, enum=LedgerEntry.Kind.values),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME),
            OpenApiParameter("limit", int, description="1 to 200, default 50"),
            OpenApiParameter("cursor", str),
        ],
        responses={200: page_of(EntryOut), **errors(400, 401, 403, 404, 429)},
        summary="A member's ledger entries, newest first",
    )
    def get(self, request, member_id: str):
        member = member_get(public_id=member_id)
        entries = LedgerEntry.objects.filter(account__member=member).select_related("transaction")
        entries = filtered(EntryFilter, request, entries)
        return self.paginate(entries, request, EntryOut, shop=request.shop)
