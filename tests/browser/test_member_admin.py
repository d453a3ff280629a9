"""The support agent's journeys in a real browser: find a member by part of their card, read their balance and
tier, adjust points, and a second person approving an adjustment above the limit."""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from loyalty.adjustments.models import Adjustment
from loyalty.adjustments.services import points_adjust
from loyalty.program.loading import program_load
from tests.support.api import purchase
from tests.support.browser import STAFF_PASSWORD, log_in
from tests.support.tiers import TIERS


def staff_user(username: str, *perms: str):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", STAFF_PASSWORD, is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


AGENT = ("members.view_member", "members.change_member", "loyalty.add_adjustment", "loyalty.view_adjustment",
         "loyalty.view_ledgerentry", "loyalty.view_transaction")  # fmt: skip


def test_find_a_member_by_card_read_balance_and_tier_and_adjust_points(page, site, api, member, screenshot):
    program_load({"tiers": TIERS})
    for number in range(3):
        body = purchase(member, external_id=f"order-{number}-from-the-till", total="40.00")
        assert api.post("/api/v1/transactions", body).status_code == 201
    staff_user("agnes", *AGENT)
    log_in(page, site.url, "agnes")

    page.goto(f"{site.url}/admin/members/member/")
    page.locator("#searchbar").fill(member.card_number[:8])
    page.keyboard.press("Enter")
    page.get_by_role("link", name=member.card_number).click()

    expect(page.locator("#m360-balance")).to_contain_text("120")
    expect(page.locator("#m360-balance")).to_contain_text("1.20 EUR")
    expect(page.locator("#m360-tier")).to_contain_text("Bronze")
    expect(page.locator("#m360-tier")).to_contain_text("380 to go")
    expect(page.locator("#ledger")).to_contain_text("order-2-from-the-till")

    page.locator("#id_adjust_points").fill("-20")
    page.locator("#id_adjust_reason").select_option("correction")
    page.locator("#id_adjust_note").fill("double-counted coupon")
    page.get_by_role("button", name="Adjust").click()

    expect(page.get_by_text("-20 points posted (correction); available now 100.")).to_be_visible()
    first_row = page.locator("#ledger tbody tr").first
    expect(first_row).to_contain_text("correction adjustment: double-counted coupon")
    expect(first_row).to_contain_text("staff:agnes")
    expect(page.locator("#m360-balance")).to_contain_text("100")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    screenshot(page, "admin-member")

    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet: the ledger scrolls inside its card
    box = page.locator("#ledger").evaluate(
        "box => [box.getBoundingClientRect().right, box.parentElement.getBoundingClientRect().right]"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 820
    assert box[0] <= box[1], f"the ledger box overflows its card at 820 px: {box}"


def test_a_second_person_approves_an_adjustment_above_the_limit(page, site, member, program_set, screenshot):
    program_set(adjustment_approval_points=1000)
    staff_user("agnes", *AGENT)
    staff_user("bruno", "members.view_member", "loyalty.view_adjustment", "loyalty.approve_adjustment")
    log_in(page, site.url, "agnes")
    page.goto(f"{site.url}/admin/members/member/{member.pk}/change/")
    page.locator("#id_adjust_points").fill("2500")
    page.locator("#id_adjust_reason").select_option("migration")
    page.locator("#id_adjust_note").fill("points from the old card system")
    page.get_by_role("button", name="Adjust").click()
    expect(page.get_by_text("wait for approval by a second person")).to_be_visible()
    page.context.clear_cookies()
    for points, note in ((150, "voucher not honoured at the till"), (-30, "double-counted coupon")):
        points_adjust(member=member, points=points, reason="goodwill" if points > 0 else "correction", note=note,
                      actor="staff:agnes", now=timezone.now())  # fmt: skip

    log_in(page, site.url, "bruno")
    page.goto(f"{site.url}/admin/loyalty/adjustment/")
    expect(page.locator("#result_list tbody tr").first).to_contain_text(re.compile("pending", re.IGNORECASE))
    expect(page.locator("#result_list tbody tr").first).to_contain_text("points from the old card system")  # the why
    screenshot(page, "admin-adjustments")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    widths = page.locator("#result_list").evaluate("t => [t.scrollWidth, t.closest('[data-simplebar]').clientWidth]")
    assert widths[0] <= widths[1], f"a column is cut off at 1280 px: {widths}"
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet: the note stays in words, not letters
    why = page.locator("#result_list tbody tr").first.locator("td.field-why")
    assert why.evaluate("cell => cell.getBoundingClientRect().width") >= 120
    page.set_viewport_size({"width": 1280, "height": 800})
    page.locator("a.adjustment-approve").first.click()
    expect(page.locator("#confirmation")).to_contain_text("+2,500 points are written to the member")
    page.get_by_role("button", name="Yes, approve").click()

    expect(page.get_by_text(f"Adjustment +2,500 points for {member.card_number}: posted.")).to_be_visible()
    adjustment = Adjustment.objects.get(points=2500)
    assert adjustment.status == "posted" and adjustment.decided_by == "staff:bruno"
