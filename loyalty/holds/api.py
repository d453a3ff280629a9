"""Points as payment: holds, captures and voids (docs/API.md, Points as payment)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api.base import ShopApi, shop_object
from loyalty.api.fields import JsonInput, money_out
from loyalty.api.idempotency import idempotent
from loyalty.api.schema import errors
from loyalty.holds.errors import HoldNotFound
from loyalty.holds.models import Hold
from loyalty.holds.services import hold_capture, hold_create, hold_void
from loyalty.idempotency.services import request_hash
from loyalty.ledger.api import BalanceOut, PointsField
from loyalty.ledger.models import Account
from loyalty.ledger.selectors import account_of, balance_of
from loyalty.program.selectors import program_get
from members.selectors import member_get


class HoldOut(serializers.Serializer):
    id = serializers.CharField()
    external_id = serializers.CharField()
    member = serializers.CharField()
    status = serializers.ChoiceField(choices=Hold.Status.values)
    points = serializers.IntegerField(
        help_text="what the hold is for: the held points, and once captured the points captured (spent)"
    )
    value = serializers.CharField(help_text="`points` × point_value, in the program's currency")
    currency = serializers.CharField()
    held_points = serializers.IntegerField(help_text="the points the hold took when it was created")
    captured_points = serializers.IntegerField(help_text="the points spent by the capture; 0 unless captured")
    released_points = serializers.IntegerField(
        help_text="the points given back to available: the rest of a partial capture, or all of a voided or "
        "expired hold; 0 while held"
    )
    expires_at = serializers.DateTimeField()
    balance = BalanceOut()


def hold_out(hold: Hold, account: Account | None) -> dict:
    program = program_get()
    points = hold.captured_points if hold.status == Hold.Status.CAPTURED else hold.points
    released = 0 if hold.status == Hold.Status.HELD else hold.points - hold.captured_points
    return HoldOut(
        {"id": hold.public_id, "external_id": hold.external_id, "member": hold.member.public_id,
         "status": hold.status, "points": points, "value": money_out(points * program.point_value, program.currency),
         "currency": program.currency, "held_points": hold.points, "captured_points": hold.captured_points,
         "released_points": released, "expires_at": hold.expires_at, "balance": balance_of(account).as_dict()}
    ).data  # fmt: skip


def own_hold(request, hold_id: str) -> Hold:
    return shop_object(
        Hold.objects.select_related("member"), request, hold_id,
        HoldNotFound(param="id"),
    )  # fmt: skip


class HoldIn(JsonInput):
    member = serializers.CharField(max_length=32)
    points = PointsField()
    external_id = serializers.CharField(max_length=128)


class HoldCaptureIn(JsonInput):
    points = PointsField(required=False, allow_null=True)


class HoldsApi(ShopApi):
    required_scope = "points:redeem"

    @extend_schema(
        operation_id="holds_create", request=HoldIn,
        responses={201: HoldOut, 200: HoldOut, **errors(400, 401, 403, 404, 409, 422, 429)},
        summary="Hold points as payment",
        description="Held points leave `available` at once (422 `insufficient_points`). Capture or void within "
        "the program's `hold_ttl_minutes`; after that a job releases them (`expired`). Idempotent on `external_id`.",
    )  # fmt: skip
    @idempotent
    def post(self, request):
        data = self.validated(HoldIn, request)
        member = member_get(public_id=data["member"])
        held = hold_create(
            shop=request.shop, member=member, points=data["points"], external_id=data["external_id"],
            fingerprint=request_hash({**data, "member": member.pk}), now=timezone.now(),
        )  # fmt: skip
        held.hold.member = member
        return Response(hold_out(held.hold, held.account), status=201 if held.created else 200)


class HoldDetailApi(ShopApi):
    required_scope = "points:redeem"

    @extend_schema(operation_id="holds_retrieve", responses={200: HoldOut, **errors(401, 403, 404, 429)})
    def get(self, request, hold_id: str):
        hold = own_hold(request, hold_id)
        return Response(hold_out(hold, account_of(hold.member)))


class HoldCaptureApi(ShopApi):
    required_scope = "points:redeem"

    @extend_schema(
        operation_id="holds_capture", request=HoldCaptureIn,
        responses={200: HoldOut, **errors(400, 401, 403, 404, 422, 429)},
        summary="Spend held points", description="`points` (default: all) up to what is held; the rest is released. "
        "The captured hold's `points` and `value` are what was captured; `held_points` is what was held, "
        "`released_points` what went back to available. 422 `hold_not_active` once the hold is captured, voided "
        "or expired.",
    )  # fmt: skip
    @idempotent
    def post(self, request, hold_id: str):
        hold = own_hold(request, hold_id)
        data = self.validated(HoldCaptureIn, request, data=request.data or {})
        member = hold.member
        captured = hold_capture(hold=hold, points=data.get("points"), now=timezone.now())
        captured.hold.member = member
        return Response(hold_out(captured.hold, captured.account))


class HoldVoidApi(ShopApi):
    required_scope = "points:redeem"

    @extend_schema(
        operation_id="holds_void", request=None, responses={200: HoldOut, **errors(401, 403, 404, 422, 429)},
        summary="Give held points back", description="422 `hold_not_active` once the hold is no longer held.",
    )  # fmt: skip
    @idempotent
    def post(self, request, hold_id: str):
        hold = own_hold(request, hold_id)
        member = hold.member
        voided = hold_void(hold=hold, now=timezone.now())
        voided.hold.member = member
        return Response(hold_out(voided.hold, voided.account))
