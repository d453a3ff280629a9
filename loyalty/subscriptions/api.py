"""Paid loyalty: plans, subscriptions, payments, cancellation (docs/API.md, Paid loyalty subscriptions)."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api.base import Cursor, ShopApi, shop_object
from loyalty.api.fields import CurrencyField, JsonInput, MoneyField, money_out
from loyalty.api.idempotency import idempotent
from loyalty.api.schema import errors, page_of
from loyalty.idempotency.services import request_hash
from loyalty.subscriptions.errors import SubscriptionNotFound
from loyalty.subscriptions.models import Plan, Subscription, SubscriptionPayment
from loyalty.subscriptions.selectors import plan_by_code
from loyalty.subscriptions.services import payment_record, subscription_cancel, subscription_create
from members.selectors import member_get


class PlanOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    price = serializers.CharField()
    currency = serializers.CharField()
    interval = serializers.ChoiceField(choices=Plan.Interval.values)
    trial_days = serializers.IntegerField()
    multiplier = serializers.DecimalField(max_digits=8, decimal_places=4)
    renewal_bonus = serializers.IntegerField()
    perks = serializers.ListField(child=serializers.CharField())


def plan_out(plan: Plan) -> dict:
    return PlanOut(
        {"code": plan.code, "name": plan.name, "price": money_out(plan.price, plan.currency), "currency": plan.currency,
         "interval": plan.interval, "trial_days": plan.trial_days, "multiplier": plan.multiplier,
         "renewal_bonus": plan.renewal_bonus, "perks": plan.perks}
    ).data  # fmt: skip


class PlanPage(Cursor):
    ordering = ("price", "id")


class PlansApi(ShopApi):
    @extend_schema(
        operation_id="plans_list",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
        responses={200: page_of(PlanOut), **errors(400, 401, 429)},
        summary="The plans members can subscribe to",
    )
    def get(self, request):
        paginator = PlanPage()
        page = paginator.paginate_queryset(Plan.objects.filter(active=True), request, view=self)
        return paginator.get_paginated_response([plan_out(plan) for plan in page])


class SubscriptionOut(serializers.Serializer):
    id = serializers.CharField()
    member = serializers.CharField()
    plan = serializers.CharField()
    status = serializers.ChoiceField(choices=Subscription.Status.values)
    current_period_start = serializers.DateTimeField()
    current_period_end = serializers.DateTimeField()
    cancel_at_period_end = serializers.BooleanField()


def subscription_out(subscription: Subscription) -> dict:
    return SubscriptionOut(
        {"id": subscription.public_id, "member": subscription.member.public_id, "plan": subscription.plan.code,
         "status": subscription.status, "current_period_start": subscription.current_period_start,
         "current_period_end": subscription.current_period_end,
         "cancel_at_period_end": subscription.cancel_at_period_end}
    ).data  # fmt: skip


def own_subscription(request, subscription_id: str) -> Subscription:
    return shop_object(
        Subscription.objects.select_related("member", "plan"), request, subscription_id,
        SubscriptionNotFound(param="id"),
    )  # fmt: skip


class SubscriptionIn(JsonInput):
    member = serializers.CharField(max_length=32)
    plan = serializers.CharField(max_length=64, help_text="the plan's code")


class SubscriptionsApi(ShopApi):
    required_scope = "subscriptions:write"

    @extend_schema(
        operation_id="subscriptions_create", request=SubscriptionIn,
        responses={201: SubscriptionOut, **errors(400, 401, 403, 404, 409, 422, 429)},
        summary="Subscribe a member to a plan",
        description="`trialing` when the plan has trial days, else `incomplete` until the first payment. One live "
        "subscription per member (422 `invalid_state`).",
    )  # fmt: skip
    @idempotent
    def post(self, request):
        data = self.validated(SubscriptionIn, request)
        member = member_get(public_id=data["member"])
        subscription = subscription_create(
            shop=request.shop, member=member, plan=plan_by_code(data["plan"]), now=timezone.now()
        )
        return Response(subscription_out(subscription), status=201)


class SubscriptionDetailApi(ShopApi):
    required_scope = "subscriptions:write"

    @extend_schema(
        operation_id="subscriptions_retrieve", responses={200: SubscriptionOut, **errors(401, 403, 404, 429)}
    )
    def get(self, request, subscription_id: str):
        return Response(subscription_out(own_subscription(request, subscription_id)))


class PaymentIn(JsonInput):
    external_id = serializers.CharField(max_length=128)
    amount = MoneyField()
    currency = CurrencyField()
    status = serializers.ChoiceField(choices=SubscriptionPayment.Status.values)


class PaymentOut(serializers.Serializer):
    id = serializers.CharField()
    external_id = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=SubscriptionPayment.Status.values)
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    renewal_bonus_points = serializers.IntegerField()
    subscription = SubscriptionOut()


class PaymentsApi(ShopApi):
    required_scope = "subscriptions:write"

    @extend_schema(
        operation_id="subscriptions_payment", request=PaymentIn,
        responses={201: PaymentOut, 200: PaymentOut, **errors(400, 401, 403, 404, 409, 422, 429)},
        summary="Report a payment from the billing system",
        description="Idempotent on `external_id`. Amount and currency must be the plan's (400 `amount_mismatch`, "
        "422 `unsupported_currency`). Succeeded: `active`, the period advances one interval and `renewal_bonus` "
        "points are credited once per period. Failed: `past_due`; benefits last the program's grace, except for a "
        "subscription canceled at period end: it still ends `canceled` at the period end, benefits until then.",
    )  # fmt: skip
    @idempotent
    def post(self, request, subscription_id: str):
        subscription = own_subscription(request, subscription_id)
        data = self.validated(PaymentIn, request)
        payment, created = payment_record(
            shop=request.shop, subscription=subscription, external_id=data["external_id"], amount=data["amount"],
            currency=data["currency"], status=data["status"],
            fingerprint=request_hash({"subscription": subscription.pk, **data}), now=timezone.now(),
        )  # fmt: skip
        subscription = Subscription.objects.select_related("member", "plan").get(pk=subscription.pk)
        body = PaymentOut(
            {"id": payment.public_id, "external_id": payment.external_id,
             "amount": money_out(payment.amount, payment.currency), "currency": payment.currency,
             "status": payment.status, "period_start": payment.period_start, "period_end": payment.period_end,
             "renewal_bonus_points": payment.bonus_entry.points if payment.bonus_entry_id else 0,
             "subscription": subscription_out(subscription)}
        ).data  # fmt: skip
        return Response(body, status=201 if created else 200)


class CancelIn(JsonInput):
    at_period_end = serializers.BooleanField(default=True)


class SubscriptionCancelApi(ShopApi):
    required_scope = "subscriptions:write"

    @extend_schema(
        operation_id="subscriptions_cancel", request=CancelIn,
        responses={200: SubscriptionOut, **errors(400, 401, 403, 404, 422, 429)},
        summary="Cancel now or at the end of the paid period",
        description="`at_period_end: true` (the default) keeps the benefits until `current_period_end`, when the "
        "subscription becomes `canceled`, even if a payment fails meanwhile. A past-due subscription is canceled now.",
    )  # fmt: skip
    @idempotent
    def post(self, request, subscription_id: str):
        subscription = own_subscription(request, subscription_id)
        data = self.validated(CancelIn, request, data=request.data or {})
        member = subscription.member
        subscription = subscription_cancel(
            subscription=subscription, at_period_end=data["at_period_end"], now=timezone.now(),
            actor=f"shop:{request.shop.code}",
        )  # fmt: skip
        subscription.member = member
        return Response(subscription_out(subscription))
