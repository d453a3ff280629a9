from importlib import import_module

from django.apps import AppConfig

# The concerns with periodic jobs: each declares its jobs and their Celery tasks in its `tasks.py`.
CONCERNS_WITH_TASKS = ("ledger", "earning", "holds", "tiers", "subscriptions", "idempotency", "messages")


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        # Where the concerns meet: their sections of the program file, in load order, and their jobs.
        # (Imported only now: models must be ready first.)
        from loyalty.earning.loading import CAMPAIGNS_SECTION  # noqa: PLC0415
        from loyalty.program.loading import section_register  # noqa: PLC0415
        from loyalty.shops.loading import SHOPS_SECTION  # noqa: PLC0415
        from loyalty.subscriptions.loading import PLANS_SECTION  # noqa: PLC0415
        from loyalty.tiers.loading import TIERS_SECTION  # noqa: PLC0415

        for section in (TIERS_SECTION, SHOPS_SECTION, PLANS_SECTION, CAMPAIGNS_SECTION):
            section_register(section)
        for concern in CONCERNS_WITH_TASKS:
            import_module(f"loyalty.{concern}.tasks")
