"""A member's portal on a phone (360 px): the overview, the history, redeeming a reward through its confirmation
and showing the voucher; no page scrolls sideways."""

from playwright.sync_api import expect

from loyalty.membership.services import member_enroll_with_account
from loyalty.program.loading import program_load
from members.models import Member
from tests.support.api import purchase
from tests.support.portal import signed_in
from tests.support.rewards import TIERS, reward_item

PHONE = {"width": 360, "height": 780}


def phone_page(browser, site, member: Member):
    """A phone-sized browser whose session belongs to `member` (what following a mailed link ends in)."""
    client = signed_in(member)
    context = browser.new_context(viewport=PHONE, locale="en-GB", device_scale_factor=2)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site.url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_member_reads_the_overview_and_redeems_a_reward_on_a_phone(browser, site, api, screenshot):
    ada = member_enroll_with_account(email="ada@example.com", first_name="Ada")
    program_load({"tiers": TIERS, "rewards": [
        reward_item("COFFEE", name="Free coffee", points_cost=300, stock=4, sort_order=1),
        reward_item("TENOFF", name="10 € off your next visit", kind="voucher_amount", value="10.00",
                    points_cost=1000, stock=None, sort_order=2),
        reward_item("LOUNGE", name="Airport lounge", points_cost=200, stock=None, min_tier="gold", sort_order=3),
    ]})  # fmt: skip
    for number, total in enumerate(["213.00", "89.00", "140.00"]):
        response = api.post("/api/v1/transactions", purchase(ada, external_id=f"o-{number}", total=total))
        assert response.status_code == 201
    context, page = phone_page(browser, site, ada)
    try:
        page.goto(f"{site.url}/portal/")
        expect(page.get_by_test_id("balance-available")).to_have_text("442")
        expect(page.get_by_test_id("tier-progress")).to_have_text("58 points to Silver")
        assert fits(page)
        screenshot(page, "portal-overview")

        page.goto(f"{site.url}/portal/history")
        expect(page.get_by_test_id("entry")).to_have_count(3)
        assert fits(page)

        page.goto(f"{site.url}/portal/rewards")
        expect(page.locator('[data-testid="reward"][data-eligible="true"]')).to_have_count(1)
        expect(page.locator('[data-code="TENOFF"]')).to_contain_text("558 more points")
        assert fits(page)
        screenshot(page, "portal-rewards")

        page.get_by_role("link", name="Free coffee").click()
        page.get_by_test_id("redeem-button").click()
        expect(page.get_by_test_id("points-after")).to_have_text("142")
        assert fits(page)
        page.get_by_test_id("confirm").click()

        expect(page.get_by_test_id("voucher-code")).to_be_visible()
        expect(page.get_by_role("img", name="QR code of voucher")).to_be_visible()
        assert fits(page)
        screenshot(page, "portal-voucher")

        page.goto(f"{site.url}/portal/vouchers")
        expect(page.get_by_test_id("voucher")).to_have_count(1)
        assert fits(page)
        page.goto(f"{site.url}/portal/")
        expect(page.get_by_test_id("balance-available")).to_have_text("142")
    finally:
        context.close()
