"""Earning at checkout: transactions, previews and refunds (docs/API.md, Transactions)."""

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api.base import ShopApi, filtered, shop_object
from loyalty.api.fields import (
    AwareDateTimeField,
    CurrencyField,
    JsonInput,
    MoneyField,
    PositiveMoneyField,
    money_out,
    money_places_check,
)
from loyalty.api.idempotency import idempotent
from loyalty.api.schema import errors, page_of
from loyalty.earning.errors import TransactionNotFound
from loyalty.earning.models import Refund, Transaction
from loyalty.earning.rules import Line
from loyalty.earning.services import MemberRef, refund_create, transaction_create, transaction_preview
from loyalty.idempotency.services import request_hash
from loyalty.ledger.api import BalanceOut
from loyalty.ledger.models import Account
from loyalty.ledger.selectors import account_of, balance_of
from loyalty.tiers.api import TierOut, tier_out
from members.cards import card_number_normalise
from members.models import Member
from members.selectors import member_get, member_lookup

LINES_MAX = 500


class LineIn(JsonInput):
    sku = serializers.CharField(max_length=64)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = MoneyField()


class PurchaseIn(JsonInput):
    member = serializers.CharField(max_length=32, required=False, help_text="member id; or give card_number")
    card_number = serializers.CharField(max_length=32, required=False)
    currency = CurrencyField()
    total = MoneyField()
    occurred_at = AwareDateTimeField(
        required=False,
        help_text="with its UTC offset (one without is 400 `invalid_field`); default now; never in the future",
    )
    lines = LineIn(many=True, required=False, max_length=LINES_MAX)

    def validate(self, attrs: dict) -> dict:
        amounts = {"total": attrs["total"]}
        for index, line in enumerate(attrs.get("lines") or ()):
            amounts[f"lines[{index}].unit_price"] = line["unit_price"]
        money_places_check(amounts, attrs["currency"])
        return attrs


class TransactionIn(PurchaseIn):
    external_id = serializers.CharField(max_length=128, help_text="unique per shop; retries are idempotent on it")

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("member")) == bool(attrs.get("card_number")):
            raise serializers.ValidationError(
                {"member": [serializers.ErrorDetail("Give exactly one of member or card_number.", code="required")]}
            )
        return super().validate(attrs)


def lines_of(data: dict) -> list[Line] | None:
    if not data.get("lines"):
        return None
    return [Line(sku=x["sku"], category=x["category"], quantity=x["quantity"], unit_price=x["unit_price"])
            for x in data["lines"]]  # fmt: skip


def member_of(data: dict) -> Member:
    """The member a purchase names, by id or by card number."""
    if data.get("member"):
        return member_get(public_id=data["member"])
    return member_lookup(card_number=data["card_number"])


class BreakdownOut(serializers.Serializer):
    source = serializers.CharField(help_text="base, tier:<code>, plan:<code> or campaign:<code>")
    points = serializers.IntegerField()


class TransactionOut(serializers.Serializer):
    id = serializers.CharField()
    external_id = serializers.CharField()
    member = serializers.CharField()
    shop = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    currency = serializers.CharField()
    total = serializers.CharField()
    eligible_amount = serializers.CharField()
    base_points = serializers.IntegerField()
    points = serializers.IntegerField()
    breakdown = BreakdownOut(many=True)
    points_status = serializers.ChoiceField(
        choices=Transaction.PointsStatus.values,
        help_text="expired: reported after the points' expiry, credited and expired at once (never spendable)",
    )
    available_at = serializers.DateTimeField()
    refunded_amount = serializers.CharField()
    points_clawed_back = serializers.IntegerField()
    points_forgiven = serializers.IntegerField(help_text="claw-back the balance could not cover (no negative balances)")
    balance = BalanceOut()
    tier = TierOut(allow_null=True)


