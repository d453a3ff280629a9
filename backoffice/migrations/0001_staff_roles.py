"""The audit log (a proxy of the admin's LogEntry) and the staff's three groups (Program manager, Support agent, Shop staff) with the permissions backoffice.roles
defines. Permissions are created first: on a fresh database Django would only create them after the last
migration. Later changes to the roles need no migration: post_migrate re-syncs (backoffice/apps.py)."""

import django.contrib.admin.models
from django.contrib.auth.management import create_permissions
from django.db import migrations

from backoffice.roles import roles_delete, roles_sync


def groups_create(apps, schema_editor) -> None:
    using = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        # A migration's app configs have no models module; create_permissions skips those without one.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    roles_sync(apps=apps, using=using)


def groups_delete(apps, schema_editor) -> None:
    roles_delete(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("members", "0001_member"),
        ("loyalty", "0010_shop_staff_and_subscription_event_actor"),
        ("rewards", "0001_catalogue_redemptions_vouchers"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditLogEntry",
            fields=[],
            options={
                "verbose_name": "audit log entry",
                "verbose_name_plural": "audit log",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("admin.logentry",),
            managers=[("objects", django.contrib.admin.models.LogEntryManager())],
        ),
        migrations.RunPython(groups_create, groups_delete),
    ]
