"""/portal/referral: the member's code, the share link, how many friends joined with it and the points the
member earned for them (bonus entries referenced `referral:<friend's public id>`)."""

import pytest
from django.utils import timezone

from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_credit
from loyalty.membership.services import member_enroll_with_account
from members.models import Member
from tests.factories import MemberFactory


def text(response) -> str:
    return response.content.decode()


def friend_joins(referrer: Member, n: int) -> Member:
    return member_enroll_with_account(email=f"friend{n}-{referrer.pk}@example.com", first_name="Friend",
                                      referral_code=referrer.referral_code)  # fmt: skip


def referral_bonus(member: Member, friend: Member, points: int) -> None:
    """What the referral bonus (next issue) credits: a `bonus` entry referencing the friend."""
    points_credit(member=member, points=points, now=timezone.now(), kind=LedgerEntry.Kind.BONUS,
                  reference=f"referral:{friend.public_id}")  # fmt: skip


def test_the_code_and_the_share_link(portal, member, settings):
    settings.PUBLIC_BASE_URL = "https://loyalty.example.com"

    page = text(portal.get("/portal/referral"))

    assert f'data-testid="referral-code">{member.referral_code}<' in page
    link = f"https://loyalty.example.com/portal/join?ref={member.referral_code}"
    assert f'href="{link}" data-testid="referral-link">{link}<' in page


def test_the_share_link_leads_a_friend_to_join_with_the_code(portal, member, visitor):
    page = text(visitor.get(f"/portal/join?ref={member.referral_code}"))
    assert 'data-testid="join-referral"' in page

    visitor.post("/portal/join", {"email": "friend@example.com", "first_name": "Bo", "locale": "en",
                                  "ref": member.referral_code})  # fmt: skip

    assert Member.objects.get(email="friend@example.com").referred_by_id == member.pk
    assert 'data-testid="friends-joined">1<' in text(portal.get("/portal/referral"))


def test_friends_joined_and_points_earned_from_them(portal, member):
    friends = [friend_joins(member, n) for n in range(3)]
    for friend in friends[:2]:
        referral_bonus(member, friend, 300)
    # Other points are not from friends: a purchase bonus, another member's referral bonus.
    points_credit(member=member, points=50, now=timezone.now(), kind=LedgerEntry.Kind.BONUS, reference="signup")
    stranger = MemberFactory()
    referral_bonus(stranger, friend_joins(stranger, 9), 300)

    page = text(portal.get("/portal/referral"))

    assert 'data-testid="friends-joined">3<' in page and "friends joined" in page
    assert 'data-testid="referral-points">600<' in page


def test_numbers_are_localised(portal, member):
    Member.objects.filter(pk=member.pk).update(locale="de")
    referral_bonus(member, friend_joins(member, 1), 1500)

    page = text(portal.get("/portal/referral"))

    assert 'data-testid="referral-points">1.500<' in page and '<html lang="de">' in page


def test_nobody_yet(portal):
    page = text(portal.get("/portal/referral"))

    assert 'data-testid="friends-joined">0<' in page and 'data-testid="referral-points">0<' in page


@pytest.mark.parametrize("friends", [1, 20])
def test_the_page_costs_the_same_however_many_friends(portal, member, friends, django_assert_max_num_queries):
    for n in range(friends):
        referral_bonus(member, friend_joins(member, n), 100)

    with django_assert_max_num_queries(7):
        page = text(portal.get("/portal/referral"))

    assert f'data-testid="referral-points">{friends * 100:,}<' in page
