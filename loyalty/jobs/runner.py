"""How every periodic job runs (README.md, Periodic jobs).

A job walks the accounts that have work, in id order, a chunk at a time. Each chunk is one transaction:
it locks its accounts with `FOR UPDATE SKIP LOCKED` (so several workers share one run, each taking the
chunks the others have not locked, and an account a checkout holds this instant is left to the next run),
then does the chunk's work in a fixed number of set-based statements, whatever the chunk holds. A worker
killed mid-chunk rolls that chunk back; the rerun finds the work still due and does it once.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet

from loyalty.ledger.models import Account, LedgerEntry

CHUNK_SIZE = 1000


@dataclass
class JobRun:
    """What one run did; `summary()` is the line `run_job` prints."""

    name: str
    chunks: int = 0
    accounts: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, **counts: int) -> None:
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value

    def summary(self) -> str:
        details = ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in self.counts.items())
        scope = f" ({self.accounts} accounts in {self.chunks} chunks)" if self.accounts and self.counts else ""
        return f"{self.name}: {details or 'nothing due'}{scope}"


def run_chunks(
    run: JobRun,
    *,
    candidates: Callable[[int], Iterable[int]],
    work: Callable[[list[Account]], None],
    chunk_size: int = CHUNK_SIZE,
) -> JobRun:
    """Repeat until no account is left: take up to `chunk_size` account ids above the last one from
    `candidates(after_id)`, lock those still free, and hand them to `work` in one transaction."""
    after = 0
    while True:
        with transaction.atomic():
            ids = list(candidates(after))[:chunk_size]
            if not ids:
                return run
            after = max(ids)
            accounts = list(Account.objects.select_for_update(skip_locked=True).filter(pk__in=ids).order_by("pk"))
            if accounts:
                work(accounts)
                run.chunks += 1
                run.accounts += len(accounts)


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
