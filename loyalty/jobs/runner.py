"""How every periodic job runs (README.md, Periodic jobs).

A job walks the rows that have work (accounts, for the jobs that move points), in id order, a chunk at a
time. Each chunk is one transaction: it locks its rows with `FOR UPDATE SKIP LOCKED` (so several workers
share one run, each taking the chunks the others have not locked, and an account a checkout holds this
instant is left to the next run), then does the chunk's work in a fixed number of set-based statements,
whatever the chunk holds. A worker killed mid-chunk rolls that chunk back; the rerun finds the work still
due and does it once.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet

CHUNK_SIZE = 1000


@dataclass
class JobRun:
    """What one run did; `summary()` is the line `run_job` prints. `accounts` counts the rows its chunks
    claimed, which are accounts unless `unit` names other rows."""

    name: str
    chunks: int = 0
    accounts: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    unit: str = "accounts"

    def add(self, **counts: int) -> None:
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value

    def summary(self) -> str:
        details = ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in self.counts.items())
        scope = f" ({self.accounts} {self.unit} in {self.chunks} chunks)" if self.accounts and self.counts else ""
        return f"{self.name}: {details or 'nothing due'}{scope}"


def ids_sql(ids: Iterable[int]) -> str:
    """`ids` as SQL integer literals for `IN (...)`, for the set-based statements jobs run over a claimed chunk:
    bound one by one, a thousand ids cost the driver more time than the statement costs the database.
    `int()` lets nothing but integers through."""
    return ", ".join(str(int(pk)) for pk in ids)


def run_chunks(
    run: JobRun,
    *,
    rows: QuerySet,
    candidates: Callable[[int], Iterable[int]],
    work: Callable[[list], None],
    chunk_size: int = CHUNK_SIZE,
) -> JobRun:
    """Repeat until no row is left: take up to `chunk_size` ids above the last one from `candidates(after_id)`,
    lock those of `rows` still free, and hand them to `work` in one transaction."""
    after = 0
    while True:
        with transaction.atomic():
            ids = list(candidates(after))[:chunk_size]
            if not ids:
                return run
            after = max(ids)
            claimed = list(rows.select_for_update(skip_locked=True).filter(pk__in=ids).order_by("pk"))
            if claimed:
                work(claimed)
                run.chunks += 1
                run.accounts += len(claimed)