def transaction_out(txn: Transaction, account: Account | None) -> dict:
    return TransactionOut(
        {
            "id": txn.public_id, "external_id": txn.external_id, "member": txn.member.public_id,
            "shop": txn.shop.code, "occurred_at": txn.occurred_at, "currency": txn.currency,
            "total": money_out(txn.total, txn.currency),
            "eligible_amount": money_out(txn.eligible_amount, txn.currency),
            "base_points": txn.base_points, "points": txn.points, "breakdown": txn.breakdown,
            "points_status": txn.points_status, "available_at": txn.available_at,
            "refunded_amount": money_out(txn.refunded_amount, txn.currency),
            "points_clawed_back": txn.points_clawed_back, "points_forgiven": txn.points_forgiven,
            "balance": balance_of(account).as_dict(), "tier": tier_out(account),
        }
    ).data  # fmt: skip


class TransactionListFilter(filters.FilterSet):
    member = filters.CharFilter(field_name="member__public_id")
    external_id = filters.CharFilter()

    class Meta:
        model = Transaction
        fields = ["member", "external_id"]


class TransactionsApi(ShopApi):
    required_scope = "transactions:write"

    @extend_schema(
        operation_id="transactions_create", request=TransactionIn,
        responses={201: TransactionOut, 200: TransactionOut, **errors(400, 401, 403, 404, 409, 422, 429)},
        summary="Record a purchase and credit its points",
        description="Idempotent on `external_id` per shop: the same body again is 200 with the original "
        "transaction; a different body is 409 `idempotency_conflict`. When `lines` are given they must add up "
        "to `total` (400 `total_mismatch`). `occurred_at` may lie up to the program's `max_backdate_days` in "
        "the past (422 `backdate_too_old`), never in the future. Points are computed once, rounding down: "
        "floor(Σ eligible line totals × points_per_currency_unit × tier × plan × campaign multipliers) + fixed "
        "bonuses; `breakdown` sums to `points`. A purchase reported after its points' expiry (or whose points "
        "would expire before they become available) is credited and expired at once: `points_status: expired`, "
        "an `earn` and an `expire` entry, the balance unchanged; those points are never spendable.",
    )  # fmt: skip
    @idempotent
    def post(self, request):
        data = self.validated(TransactionIn, request)
        member = MemberRef(
            public_id=data.get("member"), card_number=card_number_normalise(data.get("card_number") or "") or None
        )
        purchase = transaction_create(
            shop=request.shop, member=member, external_id=data["external_id"], currency=data["currency"],
            total=data["total"], occurred_at=data.get("occurred_at"), lines=lines_of(data),
            fingerprint=request_hash(data), now=timezone.now(),
        )  # fmt: skip
        txn = purchase.transaction
        txn.shop = request.shop
        return Response(transaction_out(txn, purchase.account), status=201 if purchase.created else 200)

    @extend_schema(
        operation_id="transactions_list",
        parameters=[
            OpenApiParameter("member", str, description="member id"),
            OpenApiParameter("external_id", str),
            OpenApiParameter("limit", int, description="1 to 200, default 50"),
            OpenApiParameter("cursor", str),
        ],
        responses={200: page_of(TransactionOut), **errors(400, 401, 403, 429)},
        summary="The calling shop's transactions, newest first",
    )
    def get(self, request):
        txns = Transaction.objects.filter(shop=request.shop).select_related("member", "shop", "member__account")
        return self.paginate(filtered(TransactionListFilter, request, txns), request, TransactionPageItem)


class TransactionPageItem(serializers.BaseSerializer):
    def to_representation(self, txn: Transaction) -> dict:
        return transaction_out(txn, account=getattr(txn.member, "account", None))


class PreviewOut(serializers.Serializer):
    eligible_amount = serializers.CharField()
    base_points = serializers.IntegerField()
    points = serializers.IntegerField()
    breakdown = BreakdownOut(many=True)


