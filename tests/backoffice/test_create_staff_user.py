"""`manage.py create_staff_user`: a staff user in one role (and shop), a password shown once or read from stdin,
and clear refusals that change nothing."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from backoffice.roles import PROGRAM_MANAGER, SHOP_STAFF, SUPPORT_AGENT
from loyalty.shops.models import ShopStaff

pytestmark = pytest.mark.django_db


def run(*args, stdin: str | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("create_staff_user", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(("role", "group"), [("support", SUPPORT_AGENT), ("manager", PROGRAM_MANAGER)])
def test_creates_a_staff_user_in_the_role_with_a_password_shown_once(roles, role, group):
    output = run("ann", "--role", role, "--email", "ann@example.com")

    password = output.strip().splitlines()[-1]
    user = User.objects.get(username="ann")
    assert "shown once" in output
    assert user.is_staff and not user.is_superuser and user.email == "ann@example.com"
    assert [g.name for g in user.groups.all()] == [group]
    assert len(password) >= 20 and user.check_password(password)
    assert not ShopStaff.objects.filter(user=user).exists()


def test_a_shop_user_is_linked_to_its_shop_and_can_log_in(roles, shop):
    output = run("till", "--role", "shop", "--shop", shop.code)

    user = User.objects.get(username="till")
    assert [g.name for g in user.groups.all()] == [SHOP_STAFF] and user.shop_staff.shop == shop
    client = Client(HTTP_HOST="127.0.0.1")
    password = output.strip().splitlines()[-1]
    client.post("/admin/login/", {"username": "till", "password": password}, secure=True)
    assert client.get("/admin/loyalty/transaction/", secure=True).status_code == 200


def test_the_password_can_come_from_stdin_and_is_then_not_printed(roles, monkeypatch):
    output = run("bea", "--role", "support", "--password-stdin", stdin="a long pass phrase 42\n",
                 monkeypatch=monkeypatch)  # fmt: skip

    assert "a long pass phrase 42" not in output and "Password" not in output
    assert User.objects.get(username="bea").check_password("a long pass phrase 42")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "shop"], None, "needs --shop"),
        (["--role", "support", "--shop", "shop-a"], None, "--shop is for the shop role only"),
        (["--role", "shop", "--shop", "nowhere"], None, "No shop with code 'nowhere'"),
        (["--role", "support", "--password-stdin"], "\n", "empty password"),
        (["--role", "support", "--password-stdin"], "short\n", "too short"),
    ],
)
def test_refusals_are_clear_and_create_nothing(roles, shop, monkeypatch, args, stdin, message):
    with pytest.raises(CommandError, match=message):
        run("cy", *args, stdin=stdin, monkeypatch=monkeypatch)

    assert not User.objects.filter(username="cy").exists()


def test_an_existing_username_is_refused_and_left_as_it_was(roles):
    existing = User.objects.create_user("dee", password="old pass phrase 42")

    with pytest.raises(CommandError, match="exists already"):
        run("DEE", "--role", "manager")

    existing.refresh_from_db()
    assert not existing.is_staff and not existing.groups.exists()
    assert User.objects.filter(username__iexact="dee").count() == 1


def test_an_unknown_role_is_refused_by_the_parser(roles):
    with pytest.raises(CommandError, match="invalid choice"):
        run("eve", "--role", "admin")
