"""Model registry of the loyalty app; the models live in its packages by concern."""

from loyalty.adjustments.models import Adjustment
from loyalty.earning.models import Campaign, Refund, Transaction
from loyalty.holds.models import Hold
from loyalty.idempotency.models import IdempotentRequest
from loyalty.jobs.models import JobStatus
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.messages.models import Message
from loyalty.program.models import Program
from loyalty.shops.models import ApiKey, Shop, ShopStaff
from loyalty.subscriptions.models import Plan, Subscription, SubscriptionEvent, SubscriptionPayment
from loyalty.tiers.models import Tier, TierChange

__all__ = [
    "Account",
    "Adjustment",
    "ApiKey",
    "Campaign",
    "Hold",
    "Plan",
    "IdempotentRequest",
    "JobStatus",
    "LedgerEntry",
    "LotAllocation",
    "Message",
    "PointLot",
    "Program",
    "Refund",
    "Shop",
    "ShopStaff",
    "Subscription",
    "SubscriptionEvent",
    "SubscriptionPayment",
    "Tier",
    "TierChange",
    "Transaction",
]
