"""How the API shows the ledger: a balance, and points as input."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty.ledger.entries import MAX_POINTS, points_validate
from loyalty.ledger.errors import PointsOutOfRange


class BalanceOut(serializers.Serializer):
    available = serializers.IntegerField()
    pending = serializers.IntegerField()
    held = serializers.IntegerField()


@extend_schema_field({"type": "integer", "maximum": MAX_POINTS, "minimum": 1})
class PointsField(serializers.IntegerField):
    """Points as input: an integer that the ledger's `points_validate` takes (400 `points_out_of_range`), checked
    in its place among the fields; the schema publishes the same bounds."""

    def to_internal_value(self, data) -> int:
        points = super().to_internal_value(data)
        try:
            return points_validate(points)
        except PointsOutOfRange as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc
