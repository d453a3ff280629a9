from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Installed as an app of its own so its templates and static files are found; its data are the members'."""

    name = "members.portal"
    label = "portal"
    verbose_name = "Member portal"
