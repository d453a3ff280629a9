"""`expire_vouchers`: issued vouchers past `expires_at` become `expired` (their points are not returned)."""

import datetime as dt

from django.db import transaction

from loyalty.jobs.runner import JobRun
from rewards.models import Voucher


def expire_vouchers(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Chunks claimed with FOR UPDATE SKIP LOCKED, one UPDATE each. Rerunning changes nothing."""
    run = JobRun("expire_vouchers")
    after = 0
    while True:
        with transaction.atomic():
            ids = list(
                Voucher.objects.select_for_update(skip_locked=True)
                .filter(pk__gt=after, status=Voucher.Status.ISSUED, expires_at__lte=now)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk_size]
            )
            if not ids:
                return run
            after = ids[-1]
            run.add(vouchers_expired=Voucher.objects.filter(pk__in=ids, status=Voucher.Status.ISSUED).update(
                status=Voucher.Status.EXPIRED
            ))  # fmt: skip
            run.chunks += 1
