"""Staff logins resist guessing (django-axes): a username is locked after AXES_FAILURE_LIMIT failures."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

PASSWORD = "correct horse battery staple"
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff(db):
    users = get_user_model().objects
    return [users.create_superuser(name, f"{name}@example.com", PASSWORD) for name in ("ada", "grace")]


def log_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password}, secure=True)


def is_logged_in(client: Client) -> bool:
    return client.get("/admin/", secure=True).status_code == 200


def fail(client: Client, username: str, times: int) -> None:
    """`times` wrong passwords: each answered by the form's error, except one that reaches the limit, which
    already answers 429."""
    for attempt in range(1, times + 1):
        response = log_in(client, username, "wrong")
        if attempt < django_settings.AXES_FAILURE_LIMIT:
            assert response.status_code == 200 and b"correct username and password" in response.content
        else:
            assert response.status_code == 429


def test_after_five_failures_even_the_right_password_is_refused(staff, settings):
    client = Client()
    fail(client, "ada", settings.AXES_FAILURE_LIMIT)

    response = log_in(client, "ada", PASSWORD)

    assert response.status_code == 429
    assert not is_logged_in(client)


def test_a_locked_username_leaves_other_staff_and_other_machines_alone(staff, settings):
    fail(Client(), "ada", settings.AXES_FAILURE_LIMIT)

    grace = Client()
    assert log_in(grace, "grace", PASSWORD).status_code == 302 and is_logged_in(grace)
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    assert log_in(elsewhere, "ada", PASSWORD).status_code == 429  # the username is locked, wherever from


def test_a_successful_login_starts_the_count_again(staff, settings):
    client = Client()
    fail(client, "ada", settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, "ada", PASSWORD).status_code == 302
    client.logout()

    fail(client, "ada", settings.AXES_FAILURE_LIMIT - 1)

    assert log_in(client, "ada", PASSWORD).status_code == 302


def test_the_lock_lifts_after_the_cool_off(staff, settings):
    client = Client()
    fail(client, "ada", settings.AXES_FAILURE_LIMIT)
    AccessAttempt.objects.update(
        attempt_time=dt.datetime.now(dt.UTC) - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1)
    )

    assert log_in(client, "ada", PASSWORD).status_code == 302


def test_an_operator_can_unlock_a_username_early(staff, settings):
    client = Client()
    fail(client, "ada", settings.AXES_FAILURE_LIMIT)

    call_command("axes_reset_username", "ada")

    assert log_in(client, "ada", PASSWORD).status_code == 302


def test_logging_in_on_the_login_page_itself_lands_on_the_dashboard(staff):
    """Opened directly (no ?next=), the login page used to send staff to Django's /accounts/profile/: a 404."""
    client = Client(HTTP_HOST="127.0.0.1")

    response = client.post("/admin/login/", {"username": "ada", "password": PASSWORD}, secure=True)

    assert response.status_code == 302 and response["Location"] == "/admin/"
