"""A member's journeys through the portal on a phone (360 x 780), in a real browser: sign in through the mailed
link, see the balance, redeem a reward and see the voucher, switch to German, download the data, close the
account; a newcomer joins. No portal page scrolls sideways at 360 px, signed in or out, in English or German.

With SCREENSHOTS=1 the main pages are saved in both languages as docs/screenshots/portal-*.png (README)."""

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from loyalty.earning.services import transaction_create
from loyalty.idempotency.services import request_hash
from loyalty.membership.services import member_enroll_with_account
from loyalty.program.loading import program_load
from loyalty.shops.models import Shop
from members.models import Member
from rewards.models import Reward
from rewards.services import reward_redeem
from tests.support.portal import signin_token

PHONE = {"width": 360, "height": 780}
DEMO_PROGRAM = Path(__file__).resolve().parents[2] / "demo" / "program.json"
# Grace's purchases at the demo shop: (total, days ago); 1,400 points (Silver earns 1.25 x once reached).
PURCHASES = [("842.00", 28), ("129.90", 21), ("18.20", 9), ("299.40", 2)]
LANGUAGES = {"en": "en-GB", "de": "de-DE"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Every journey signs in from 127.0.0.1: start each without the sign-in requests of the ones before."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def phone(browser: Browser, site) -> Iterator[Callable[..., Page]]:
    """Opens a page in a fresh phone-sized context (no cookies) whose browser asks for `locale`; closed before
    the site stops."""
    contexts = []

    def open_(locale: str = "en-GB") -> Page:
        context = browser.new_context(viewport=PHONE, locale=locale, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, accept_downloads=True)  # fmt: skip
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def grace(site) -> Member:
    """The demo program (demo/program.json) and a member with a few purchases at its shop."""
    program_load(json.loads(DEMO_PROGRAM.read_text()))
    member = member_enroll_with_account(email="grace@example.com", first_name="Grace", last_name="Hopper")
    shop, now = Shop.objects.get(code="demo-shop"), timezone.now()
    for number, (total, days_ago) in enumerate(PURCHASES):
        body = {"member": member.public_id, "external_id": f"till-{number}", "total": total}
        transaction_create(
            shop=shop, member=member, external_id=body["external_id"], currency="EUR", total=Decimal(total),
            occurred_at=now - dt.timedelta(days=days_ago), lines=None, fingerprint=request_hash(body), now=now,
        )  # fmt: skip
    return member


def sign_in(page: Page, base: str, email: str) -> None:
    """Ask for a link on the login page, open the mailed link, press the button."""
    page.goto(f"{base}/portal/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-sent")).to_be_visible()
    page.goto(f"{base}/portal/login/{signin_token(email)}")
    page.get_by_test_id("signin-confirm").click()
    expect(page).to_have_url(f"{base}/portal/")