class TransactionPreviewApi(ShopApi):
    required_scope = "transactions:write"

    @extend_schema(
        operation_id="transactions_preview", request=PurchaseIn,
        responses={200: PreviewOut, **errors(400, 401, 403, 404, 422, 429)},
        summary="What a purchase would earn; writes nothing",
        description="The same body as a transaction; `member` (or `card_number`) is optional and, when given, "
        "the member's multipliers apply. `external_id` is not needed.",
    )  # fmt: skip
    def post(self, request):
        data = self.validated(PurchaseIn, request)
        member = member_of(data) if data.get("member") or data.get("card_number") else None
        earning = transaction_preview(
            shop=request.shop, member=member, currency=data["currency"], total=data["total"],
            occurred_at=data.get("occurred_at"), lines=lines_of(data), now=timezone.now(),
        )  # fmt: skip
        return Response(
            PreviewOut(
                {"eligible_amount": money_out(earning.eligible_amount, data["currency"]),
                 "base_points": earning.base_points, "points": earning.points, "breakdown": earning.breakdown}
            ).data
        )  # fmt: skip


def own_transaction(request, transaction_id: str) -> Transaction:
    return shop_object(
        Transaction.objects.select_related("member", "shop"), request, transaction_id,
        TransactionNotFound(param="id"),
    )  # fmt: skip


class TransactionDetailApi(ShopApi):
    required_scope = "transactions:write"

    @extend_schema(operation_id="transactions_retrieve", responses={200: TransactionOut, **errors(401, 403, 404, 429)})
    def get(self, request, transaction_id: str):
        txn = own_transaction(request, transaction_id)
        return Response(transaction_out(txn, account_of(txn.member)))


class RefundIn(JsonInput):
    external_id = serializers.CharField(max_length=128)
    amount = PositiveMoneyField()


class RefundOut(serializers.Serializer):
    id = serializers.CharField()
    external_id = serializers.CharField()
    amount = serializers.CharField()
    points_clawed_back = serializers.IntegerField()
    points_forgiven = serializers.IntegerField()
    balance = BalanceOut()
    transaction = serializers.CharField()


def refund_out(refund: Refund, txn: Transaction, account: Account | None) -> dict:
    return RefundOut(
        {"id": refund.public_id, "external_id": refund.external_id, "amount": money_out(refund.amount, txn.currency),
         "points_clawed_back": refund.points_clawed_back, "points_forgiven": refund.points_forgiven,
         "balance": balance_of(account).as_dict(), "transaction": txn.public_id}
    ).data  # fmt: skip


class RefundsApi(ShopApi):
    required_scope = "transactions:write"

    @extend_schema(
        operation_id="transactions_refund", request=RefundIn,
        responses={201: RefundOut, 200: RefundOut, **errors(400, 401, 403, 404, 409, 422, 429)},
        summary="Refund part or all of a transaction and claw back its points",
        description="After refunds totalling R of T, the points clawed back are points − floor(points × (T − R) / T), "
        "so a full refund takes back exactly `points`. Pending points are cancelled first. Without "
        "`allow_negative_balance` what the balance cannot cover is forgiven (`points_forgiven`). Cumulative "
        "refunds may not exceed `total` (422 `refund_exceeds_remaining`). Idempotent on `external_id`. Points "
        "that expired on arrival (`points_status: expired`) are not taken back: they never reached the balance.",
    )  # fmt: skip
    @idempotent
    def post(self, request, transaction_id: str):
        txn = own_transaction(request, transaction_id)
        data = self.validated(RefundIn, request)
        money_places_check({"amount": data["amount"]}, txn.currency)
        refunded = refund_create(
            shop=request.shop, txn=txn, external_id=data["external_id"], amount=data["amount"],
            fingerprint=request_hash({"transaction": txn.pk, **data}), now=timezone.now(),
        )  # fmt: skip
        return Response(refund_out(refunded.refund, txn, refunded.account), status=201 if refunded.created else 200)
