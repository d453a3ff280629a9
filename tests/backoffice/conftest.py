"""Staff users for the back office's tests, logged in: people in each role, a superuser, and people holding
only the permissions named.

`staff_client(role, shop=None)` makes an is_staff user in that role's group (and linked to `shop`) through the
same service `create_staff_user` uses, and returns a logged-in test client whose `.user` is that user."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from backoffice.roles import roles_sync
from backoffice.services import staff_user_create
from loyalty.shops.models import Shop


def logged_in(user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def roles(db) -> None:
    roles_sync()  # the migration made them; a test that flushed the database must not depend on the order


@pytest.fixture
def staff_client(roles) -> Callable[..., Client]:
    made = iter(range(1, 1000))

    def make(role: str, shop: Shop | None = None) -> Client:
        user = staff_user_create(
            username=f"{role}-{next(made)}", role=role, password="pw-unused-1234", shop_code=shop.code if shop else None
        )
        return logged_in(user)

    return make


@pytest.fixture
def superuser_client(db) -> Client:
    return logged_in(User.objects.create_superuser("root", "root@example.com", "pw-unused-1234"))


@pytest.fixture
def staff(db) -> Client:
    return logged_in(User.objects.create_superuser("staff", "staff@example.com", "pw-staff-123"))


@pytest.fixture
def staff_with(db) -> Callable[..., Client]:
    """A client logged in as `username`, staff, holding only `perms` ("app_label.codename")."""

    def make(username: str, *perms: str) -> Client:
        user = User.objects.create_user(username, f"{username}@example.com", "pw-staff-123", is_staff=True)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return logged_in(user)

    return make
