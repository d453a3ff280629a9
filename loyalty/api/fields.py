"""Input and output of money, points and public ids."""

from decimal import Decimal

from rest_framework import serializers

from loyalty.money import CURRENCY_MINOR_UNITS, money_str

MONEY_MAX = Decimal("10000000.00")  # docs/API.md: an amount outside 0..10,000,000.00 is refused


class MoneyField(serializers.DecimalField):
    """A decimal string such as "12.50" (a JSON number is read exactly too), 0..10,000,000.00. The
    serializer checks the places against the currency with `money_places_check`."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", Decimal(0))
        super().__init__(max_digits=12, decimal_places=3, max_value=MONEY_MAX, **kwargs)


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
