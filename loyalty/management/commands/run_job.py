import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loyalty.jobs.registry import JOBS


class Command(BaseCommand):
    help = "Run one periodic job now and print a one-line summary."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help=", ".join(sorted(JOBS)))
        parser.add_argument("--now", help="run as of this ISO 8601 time (default: now)")
        parser.add_argument("--chunk-size", type=int, default=1000)

    def handle(self, *args, name: str, now: str | None, chunk_size: int, **options) -> None:
        job = JOBS.get(name)
        if job is None:
            raise CommandError(f"unknown job {name!r}; jobs: {', '.join(sorted(JOBS))}")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        at = timezone.now()
        if now:
            try:
                at = dt.datetime.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(f"--now: {exc}") from exc
            if timezone.is_naive(at):
                raise CommandError("--now needs an offset, e.g. 2026-01-31T00:00:00+00:00")
        kwargs = {"now": at} if name == "purge_idempotency_keys" else {"now": at, "chunk_size": chunk_size}
        self.stdout.write(job(**kwargs).summary())
