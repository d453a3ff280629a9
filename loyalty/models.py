"""Model registry of the loyalty app; the models live in its packages by concern."""

from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.program.models import Program
from loyalty.shops.models import ApiKey, Shop

__all__ = ["Account", "ApiKey", "LedgerEntry", "LotAllocation", "PointLot", "Program", "Shop"]
