"""What the database holds, for asserting that a refused call wrote nothing."""

from loyalty.adjustments.models import Adjustment
from loyalty.earning.models import Refund, Transaction
from loyalty.holds.models import Hold
from loyalty.idempotency.models import IdempotentRequest
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from members.models import Member


def db_state() -> dict:
    """Every row a checkout call can write, with the columns a call can change."""
    return {
        "members": list(Member.objects.order_by("pk").values_list("pk", "email", "status", "card_number")),
        "accounts": list(Account.objects.order_by("pk").values_list("member_id", "available", "pending", "held")),
        "entries": list(LedgerEntry.objects.order_by("pk").values_list("pk", "kind", "points")),
        "lots": list(PointLot.objects.order_by("pk").values_list("pk", "remaining", "pending")),
        "allocations": LotAllocation.objects.count(),
        "transactions": list(
            Transaction.objects.order_by("pk").values_list(
                "pk", "external_id", "refunded_amount", "points_clawed_back", "points_forgiven", "qualifying_points"
            )
        ),
        "refunds": list(Refund.objects.order_by("pk").values_list("pk", "external_id", "amount")),
        "holds": list(Hold.objects.order_by("pk").values_list("pk", "status", "captured_points", "expires_at")),
        "adjustments": list(Adjustment.objects.order_by("pk").values_list("pk", "status", "entry_id")),
        "idempotency_keys": list(IdempotentRequest.objects.order_by("pk").values_list("pk", "key", "status")),
    }
