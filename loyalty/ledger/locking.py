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


def account_lock_for(
    *, public_id: str | None = None, card_number: str | None = None, member_id: int | None = None
) -> Account:
    """Lock the account of the member with this public id, card number or id, member loaded, in one query.

    Raises MemberNotFound (param `member` or `card_number`)."""
    if member_id is not None:
        where, param = {"pk": member_id}, "member"
    elif public_id:
        where, param = {"public_id": public_id}, "member"
    else:
        where, param = {"card_number": card_number}, "card_number"
    # The member row is locked too: a status change committed while this waited for the account (an erasure
    # holds it) is then what this reads, not the row as it was when the statement began.
    matching = (
        Account.objects.select_for_update(of=("self", "member"))
        .select_related("member")
        .filter(**{f"member__{field}": value for field, value in where.items()})
    )
    account = next(iter(matching[:1]), None)  # not .first(): its ORDER BY costs compile time on every purchase
    if account is None:  # unknown member, or one without an account yet
        member = Member.objects.filter(**where).first()
        if member is None:
            raise MemberNotFound(param=param)
        account = account_lock(member_id=member.pk)
        account.member = member_locked(member_id=member.pk)
    return account


def member_locked(*, member_id: int) -> Member:
    """The member's row as committed now, locked for this transaction. Read it after `account_lock` (the lock
    order) to decide on the member's status: a Member loaded before the account lock may be out of date (an
    erasure or a suspension committed while this waited)."""
    return Member.objects.select_for_update().get(pk=member_id)


def accounts_lock(*, member_ids: list[int]) -> dict[int, Account]:
    """Lock several accounts in member id order (the one lock order every writer follows)."""
    return {member_id: account_lock(member_id=member_id) for member_id in sorted(set(member_ids))}


def member_id_of(member: Member) -> int:
    if not isinstance(member, Member) or member.pk is None:
        raise MemberNotFound(param="member")
    return member.pk
