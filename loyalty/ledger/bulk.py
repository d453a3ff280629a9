"""Set-based writes the jobs share: a chunk's entries in one INSERT, its accounts in one UPDATE."""

from django.db.models import QuerySet

from loyalty.jobs.runner import CHUNK_SIZE
from loyalty.ledger.models import Account, LedgerEntry


def account_ids_after(queryset: QuerySet, after: int, field_name: str = "account_id", limit: int = CHUNK_SIZE):
    """The next distinct account ids of `queryset` (rows with an `account_id`) above `after`."""
    return (
        queryset.filter(**{f"{field_name}__gt": after})
        .order_by(field_name)
        .values_list(field_name, flat=True)
        .distinct()[:limit]
    )


def entries_insert(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Insert entries in one statement and make sure each has its id (older SQLite returns none)."""
    LedgerEntry.objects.bulk_create(entries)
    if entries and entries[0].pk is None:
        ids = dict(
            LedgerEntry.objects.filter(public_id__in=[e.public_id for e in entries]).values_list("public_id", "id")
        )
        for entry in entries:
            entry.pk = ids[entry.public_id]
    return entries


def accounts_update(accounts: list[Account], fields: list[str]) -> None:
    """Write the changed accounts back in one statement."""
    if accounts:
        Account.objects.bulk_update(accounts, fields)
