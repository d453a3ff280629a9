"""Writes to a member's place in the program."""

from loyalty.db import service_atomic
from loyalty.tiers.services import account_open
from members.models import Member
from members.services import member_enroll


@service_atomic
def member_enroll_with_account(**fields) -> Member:
    """Enroll a member (`members.services.member_enroll`: same arguments, same errors, nothing written when
    it raises) and open their account in the base tier in the same transaction."""
    member = member_enroll(**fields)
    account_open(member=member, now=member.enrolled_at)
    return member
