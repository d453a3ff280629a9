"""The staff's side: the admin site, its dashboard, roles and the screens that compose several concerns."""

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.signals import post_migrate

from backoffice.roles import roles_sync

ROLES_MIGRATION = ("backoffice", "0001_staff_roles")


def roles_resync(sender, using: str = DEFAULT_DB_ALIAS, apps=None, **kwargs) -> None:
    """After every `migrate`, give the roles the permissions of models added since (create_permissions has run
    for every app by then: backoffice is the last app). Not while the roles' migration is unapplied, so
    `migrate backoffice zero` leaves no groups behind."""
    if ROLES_MIGRATION in MigrationRecorder(connections[using]).applied_migrations():
        roles_sync(apps=apps or global_apps, using=using)  # flush sends no `apps`


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        post_migrate.connect(roles_resync, sender=self, dispatch_uid="backoffice.roles_resync")
