"""Helpers for the browser tests."""

from playwright.sync_api import Page

STAFF_PASSWORD = "correct horse battery staple"


def log_in(page: Page, base: str, username: str, password: str = STAFF_PASSWORD) -> None:
    """Log in through the admin's login form."""
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
