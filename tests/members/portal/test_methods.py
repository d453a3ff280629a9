"""What each portal page answers to the other HTTP methods: a page a member reads answers HEAD as it answers GET
(a link checker, a proxy), and refuses POST, PUT and DELETE with 405 instead of showing the page; never a 500."""

import pytest

from loyalty.program.loading import program_load
from tests.support.portal import MEMBER_PAGES, signed_in
from tests.support.rewards import reward_item

READ_ONLY = [
    "/portal/",
    "/portal/history",
    "/portal/rewards",
    "/portal/rewards/COFFEE",
    "/portal/vouchers",
    "/portal/subscription",
    "/portal/referral",
    "/portal/profile/export",
]


@pytest.fixture
def member_portal(ada):
    program_load({"rewards": [reward_item("COFFEE", name="Free coffee", points_cost=300)]})
    return signed_in(ada)


@pytest.mark.parametrize("url", MEMBER_PAGES)
def test_head_answers_as_get_does_without_a_body(member_portal, url):
    got = member_portal.get(url)
    head = member_portal.head(url)

    assert got.status_code == 200
    assert head.status_code == 200
    assert head["Content-Type"] == got["Content-Type"]
    assert head.content == b""


@pytest.mark.parametrize("url", READ_ONLY)
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_a_page_that_only_shows_refuses_writes_with_405(member_portal, url, method):
    response = getattr(member_portal, method)(url)

    assert response.status_code == 405
    assert "GET" in response["Allow"]
