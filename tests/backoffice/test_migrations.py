"""The roles' migration is reversible: `migrate backoffice zero` removes the three groups (and the re-sync after
migrate does not bring them back), migrating forward again recreates them with their permissions."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from backoffice.roles import ROLES


def migrate(*args) -> None:
    call_command("migrate", *args, verbosity=0, stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_the_roles_migration_goes_back_to_zero_and_forward_again():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)

    migrate("backoffice", "zero")
    assert not Group.objects.filter(name__in=ROLES).exists()

    migrate("backoffice")
    groups = {group.name: group.permissions.count() for group in Group.objects.filter(name__in=ROLES)}
    assert groups.keys() == set(ROLES) and all(groups.values())
    assert Group.objects.get(name="Shop staff").permissions.filter(codename="view_transaction").exists()
