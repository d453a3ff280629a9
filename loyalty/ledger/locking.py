"""The account row lock every ledger write takes first.

A write locks the member's account row (`select_for_update`) before it reads a balance, so concurrent writes
for one member serialize and different members run in parallel; several accounts are locked in member id
order, the one lock order every writer follows.
"""

from loyalty.errors import MemberNotFound
from loyalty.ledger.models import Account
from members.models import Member


def account_lock(*, member_id: int) -> Account:
    """Lock the member's account row for this transaction (creating it on first use).

    Raises MemberNotFound for an unknown member."""
    account = Account.objects.select_for_update().filter(member_id=member_id).first()
    if account is None:
        if not isinstance(member_id, int) or not Member.objects.filter(pk=member_id).exists():
            raise MemberNotFound(param="member")
        # Two first writes may race to create the row: the loser's insert is a no-op, both then lock it.
        Account.objects.bulk_create([Account(member_id=member_id)], ignore_conflicts=True)
        account = Account.objects.select_for_update().get(member_id=member_id)
    return account


def account_lock_for(*, public_id: str | None = None, card_number: str | None = None) -> Account:
    """Lock the account of the member with this public id or card number, member loaded, in one query.

    Raises MemberNotFound (param `member` or `card_number`)."""
    where, param = ({"public_id": public_id}, "member") if public_id else ({"card_number": card_number}, "card_number")
    matching = (
        Account.objects.select_for_update(of=("self",))
        .select_related("member")
        .filter(**{f"member__{field}": value for field, value in where.items()})
    )
    account = next(iter(matching[:1]), None)  # not .first(): its ORDER BY costs compile time on every purchase
    if account is None:  # unknown member, or one without an account yet
        member = Member.objects.filter(**where).first()
        if member is None:
            raise MemberNotFound(param=param)
        account = account_lock(member_id=member.pk)
        account.member = member
    return account


def accounts_lock(*, member_ids: list[int]) -> dict[int, Account]:
    """Lock several accounts in member id order (the one lock order every writer follows)."""
    return {member_id: account_lock(member_id=member_id) for member_id in sorted(set(member_ids))}


def member_id_of(member: Member) -> int:
    if not isinstance(member, Member) or member.pk is None:
        raise MemberNotFound(param="member")
    return member.pk
