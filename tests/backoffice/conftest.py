"""Staff users for the back office's tests: a superuser, and people holding only the permissions named."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client


def staff_client(user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


@pytest.fixture
def staff(db) -> Client:
    return staff_client(User.objects.create_superuser("staff", "staff@example.com", "pw-staff-123"))


@pytest.fixture
def staff_with(db) -> Callable[..., Client]:
    """A client logged in as `username`, staff, holding only `perms` ("app_label.codename")."""

    def make(username: str, *perms: str) -> Client:
        user = User.objects.create_user(username, f"{username}@example.com", "pw-staff-123", is_staff=True)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return staff_client(user)

    return make