def switch_language(page: Page, code: str) -> None:
    page.get_by_test_id(f"language-{code}").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def assert_fits(page: Page, width: int = PHONE["width"]) -> None:
    """The page does not scroll sideways; if it does, the message names the elements sticking out."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        culprits = page.evaluate(
            """width => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > width + 0.5)
                .slice(0, 5).map(e => e.outerHTML.slice(0, 120))""",
            width,
        )
        pytest.fail(f"{page.url} is {scroll_width}px wide at {width}px: {culprits}")


# --- signed out -------------------------------------------------------------------------------------------


def test_a_member_signs_in_through_the_mailed_link_and_sees_their_balance(phone, site, grace):
    page = phone()

    sign_in(page, site.url, grace.email)

    expect(page.get_by_role("heading", level=1)).to_contain_text("Grace")
    expect(page.get_by_test_id("balance-available")).to_contain_text("1,400")
    expect(page.get_by_test_id("tier-name")).to_contain_text("Silver")
    expect(page.get_by_test_id("card-number")).to_contain_text(grace.card_number)
    assert_fits(page)


def test_a_used_link_does_not_sign_in_again(phone, site, grace):
    page = phone()
    sign_in(page, site.url, grace.email)
    token = signin_token(grace.email)

    other = phone()
    other.goto(f"{site.url}/portal/login/{token}")

    expect(other.get_by_test_id("link-invalid")).to_be_visible()
    assert_fits(other)


def test_a_newcomer_joins_and_signs_in_from_the_welcome_mail(phone, site, grace):
    page = phone()
    page.goto(f"{site.url}/portal/join")
    page.get_by_test_id("email").fill("ada@example.com")
    page.get_by_test_id("first_name").fill("Ada")
    page.get_by_test_id("join-submit").click()
    expect(page.get_by_test_id("join-sent")).to_be_visible()

    page.goto(f"{site.url}/portal/login/{signin_token('ada@example.com')}")
    page.get_by_test_id("signin-confirm").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Ada")
    assert Member.objects.get(email="ada@example.com").locale == "en"


def test_a_german_browser_gets_german_and_the_switch_changes_it(phone, site, db):
    page = phone("de-DE")
    page.goto(f"{site.url}/portal/login")

    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_test_id("login-submit")).to_have_text("Anmeldelink schicken")

    switch_language(page, "en")
    expect(page).to_have_url(f"{site.url}/portal/login")
    expect(page.get_by_test_id("login-submit")).to_have_text("Send me a sign-in link")
    page.goto(f"{site.url}/portal/join")
    expect(page.locator("html")).to_have_attribute("lang", "en")


# --- signed in --------------------------------------------------------------------------------------------


def test_a_member_switches_to_german_and_stays_german(phone, site, grace):
    page = phone()
    sign_in(page, site.url, grace.email)

    switch_language(page, "de")

    expect(page).to_have_url(f"{site.url}/portal/")
    expect(page.get_by_test_id("balance-available")).to_contain_text("1.400")
    expect(page.get_by_role("navigation")).to_contain_text("Prämien")
    grace.refresh_from_db()
    assert grace.locale == "de"
    page.get_by_role("link", name="Verlauf").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    assert_fits(page)


def test_a_member_redeems_a_reward_and_sees_the_voucher(phone, site, grace):
    page = phone()
    sign_in(page, site.url, grace.email)

    page.get_by_role("navigation").get_by_role("link", name="Rewards").click()
    coffee = page.locator('[data-testid="reward"][data-code="COFFEE"]')
    expect(coffee).to_have_attribute("data-eligible", "true")
    coffee.get_by_role("link").first.click()
    page.get_by_test_id("redeem-button").click()
    page.get_by_test_id("confirm").click()

    code = page.get_by_test_id("voucher-code")
    expect(code).to_be_visible()
    voucher = code.inner_text().strip()
    assert_fits(page)
    page.get_by_role("navigation").get_by_role("link", name="Overview").click()
    expect(page.get_by_test_id("balance-available")).to_contain_text("1,100")
    page.get_by_role("navigation").get_by_role("link", name="Vouchers").click()
    expect(page.get_by_test_id("voucher").filter(has_text=voucher)).to_have_attribute("data-status", "issued")


def test_a_member_downloads_their_data(phone, site, grace):
    page = phone()
    sign_in(page, site.url, grace.email)
    page.get_by_role("navigation").get_by_role("link", name="Profile").click()

    with page.expect_download() as download:
        page.get_by_test_id("export-data").click()

    assert download.value.suggested_filename.endswith(".json")
    text = Path(download.value.path()).read_text()
    json.loads(text)
    assert "grace@example.com" in text and "Hopper" in text
    assert all(f'"till-{number}"' in text for number in range(len(PURCHASES)))  # every purchase


def test_a_member_closes_their_account(phone, site, grace):
    page = phone()
    sign_in(page, site.url, grace.email)
    page.get_by_role("navigation").get_by_role("link", name="Profile").click()

    page.get_by_test_id("close-account").click()
    assert_fits(page)
    page.get_by_test_id("confirm").click()

    expect(page.get_by_test_id("goodbye")).to_be_visible()
    assert_fits(page)
    grace.refresh_from_db()
    assert grace.status == Member.Status.CLOSED and "grace" not in grace.email
    page.goto(f"{site.url}/portal/")
    expect(page.get_by_test_id("login-email")).to_be_visible()


# --- every page at 360 px ------------------------------------------------------------------------------------

# The main pages, saved as docs/screenshots/portal-<name>-<language>.png with SCREENSHOTS=1.
SCREENSHOTS = {"login", "overview", "rewards", "voucher", "profile"}


def visit(page: Page, url: str, name: str, language: str, screenshot) -> None:
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_fits(page)
    if name in SCREENSHOTS:
        screenshot(page, f"portal-{name}-{language}")


@pytest.mark.parametrize("language", ["en", "de"])
def test_no_portal_page_scrolls_sideways_at_360_px(phone, site, grace, language, screenshot):
    """Every page, signed out and in, with a voucher and rewards in and out of reach, in English and in German
    (whose words are longer)."""
    Member.objects.filter(pk=grace.pk).update(locale=language)  # a signed-in member reads their own language
    coffee = Reward.objects.get(code="COFFEE")
    voucher = reward_redeem(member=grace, reward=coffee, shop=None, now=timezone.now()).redemption.voucher
    base = f"{site.url}/portal"
    page = phone(LANGUAGES[language])

    visit(page, f"{base}/login", "login", language, screenshot)
    page.get_by_test_id("login-email").fill("a.very.long.address.of.somebody@subdomain.example.com")
    page.get_by_test_id("login-submit").click()
    assert_fits(page)
    visit(page, f"{base}/join?ref=NOSUCHCODE", "join", language, screenshot)
    visit(page, f"{base}/login/not-a-link", "link-invalid", language, screenshot)
    page.goto(f"{base}/login")
    page.get_by_test_id("login-email").fill(grace.email)
    page.get_by_test_id("login-submit").click()
    visit(page, f"{base}/login/{signin_token(grace.email)}", "signin", language, screenshot)
    page.get_by_test_id("signin-confirm").click()
    expect(page).to_have_url(f"{base}/")

    for name, path in (
        ("overview", "/"), ("history", "/history"), ("rewards", "/rewards"), ("reward", "/rewards/COFFEE"),
        ("reward-out-of-reach", "/rewards/TENOFF"), ("vouchers", "/vouchers"), ("voucher", f"/vouchers/{voucher.code}"),
        ("subscription", "/subscription"), ("referral", "/referral"), ("profile", "/profile"),
    ):  # fmt: skip
        visit(page, f"{base}{path}", name, language, screenshot)
    page.goto(f"{base}/rewards/COFFEE")
    page.get_by_test_id("redeem-button").click()
    assert_fits(page)  # the confirmation step
    page.goto(f"{base}/profile")
    page.get_by_test_id("close-account").click()
    assert_fits(page)
