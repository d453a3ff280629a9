"""The ledger list at 1280 px: every column on screen, nothing cut off or scrolled sideways."""

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.support.api import purchase
from tests.support.browser import STAFF_PASSWORD, log_in


def test_the_ledger_list_fits_a_1280_pixel_screen(page, site, api, member, screenshot):
    get_user_model().objects.create_superuser("ada", "ada@example.com", STAFF_PASSWORD)
    for number in range(3):
        body = purchase(member, external_id=f"order-{number}-with-a-long-reference-from-the-till")
        assert api.post("/api/v1/transactions", body).status_code == 201
    log_in(page, site.url, "ada")

    page.goto(f"{site.url}/admin/loyalty/ledgerentry/")

    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    for column in ("member", "description", "shop_code", "purchase"):
        expect(page.locator(f"#result_list thead th.column-{column}")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # the table scrolls sideways inside its box when too wide
    widths = page.locator("#result_list").evaluate("t => [t.scrollWidth, t.closest('[data-simplebar]').clientWidth]")
    assert widths[0] <= widths[1], f"a column is cut off at 1280 px: {widths}"
    screenshot(page, "admin-ledger")
