"""The catalogue's staff journeys in a real browser: change a reward's stock (and see a stale form
refused), cancel a redemption through its confirmation page, and read today's figures on the dashboard."""

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from loyalty.program.loading import program_load
from rewards.models import Redemption, Reward
from tests.support.api import balance, purchase
from tests.support.browser import STAFF_PASSWORD, log_in
from tests.support.rewards import redeemed, reward_item


def staff_logged_in(page, site) -> None:
    get_user_model().objects.create_superuser("ada", "ada@example.com", STAFF_PASSWORD)
    log_in(page, site.url, "ada")


def test_staff_set_a_new_stock_and_a_stale_form_is_refused(page, site, api, member_with_points, screenshot):
    image = f"{site.url}/static/backoffice/sample-reward.svg"
    program_load({"rewards": [reward_item("COFFEE", name="Coffee", stock=10, per_member_limit=2, image_url=image)]})
    reward = Reward.objects.get(code="COFFEE")
    redeemed(api, member_with_points(1000), "COFFEE")
    member_with_points(5000)
    staff_logged_in(page, site)
    change = f"{site.url}/admin/rewards/reward/{reward.pk}/change/"

    page.goto(change)
    expect(page.get_by_label("Left to redeem")).to_have_value("9")
    expect(page.get_by_text("2 active members meet its tier, plan and per-member limit")).to_be_visible()
    expect(page.locator("img[alt='Coffee']")).to_be_visible()
    assert page.locator("img[alt='Coffee']").evaluate("img => img.naturalWidth") > 0  # served by the project
    # the whole form at once, so the sticky save bar sits below it rather than across it in the picture
    height = page.evaluate("document.querySelector('#content').scrollHeight + 200")
    page.set_viewport_size({"width": 1280, "height": height})
    screenshot(page, "admin-reward")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_label("Left to redeem").fill("25")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("was changed successfully")).to_be_visible()
    assert Reward.objects.values_list("stock", "stock_remaining").get(pk=reward.pk) == (26, 25)

    page.goto(change)  # the form shows 25 left; then a checkout redeems one
    redeemed(api, member_with_points(1000), "COFFEE")
    page.get_by_label("Left to redeem").fill("40")
    page.get_by_label("Name").fill("Coffee, large")
    page.get_by_role("button", name="Save", exact=True).click()

    refusal = "The stock changed from 25 to 24 while you were editing; nothing was saved."
    expect(page.get_by_text(refusal)).to_be_visible()
    expect(page.get_by_text("changed successfully")).to_have_count(0)
    reward.refresh_from_db()
    assert (reward.name, reward.stock, reward.stock_remaining) == ("Coffee", 26, 24)

    page.get_by_role("button", name="Save", exact=True).click()  # saved again, knowing

    expect(page.get_by_text("was changed successfully")).to_be_visible()
    reward.refresh_from_db()
    assert (reward.name, reward.stock, reward.stock_remaining) == ("Coffee, large", 42, 40)


def test_staff_cancel_a_redemption_through_its_confirmation_page(page, site, api, member_with_points):
    program_load({"rewards": [reward_item("COFFEE", name="Coffee", stock=10, points_cost=300)]})
    member = member_with_points(1000)
    redemption = Redemption.objects.get(public_id=redeemed(api, member, "COFFEE")["id"])
    staff_logged_in(page, site)

    page.goto(f"{site.url}/admin/rewards/redemption/{redemption.pk}/change/")
    page.get_by_role("link", name="Cancel redemption").click()

    expect(page.get_by_text("300 points to the member")).to_be_visible()
    expect(page.get_by_text("one unit of stock to Coffee (9 left now)")).to_be_visible()
    assert Redemption.objects.get(pk=redemption.pk).status == "issued"
    page.get_by_role("button", name="Yes, cancel the redemption").click()

    expect(page.get_by_text(f"Redemption {redemption.public_id} cancelled.")).to_be_visible()
    assert Redemption.objects.get(pk=redemption.pk).status == "cancelled"
    assert balance(member)[0] == 1000 and Reward.objects.get(code="COFFEE").stock_remaining == 10


def test_the_dashboard_shows_todays_figures_after_a_purchase(page, site, api, member_with_points, screenshot):
    member = member_with_points(1000)
    assert api.post("/api/v1/transactions", purchase(member, total="42.50")).status_code == 201
    staff_logged_in(page, site)

    page.goto(f"{site.url}/admin/")

    purchases = page.locator("[data-figure=purchases]")
    expect(purchases).to_contain_text("1")
    expect(purchases).to_contain_text("42.50 EUR")
    expect(page.locator("[data-figure=issued]")).to_contain_text("42")
    expect(page.locator("[data-figure=liability]")).to_contain_text("10.42 EUR")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    screenshot(page, "admin-dashboard")
