"""Staff users of each role, logged in (helpers for the back office's tests).

`staff_client(role, shop=None)` makes an is_staff user in that role's group (and linked to `shop`) through the
same service `create_staff_user` uses, and returns a logged-in test client whose `.user` is that user."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from backoffice.roles import roles_sync
from backoffice.services import staff_user_create
from loyalty.shops.models import Shop


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
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        client.user = user
        return client

    return make


@pytest.fixture
def superuser_client(db) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.user = User.objects.create_superuser("root", "root@example.com", "pw-unused-1234")
    client.force_login(client.user)
    return client
