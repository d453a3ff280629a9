"""Staff reach the admin in a browser: the login page, a wrong password refused, the right one let in."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.support.browser import STAFF_PASSWORD, log_in


@pytest.fixture
def staff_user(transactional_db):
    return get_user_model().objects.create_superuser("ada", "ada@example.com", STAFF_PASSWORD)


def test_a_wrong_password_is_refused_and_the_right_one_opens_the_admin(page, site, staff_user, screenshot):
    log_in(page, site.url, "ada", "wrong password")

    expect(page.get_by_text("correct username and password")).to_be_visible()
    assert page.url.startswith(f"{site.url}/admin/login/")

    log_in(page, site.url, "ada")

    expect(page).to_have_url(f"{site.url}/admin/")
    expect(page.get_by_role("link", name="Members", exact=True).first).to_be_visible()
    screenshot(page, "admin-index")
