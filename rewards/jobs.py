"""`expire_vouchers`: issued vouchers past `expires_at` become `expired` (their points are not returned)."""

import datetime as dt

from loyalty.jobs.runner import JobRun, run_chunks
from rewards.models import Voucher


def expire_vouchers(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Chunks of due vouchers claimed by `run_chunks` (FOR UPDATE SKIP LOCKED), one UPDATE each. Rerunning
    changes nothing."""
    run = JobRun("expire_vouchers", unit="vouchers")
    due = Voucher.objects.filter(status=Voucher.Status.ISSUED, expires_at__lte=now)

    def candidates(after: int):
        return due.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:chunk_size]

    def work(voucher_ids: list[int]) -> None:
        run.add(vouchers_expired=Voucher.objects.filter(pk__in=voucher_ids).update(status=Voucher.Status.EXPIRED))

    return run_chunks(run, rows=due.values_list("pk", flat=True), candidates=candidates, work=work,
                      chunk_size=chunk_size)  # fmt: skip
