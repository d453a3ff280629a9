from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = "Rewards"

    def ready(self) -> None:
        # rewards builds on loyalty; loyalty's command and job registry learn about rewards from here.
        from loyalty.jobs.registry import job_register  # noqa: PLC0415 (apps are ready only now)
        from loyalty.program.loading import section_register  # noqa: PLC0415
        from rewards.jobs import expire_vouchers  # noqa: PLC0415
        from rewards.loading import REWARDS_SECTION  # noqa: PLC0415

        section_register(REWARDS_SECTION, after="shops")
        job_register("expire_vouchers", expire_vouchers)
