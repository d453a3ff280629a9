"""A member's account pages on a phone (360 px wide): plan, invitations and profile never scroll sideways; the
member cancels their plan and takes it back, downloads their data and closes their account."""

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from loyalty.membership.services import member_enroll_with_account
from members.models import Member
from members.portal.session import SESSION_MEMBER
from tests.support.subscriptions import fresh, pay, subscribe

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(browser: Browser, site) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page: Page, base: str, member: Member) -> None:
    """The session a mailed link ends in, handed to the browser as its cookie."""
    session = SessionStore()
    session[SESSION_MEMBER] = member.pk
    session.create()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": base}])


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def test_plan_invitations_and_profile_fit_a_phone_and_the_plan_is_cancelled_and_kept(
    phone, site, shop, plus, screenshot
):
    member = member_enroll_with_account(email="ada@example.com", first_name="Ada", last_name="Lovelace",
                                        phone="+44 20 7946 0018", marketing_consent=True)  # fmt: skip
    subscription = subscribe(shop, member, plus, timezone.now() - dt.timedelta(days=1))
    pay(shop, subscription, "first", timezone.now() - dt.timedelta(days=1))
    sign_in(phone, site.url, member)

    phone.goto(f"{site.url}/portal/subscription")
    expect(phone.get_by_test_id("subscription-status")).to_have_text("Active")
    fits_the_phone(phone)
    screenshot(phone, "portal-subscription")
    phone.get_by_test_id("cancel-subscription").click()
    fits_the_phone(phone)
    phone.get_by_test_id("confirm").click()
    expect(phone.get_by_test_id("resume-subscription")).to_be_visible()
    assert fresh(subscription).cancel_at_period_end
    phone.get_by_test_id("resume-subscription").click()
    expect(phone.get_by_test_id("cancel-subscription")).to_be_visible()
    assert not fresh(subscription).cancel_at_period_end

    phone.goto(f"{site.url}/portal/referral")
    expect(phone.get_by_test_id("referral-code")).to_have_text(member.referral_code)
    fits_the_phone(phone)
    screenshot(phone, "portal-referral")

    phone.goto(f"{site.url}/portal/profile")
    fits_the_phone(phone)
    screenshot(phone, "portal-profile")
    phone.get_by_label("Phone number").fill("12")
    phone.get_by_test_id("profile-save").click()
    expect(phone.locator("#phone-error")).to_contain_text("6 to 15 digits")
    fits_the_phone(phone)
    phone.get_by_label("Phone number").fill("+44 20 7946 0999")
    phone.get_by_label("Language of the portal and our mails").select_option("de")
    phone.get_by_test_id("profile-save").click()
    expect(phone.locator("html")).to_have_attribute("lang", "de")
    assert Member.objects.get(pk=member.pk).phone == "+442079460999"


def test_download_the_data_then_close_the_account(phone, site, program, screenshot):
    member = member_enroll_with_account(email="ada@example.com", first_name="Ada")
    sign_in(phone, site.url, member)

    phone.goto(f"{site.url}/portal/profile")
    with phone.expect_download() as download:
        phone.get_by_test_id("export-data").click()
    assert download.value.suggested_filename == f"loyalty-data-{timezone.localdate():%Y-%m-%d}.json"
    assert json.loads(open(download.value.path()).read())["profile"]["email"] == "ada@example.com"  # noqa: PTH123

    phone.get_by_test_id("close-account").click()
    fits_the_phone(phone)
    screenshot(phone, "portal-close")
    phone.get_by_test_id("confirm").click()
    expect(phone.get_by_test_id("goodbye")).to_be_visible()
    fits_the_phone(phone)
    assert Member.objects.get(pk=member.pk).erased_at is not None
    phone.goto(f"{site.url}/portal/profile")
    expect(phone.get_by_test_id("login-email")).to_be_visible()
