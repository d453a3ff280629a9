"""Input and output of money, timestamps, points and public ids."""

import datetime as dt
import re
from decimal import Decimal

from django import forms
from django.utils.dateparse import parse_datetime
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty.money import CURRENCY_MINOR_UNITS, money_str

MONEY_MAX = Decimal("10000000.00")  # docs/API.md: an amount outside 0..10,000,000.00 is refused
# ASCII digits only (Decimal() would read "١٢" as 12) and no sign (so no "-0.00"); at most 3 places, the most
# a currency has (the serializer then checks the places against its currency).
MONEY_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
MONEY_NEGATIVE = re.compile(r"-[0-9]+(?:\.[0-9]+)?")
# 0 to 10000000 with up to 3 places, exactly what the server takes: the schema publishes this pattern.
MONEY_PATTERN = r"^(?:[0-9]{1,7}(?:\.[0-9]{1,3})?|10000000(?:\.0{1,3})?)$"
MONEY_SCHEMA = {
    "type": "string",
    "pattern": MONEY_PATTERN,
    "example": "12.50",
    "description": "A decimal string of ASCII digits with at most the currency's minor units, 0 to 10000000.",
}


@extend_schema_field(MONEY_SCHEMA)
class MoneyField(serializers.DecimalField):
    """A decimal string such as "12.50" (a JSON number is read exactly too), 0..10,000,000.00, ASCII digits,
    no sign. The serializer checks the places against the currency with `money_places_check`."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", Decimal(0))
        super().__init__(max_digits=12, decimal_places=3, max_value=MONEY_MAX, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            if MONEY_NEGATIVE.fullmatch(data):  # "-0.00" too: an amount has no sign
                raise serializers.ValidationError("An amount is 0 or more, without a sign.", code="min_value")
            if not MONEY_DIGITS.fullmatch(data):  # "", "١٢", " 12", "+5", "1e3", "NaN": not what the schema says
                raise serializers.ValidationError("Write an amount in ASCII digits, such as 12.50.", code="invalid")
            if not re.fullmatch(MONEY_PATTERN, data):
                if super().to_internal_value(data) > MONEY_MAX:  # too many places fail in there, with their code
                    raise serializers.ValidationError(f"An amount is at most {MONEY_MAX}.", code="max_value")
                raise serializers.ValidationError("Write an amount with at most 8 digits before the point.", "invalid")
        elif isinstance(data, bool) or not isinstance(data, int | Decimal):
            self.fail("invalid")
        elif data < 0 or (isinstance(data, Decimal) and data.is_signed()):  # a JSON number, read exactly
            raise serializers.ValidationError("An amount is 0 or more, without a sign.", code="min_value")
        return super().to_internal_value(data)


# A refund's amount: the same, but above 0 (a lookahead refuses every spelling of zero, "0", "0.00", "000.0").
POSITIVE_MONEY_PATTERN = r"^(?!0*(?:\.0*)?$)" + MONEY_PATTERN[1:]
POSITIVE_MONEY_SCHEMA = {
    **MONEY_SCHEMA,
    "pattern": POSITIVE_MONEY_PATTERN,
    "description": "A decimal string of ASCII digits with at most the currency's minor units, above 0 to 10000000.",
}


@extend_schema_field(POSITIVE_MONEY_SCHEMA)
class PositiveMoneyField(MoneyField):
    """A MoneyField whose schema says it is above 0. The service that takes the amount refuses 0 (a refund:
    400 `amount_out_of_range`), so the rule is written once, there."""


def money_places_check(amounts: dict[str, Decimal], currency: str) -> None:
    """400 `too_many_decimals` when an amount has more decimals than `currency` has minor units."""
    places = CURRENCY_MINOR_UNITS.get(currency)
    if places is None:
        return  # the unsupported currency is refused by the service, with its own code
    for param, amount in amounts.items():
        if (
            amount is not None
            and -amount.as_tuple().exponent > places
            and amount != amount.quantize(Decimal(1).scaleb(-places))
        ):
            raise serializers.ValidationError(
                {
                    param: [
                        serializers.ErrorDetail(f"{currency} has {places} decimal places.", code="max_decimal_places")
                    ]
                }
            )


money_out = money_str


class CurrencyField(serializers.RegexField):
    def __init__(self, **kwargs) -> None:
        super().__init__(r"^[A-Z]{3}$", max_length=3, **kwargs)


def aware_datetime_parse(raw: object) -> dt.datetime:
    """An ISO 8601 timestamp with its UTC offset, as a UTC datetime; ValueError says what is wrong.

    Without an offset it is refused, not guessed. Any offset is taken and converted here, so the database
    never sees one it cannot hold (PostgreSQL refuses offsets beyond ±15:59 and fractional ones)."""
    try:
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError("Give an ISO 8601 timestamp with its UTC offset, such as 2025-01-31T12:00:00+01:00.")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("Give the timestamp's UTC offset (Z or +01:00): a time without one is ambiguous.")
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError("The timestamp is outside the years 1 to 9999 in UTC.") from exc


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """Input of a timestamp: `aware_datetime_parse`; invalid ones are 400 `invalid_field`."""

    def to_internal_value(self, data) -> dt.datetime:
        try:
            return aware_datetime_parse(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from exc

    def to_representation(self, value: dt.datetime) -> str:
        return serializers.DateTimeField().to_representation(value)


class AwareDateTimeFormField(forms.Field):
    def to_python(self, value) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        try:
            return aware_datetime_parse(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc


class AwareDateTimeFilter(filters.Filter):
    """A query parameter holding a timestamp, read by `aware_datetime_parse`."""

    field_class = AwareDateTimeFormField


# --- JSON types -------------------------------------------------------------------------------------------


def _json_types(field: serializers.Field) -> tuple[tuple[type, ...], str] | None:
    """The JSON types a field takes and how to name them, or None where the field checks for itself."""
    if isinstance(field, serializers.BooleanField):
        return (bool,), "true or false"
    if isinstance(field, serializers.IntegerField):
        return (int,), "an integer"
    if isinstance(field, serializers.DecimalField):
        # money as a string, or a JSON number (read exactly, never as a float)
        return (str, int, Decimal), 'a decimal string such as "12.50"'
    if isinstance(field, serializers.CharField | serializers.ChoiceField | serializers.DateField | AwareDateTimeField):
        return (str,), "a string"
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return (list,), "an array"
    if isinstance(field, serializers.Serializer):
        return (dict,), "an object"
    return None


class JsonInput(serializers.Serializer):
    """An input serializer that takes each field in its JSON type only. DRF alone would read `"5"` as the
    integer 5, `123` as the string "123" and `"yes"` as true; the API documents types and refuses the wrong one
    with 400 `invalid_field`, so what a client sends means one thing. `null` is left to the field's own rule."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            wrong = {}
            for name, field in self.fields.items():
                value, accepted = data.get(name), _json_types(field)
                if field.read_only or value is None or accepted is None:
                    continue
                types, described = accepted
                if isinstance(value, bool) and bool not in types or not isinstance(value, types):
                    wrong[name] = [serializers.ErrorDetail(f"Expected {described}.", code="invalid")]
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)
