"""Manual point adjustments through the API (docs/API.md, Adjustments): the service the admin calls."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.adjustments.models import Adjustment
from loyalty.adjustments.services import NOTE_MAX_LENGTH, points_adjust
from loyalty.api.base import ShopApi
from loyalty.api.fields import JsonInput
from loyalty.api.idempotency import idempotent
from loyalty.api.schema import errors
from loyalty.api.schema_hooks import NOT_BLANK_NO_NUL
from loyalty.idempotency.services import request_hash
from loyalty.ledger.api import BalanceOut
from loyalty.ledger.entries import MAX_POINTS, points_validate
from loyalty.ledger.errors import PointsOutOfRange
from loyalty.ledger.models import Account
from loyalty.ledger.selectors import balance_of
from members.selectors import member_get


@extend_schema_field(
    {
        "type": "integer",
        "oneOf": [{"minimum": 1, "maximum": MAX_POINTS}, {"minimum": -MAX_POINTS, "maximum": -1}],
        "description": "points to add (positive) or take (negative); never 0",
    }
)
class SignedPointsField(serializers.IntegerField):
    """Points added (> 0) or taken (< 0): the ledger's bounds either way (400 `points_out_of_range`), never 0."""

    def to_internal_value(self, data) -> int:
        points = super().to_internal_value(data)
        if points == 0:
            raise serializers.ValidationError("An adjustment adds or takes at least one point.", code="invalid_points")
        try:
            points_validate(abs(points))
        except PointsOutOfRange as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc
        return points


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": NOTE_MAX_LENGTH, "pattern": NOT_BLANK_NO_NUL})
class NoteField(serializers.CharField):
    """Why, in words: 1 to 500 characters, not only spaces, no NUL; kept as sent."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=NOTE_MAX_LENGTH, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data) -> str:
        note = super().to_internal_value(data)
        if not note.strip():
            raise serializers.ValidationError("A note says why; it cannot be blank.", code="blank")
        return note


class AdjustmentIn(JsonInput):
    points = SignedPointsField()
    reason = serializers.ChoiceField(choices=Adjustment.Reason.values)
    note = NoteField()
    external_id = serializers.CharField(max_length=128)


class AdjustmentOut(serializers.Serializer):
    id = serializers.CharField()
    external_id = serializers.CharField()
    member = serializers.CharField()
    points = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=Adjustment.Reason.values)
    note = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Adjustment.Status.values,
        help_text="`posted`: in the balance; `pending_approval`: waits for a second person (more points than the "
        "program's `adjustment_approval_points`); `rejected`: never posted",
    )
    entry = serializers.CharField(allow_null=True, help_text="the ledger entry's id once posted, else null")
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    balance = BalanceOut()


def adjustment_out(adjustment: Adjustment, member_public_id: str, account: Account | None) -> dict:
    return AdjustmentOut(
        {"id": adjustment.public_id, "external_id": adjustment.external_id, "member": member_public_id,
         "points": adjustment.points, "reason": adjustment.reason, "note": adjustment.note,
         "status": adjustment.status, "entry": adjustment.entry.public_id if adjustment.entry_id else None,
         "requested_by": adjustment.requested_by, "created_at": adjustment.created_at,
         "balance": balance_of(account).as_dict()}
    ).data  # fmt: skip


class MemberAdjustmentsApi(ShopApi):
    required_scope = "points:adjust"

    @extend_schema(
        operation_id="members_adjust", request=AdjustmentIn,
        responses={201: AdjustmentOut, 200: AdjustmentOut, **errors(400, 401, 403, 404, 409, 422, 429)},
        summary="Add or take points by hand",
        description="Written as a ledger entry of kind `adjust` by `shop:<code>`; 422 `insufficient_points` if it "
        "would take the balance below zero, and nothing is written. More points than the program's "
        "`adjustment_approval_points` are recorded as `pending_approval` (201, `entry` null) until a second "
        "person approves them in the back office. Idempotent on `external_id`: the same request again answers "
        "200 with the original.",
    )  # fmt: skip
    @idempotent
    def post(self, request, member_id: str):
        data = self.validated(AdjustmentIn, request)
        member = member_get(public_id=member_id)
        shop = request.shop
        result = points_adjust(
            member=member, points=data["points"], reason=data["reason"], note=data["note"],
            actor=f"shop:{shop.code}", now=timezone.now(), shop=shop, external_id=data["external_id"],
            fingerprint=request_hash({**data, "member": member.pk}),
        )  # fmt: skip
        return Response(adjustment_out(result.adjustment, member.public_id, result.account),
                        status=201 if result.created else 200)  # fmt: skip
