"""Rewards, redemptions and vouchers (docs/API.md, Rewards and vouchers)."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api.base import ApiKeyThrottle, Cursor, ShopApi, shop_object
from loyalty.api.fields import JsonInput, money_out
from loyalty.api.idempotency import idempotent
from loyalty.api.schema import errors, page_of
from loyalty.ledger.api import BalanceOut
from loyalty.ledger.models import Account
from loyalty.ledger.selectors import balance_of
from loyalty.program.selectors import program_get
from loyalty.tiers.selectors import tier_by_id
from members.selectors import member_get
from rewards.eligibility import catalogue_eligibility
from rewards.errors import RedemptionNotFound
from rewards.models import Redemption, Reward, Voucher
from rewards.selectors import reward_by_code, voucher_get, voucher_status_of
from rewards.services import redemption_cancel, reward_redeem, voucher_use


class VoucherLookupThrottle(ApiKeyThrottle):
    """Look-ups by code get their own, much lower rate per key, so codes cannot be guessed by trying."""

    scope = "voucher_lookup"


class EligibilityOut(serializers.Serializer):
    eligible = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True, help_text="the error code a redemption would get")


class RewardOut(serializers.Serializer):
    id = serializers.CharField()
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    image_url = serializers.CharField()
    category = serializers.CharField()
    kind = serializers.ChoiceField(choices=Reward.Kind.values)
    points_cost = serializers.IntegerField()
    value = serializers.CharField()
    stock_remaining = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    per_member_limit = serializers.IntegerField(allow_null=True)
    min_tier = serializers.CharField(allow_null=True)
    subscribers_only = serializers.BooleanField()
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    eligibility = EligibilityOut(required=False, help_text="only when `member` is given")


def reward_out(reward: Reward, currency: str, eligibility=None) -> dict:
    tier = tier_by_id(reward.min_tier_id)
    body = {
        "id": str(reward.pk), "code": reward.code, "name": reward.name, "description": reward.description,
        "image_url": reward.image_url, "category": reward.category, "kind": reward.kind,
        "points_cost": reward.points_cost, "value": money_out(reward.value, currency),
        "stock_remaining": reward.stock_remaining, "per_member_limit": reward.per_member_limit,
        "min_tier": tier.code if tier else None, "subscribers_only": reward.subscribers_only,
        "valid_from": reward.valid_from, "valid_until": reward.valid_until,
    }  # fmt: skip
    if eligibility is not None:
        body["eligibility"] = eligibility.as_dict()
    return RewardOut(body).data


class CataloguePage(Cursor):
    ordering = ("sort_order", "id")


class RewardsApi(ShopApi):
    @extend_schema(
        operation_id="rewards_list",
        parameters=[
            OpenApiParameter("member", str, description="with it, each reward says whether this member may redeem it"),
            OpenApiParameter("limit", int), OpenApiParameter("cursor", str),
        ],
        responses={200: page_of(RewardOut), **errors(400, 401, 404, 429)},
        summary="The reward catalogue (active rewards)",
    )  # fmt: skip
    def get(self, request):
        member_id = request.query_params.get("member")
        member = member_get(public_id=member_id) if member_id is not None else None
        paginator = CataloguePage()
        page = paginator.paginate_queryset(Reward.objects.filter(active=True), request, view=self)
        currency = program_get().currency
        eligibility = catalogue_eligibility(page, member=member, now=timezone.now()) if member else {}
        return paginator.get_paginated_response([reward_out(r, currency, eligibility.get(r.pk)) for r in page])


class RedemptionIn(JsonInput):
    member = serializers.CharField(max_length=32)
    reward = serializers.CharField(max_length=64, help_text="the reward's code")


class RedemptionRewardOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class RedemptionOut(serializers.Serializer):
    id = serializers.CharField()
    reward = RedemptionRewardOut()
    member = serializers.CharField()
    points = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Redemption.Status.values)
    voucher_code = serializers.CharField(allow_null=True, help_text="null for a donation")
    expires_at = serializers.DateTimeField(allow_null=True)
    balance = BalanceOut()


def redemption_out(redemption: Redemption, account: Account) -> dict:
    voucher = Voucher.objects.filter(redemption=redemption).first()
    return RedemptionOut(
        {"id": redemption.public_id, "reward": {"code": redemption.reward.code, "name": redemption.reward.name},
         "member": redemption.member.public_id, "points": redemption.points, "status": redemption.status,
         "voucher_code": voucher.code if voucher else None, "expires_at": voucher.expires_at if voucher else None,
         "balance": balance_of(account).as_dict()}
    ).data  # fmt: skip


class RedemptionsApi(ShopApi):
    required_scope = "points:redeem"

    @extend_schema(
        operation_id="redemptions_create", request=RedemptionIn,
        responses={201: RedemptionOut, **errors(400, 401, 403, 404, 409, 422, 429)},
        summary="Spend points on a reward",
        description="Refusals (422): `insufficient_points`, `out_of_stock`, `member_limit_reached`, `tier_required`, "
        "`subscription_required`, `reward_unavailable`, `member_inactive`. Stock and points are taken together.",
    )  # fmt: skip
    @idempotent
    def post(self, request):
        data = self.validated(RedemptionIn, request)
        member = member_get(public_id=data["member"])
        redeemed = reward_redeem(
            member=member, reward=reward_by_code(data["reward"]), shop=request.shop, now=timezone.now()
        )
        return Response(redemption_out(redeemed.redemption, redeemed.account), status=201)


class RedemptionCancelApi(ShopApi):
    required_scope = "points:redeem"

    @extend_schema(
        operation_id="redemptions_cancel", request=None,
        responses={200: RedemptionOut, **errors(401, 403, 404, 422, 429)},
        summary="Cancel a redemption: points and stock come back",
        description="422 `voucher_already_used` once its voucher is used; `invalid_state` if already cancelled.",
    )  # fmt: skip
    @idempotent
    def post(self, request, redemption_id: str):
        redemption = shop_object(
            Redemption.objects.select_related("reward", "member"), request, redemption_id,
            RedemptionNotFound(param="id"),
        )  # fmt: skip
        member, reward = redemption.member, redemption.reward
        cancelled = redemption_cancel(redemption=redemption, now=timezone.now(), actor=f"shop:{request.shop.code}")
        cancelled.redemption.member, cancelled.redemption.reward = member, reward
        return Response(redemption_out(cancelled.redemption, cancelled.account))


class VoucherOut(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=Voucher.Status.values)
    reward = RedemptionRewardOut()
    value = serializers.CharField()
    member = serializers.CharField()
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    issued_by_shop = serializers.CharField(
        allow_null=True, help_text="code of the shop whose redemption issued the voucher; null if none did"
    )
    used_by_shop = serializers.CharField(allow_null=True, help_text="code of the shop that took it; null until used")


VOUCHER_RULE = (
    "Vouchers are program-wide: any shop of the program can look up and take any voucher, whichever shop's "
    "redemption issued it. The body names both: `issued_by_shop` and `used_by_shop` (shop codes, or null), so "
    "the issuing shop learns that its voucher was used and by whom."
)


def voucher_out(voucher: Voucher) -> dict:
    status = voucher_status_of(voucher, now=timezone.now())
    issued_by = voucher.redemption.shop  # loaded with the voucher (voucher_get)
    return VoucherOut(
        {"code": voucher.code, "status": status, "reward": {"code": voucher.reward.code, "name": voucher.reward.name},
         "value": money_out(voucher.value, program_get().currency), "member": voucher.member.public_id,
         "expires_at": voucher.expires_at, "used_at": voucher.used_at,
         "issued_by_shop": issued_by.code if issued_by else None,
         "used_by_shop": voucher.used_by.code if voucher.used_by_id else None}
    ).data  # fmt: skip


class VoucherDetailApi(ShopApi):
    required_scope = "points:redeem"
    throttle_classes = [ApiKeyThrottle, VoucherLookupThrottle]

    @extend_schema(
        operation_id="vouchers_retrieve", responses={200: VoucherOut, **errors(401, 403, 404, 429)},
        summary="Look a voucher up by its code",
        description=f"{VOUCHER_RULE} Unknown codes are 404. Look-ups have their own low rate limit per key (429).",
    )  # fmt: skip
    def get(self, request, code: str):
        return Response(voucher_out(voucher_get(code=code)))


class VoucherUseIn(JsonInput):
    external_id = serializers.CharField(max_length=128)


class VoucherUseApi(ShopApi):
    required_scope = "points:redeem"
    throttle_classes = [ApiKeyThrottle, VoucherLookupThrottle]

    @extend_schema(
        operation_id="vouchers_use", request=VoucherUseIn,
        responses={200: VoucherOut, **errors(400, 401, 403, 404, 409, 422, 429)},
        summary="Take a voucher at checkout",
        description=f"{VOUCHER_RULE} Again with the same `external_id`: 200, same body. With another: 422 "
        "`voucher_already_used`. 422 `voucher_expired`, `voucher_cancelled`.",
    )  # fmt: skip
    @idempotent
    def post(self, request, code: str):
        data = self.validated(VoucherUseIn, request)
        voucher, _ = voucher_use(code=code, shop=request.shop, external_id=data["external_id"], now=timezone.now())
        voucher = voucher_get(code=voucher.code)
        return Response(voucher_out(voucher))
