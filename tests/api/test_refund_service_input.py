from decimal import Decimal

import pytest

from loyalty.earning.models import Refund
from loyalty.earning.services import refund_create, transaction_create
from loyalty.errors import InvalidRequest
from tests.api.conftest import balance


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("-1.00"), 5, "5.00"])
def test_a_refund_of_no_money_or_not_a_decimal_is_refused_and_writes_nothing(shop, member, now, amount):
    txn = transaction_create(
        shop=shop, member=member, external_id="o-1", currency="EUR", total=Decimal("20.00"), occurred_at=None,
        lines=None, fingerprint="f", now=now,
    ).transaction  # fmt: skip

    with pytest.raises(InvalidRequest) as refused:
        refund_create(shop=shop, txn=txn, external_id="r-1", amount=amount, fingerprint="g", now=now)

    assert (refused.value.code, refused.value.param) == ("amount_out_of_range", "amount")
    assert not Refund.objects.exists() and balance(member) == (20, 0, 0)
