"""Django's admin autodiscovery imports this module; each concern registers its own models in its admin.py."""

from loyalty.adjustments import admin as adjustments_admin
from loyalty.earning import admin as earning_admin
from loyalty.holds import admin as holds_admin
from loyalty.jobs import admin as jobs_admin
from loyalty.ledger import admin as ledger_admin
from loyalty.messages import admin as messages_admin
from loyalty.program import admin as program_admin
from loyalty.shops import admin as shops_admin
from loyalty.subscriptions import admin as subscriptions_admin
from loyalty.tiers import admin as tiers_admin

__all__ = [
    "adjustments_admin",
    "earning_admin",
    "holds_admin",
    "jobs_admin",
    "ledger_admin",
    "messages_admin",
    "program_admin",
    "shops_admin",
    "subscriptions_admin",
    "tiers_admin",
]
