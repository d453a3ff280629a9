from importlib import import_module

from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = "Rewards"

    def ready(self) -> None:
        # rewards builds on loyalty; loyalty's command and job registry learn about rewards from here.
        from loyalty.program.loading import section_register  # noqa: PLC0415 (apps are ready only now)
        from rewards.loading import REWARDS_SECTION  # noqa: PLC0415

        section_register(REWARDS_SECTION, after="shops")
        import_module("rewards.tasks")
