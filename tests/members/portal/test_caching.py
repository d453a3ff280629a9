"""A member's pages are never kept by a browser or a proxy: on a shared phone, Back after signing out must not
show the balance, a voucher's code or the data export again; nor is the page of a sign-in link kept."""

import pytest

from loyalty.program.loading import program_load
from members.models import Member
from tests.support.portal import MEMBER_PAGES, signed_in, signin_token
from tests.support.rewards import reward_item


def stored_nowhere(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


@pytest.mark.parametrize("url", MEMBER_PAGES)
def test_a_members_page_is_stored_nowhere(ada: Member, url):
    program_load({"rewards": [reward_item("COFFEE", name="Free coffee", points_cost=300)]})

    response = signed_in(ada).get(url)

    assert response.status_code == 200
    assert stored_nowhere(response)


def test_the_page_of_a_sign_in_link_is_stored_nowhere(ada: Member, visitor):
    visitor.post("/portal/login", {"email": "ada@example.com"})
    token = signin_token("ada@example.com")

    response = visitor.get(f"/portal/login/{token}")

    assert response.status_code == 200
    assert stored_nowhere(response)
