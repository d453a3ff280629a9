from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Installed as an app of its own so its templates and static files are found; its data are the members'."""

    name = "members.portal"
    label = "portal"
    verbose_name = "Member portal"

    def ready(self) -> None:
        from members.portal import tasks  # noqa: F401, PLC0415 - registers its job for run_job, workers and beat
